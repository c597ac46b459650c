// What an interface's driver can do with XDP, from the kernel's "netdev" generic netlink family
// (Linux 6.3+): the fast path needs NETDEV_XDP_ACT_NDO_XMIT on the interface it redirects to,
// or the kernel drops what it sends there. A veth has it only while its peer runs an XDP program
// or has GRO on (the peer's NAPI must be running to take the frames), so the answer can change at
// any time and is asked again on the fast path's every tick.
//
// A request and its answer on a socket of our own: CTRL_CMD_GETFAMILY for the family's id once,
// then NETDEV_CMD_DEV_GET per interface. The kernel answers a GET before sendto() returns, so the
// reply is read at once, without waiting.

import { AF_NETLINK, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW, SOCKADDR_NL_LEN } from '../../../sys/constants.js';
import { check, libc } from '../../../sys/libc.js';

const NETLINK_GENERIC = 16;
const GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;
const NETDEV_CMD_DEV_GET = 1;
const NETDEV_A_DEV_IFINDEX = 1;
const NETDEV_A_DEV_XDP_FEATURES = 3;
const NLM_F_REQUEST = 1;
const NLMSG_ERROR = 2;
const NLMSG_HDRLEN = 16;
const GENL_HDRLEN = 4;
/** enum netdev_xdp_act: the driver implements ndo_xdp_xmit (bpf_redirect to it works). */
export const NETDEV_XDP_ACT_NDO_XMIT = 4;
/** A reply to a GET is one small message. */
const RECV_LEN = 4096;

export class XdpFeatures {
  private seq = 0;
  private readonly buf = new Uint8Array(RECV_LEN);
  private family = 0;
  /** Why the family is not there (a kernel before 6.3), once asked. */
  unavailable: string | null = null;

  private constructor(private readonly fd: number) {}

  static open(): XdpFeatures {
    const c = libc();
    const fd = check('socket(AF_NETLINK, NETLINK_GENERIC)', c.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_GENERIC));
    const sa = new Uint8Array(SOCKADDR_NL_LEN);
    new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
    try {
      check('bind(netlink generic)', c.bind(fd, sa, SOCKADDR_NL_LEN));
    } catch (e) {
      c.close(fd);
      throw e;
    }
    return new XdpFeatures(fd);
  }

  /**
   * The interface's xdp_features bits (enum netdev_xdp_act), or null when the kernel cannot say
   * (no netdev family: `unavailable` says why; or the interface is gone).
   */
  query(ifindex: number): number | null {
    if (this.family === 0 && !this.resolve()) return null;
    const req = this.message(this.family, NETDEV_CMD_DEV_GET, 1, (b, at) => attr32(b, at, NETDEV_A_DEV_IFINDEX, ifindex));
    const attrs = this.ask(req);
    if (!attrs) return null;
    const v = attrs.get(NETDEV_A_DEV_XDP_FEATURES);
    if (!v || v.length < 8) return 0;
    return new DataView(v.buffer, v.byteOffset).getUint32(0, true);
  }

  private resolve(): boolean {
    if (this.unavailable) return false;
    const name = 'netdev\0';
    const req = this.message(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 2, (b, at) => {
      const n = 4 + name.length;
      const dv = new DataView(b.buffer, b.byteOffset);
      dv.setUint16(at, n, true);
      dv.setUint16(at + 2, CTRL_ATTR_FAMILY_NAME, true);
      for (let i = 0; i < name.length; i++) b[at + 4 + i] = name.charCodeAt(i);
      return align4(n);
    });
    const attrs = this.ask(req);
    const id = attrs?.get(CTRL_ATTR_FAMILY_ID);
    if (!id) {
      this.unavailable =
        'the kernel has no "netdev" generic netlink family (Linux 6.3+), so it cannot say which interfaces take XDP redirects';
      return false;
    }
    this.family = id[0]! | (id[1]! << 8);
    return true;
  }

  private message(type: number, cmd: number, version: number, attrs: (b: Uint8Array, at: number) => number): Uint8Array {
    const b = new Uint8Array(64);
    const n = attrs(b, NLMSG_HDRLEN + GENL_HDRLEN);
    const len = NLMSG_HDRLEN + GENL_HDRLEN + n;
    const dv = new DataView(b.buffer);
    dv.setUint32(0, len, true);
    dv.setUint16(4, type, true);
    dv.setUint16(6, NLM_F_REQUEST, true);
    dv.setUint32(8, ++this.seq, true);
    b[NLMSG_HDRLEN] = cmd;
    b[NLMSG_HDRLEN + 1] = version;
    return b.subarray(0, len);
  }

  /** Sends `req`; the reply's attributes by type, or null on an error reply or none. */
  private ask(req: Uint8Array): Map<number, Uint8Array> | null {
    const c = libc();
    const to = new Uint8Array(SOCKADDR_NL_LEN);
    new DataView(to.buffer).setUint16(0, AF_NETLINK, true);
    if (c.sendto(this.fd, req, req.length, 0, to, SOCKADDR_NL_LEN) < 0) return null;
    const seq = this.seq;
    for (;;) {
      const n = c.recv(this.fd, this.buf, RECV_LEN, MSG_DONTWAIT);
      if (n < NLMSG_HDRLEN) return null;
      const dv = new DataView(this.buf.buffer, 0, n);
      if (dv.getUint32(8, true) !== seq) continue;
      if (dv.getUint16(4, true) === NLMSG_ERROR) return null;
      const end = Math.min(n, dv.getUint32(0, true));
      const out = new Map<number, Uint8Array>();
      for (let at = NLMSG_HDRLEN + GENL_HDRLEN; at + 4 <= end;) {
        const len = dv.getUint16(at, true);
        if (len < 4 || at + len > end) break;
        out.set(dv.getUint16(at + 2, true) & 0x3fff, this.buf.slice(at + 4, at + len));
        at += align4(len);
      }
      return out;
    }
  }

  close(): void {
    libc().close(this.fd);
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function attr32(b: Uint8Array, at: number, type: number, v: number): number {
  const dv = new DataView(b.buffer, b.byteOffset);
  dv.setUint16(at, 8, true);
  dv.setUint16(at + 2, type, true);
  dv.setUint32(at + 4, v, true);
  return 8;
}
