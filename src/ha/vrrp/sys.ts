// The few system calls VRRP needs (raw IP sockets for protocol 112, a packet socket for GARP/NA),
// as a narrow view of the project's one libc binding (src/sys/libc.ts) and its constants
// (src/sys/constants.ts), with the msghdr layout recvmsg needs. Failures name the call and errno.

import { check as libcCheck, libc, type Mapping } from '../../sys/libc.js';
import { AF_INET, AF_INET6, AF_PACKET, MSG_DONTWAIT } from '../../sys/constants.js';

export {
  AF_INET,
  AF_INET6,
  AF_PACKET,
  EAGAIN,
  EINTR,
  IP_ADD_MEMBERSHIP,
  IP_MULTICAST_LOOP,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_RAW,
  IPV6_ADD_MEMBERSHIP,
  IPV6_HOPLIMIT,
  IPV6_MULTICAST_LOOP,
  IPV6_PKTINFO,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  MSG_DONTWAIT,
  SO_BINDTODEVICE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_SOCKET,
} from '../../sys/constants.js';

export interface VrrpSys {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array): number;
  sendto(fd: number, buf: Uint8Array, addr: Uint8Array): number;
  /** recv(2) without waiting; -1 with errno EAGAIN when nothing is queued. */
  recv(fd: number, buf: Uint8Array): number;
  /** recvmsg(2) without waiting, through memory `m` made by `msgBuffers`. */
  recvmsg(fd: number, m: MsgBuffers): number;
  close(fd: number): number;
  ifNameToIndex(name: string): number;
  errno(): number;
  strerror(errno: number): string;
  msgBuffers(dataLen: number): MsgBuffers;
}

/** A msghdr with its name, iovec, data and control areas, in memory from the binding's alloc(). */
export interface MsgBuffers {
  readonly msg: Mapping;
  /** Views of the areas: the sender's sockaddr, the data, the control messages. */
  readonly name: Uint8Array;
  readonly data: Uint8Array;
  readonly control: Uint8Array;
  /** Resets name/control lengths before each call; returns the msghdr's view for reading back. */
  reset(): void;
  controlLen(): number;
}

const NAME_LEN = 28; // sockaddr_in6
const CONTROL_LEN = 128; // room for IPV6_PKTINFO and IPV6_HOPLIMIT
const MSGHDR_LEN = 56; // x86-64 / arm64: name, namelen(+pad), iov, iovlen, control, controllen, flags(+pad)
const IOVEC_LEN = 16;

let cached: VrrpSys | null = null;

export function sys(): VrrpSys {
  if (cached) return cached;
  const c = libc();
  cached = {
    socket: (a, b, p) => c.socket(a, b, p),
    setsockopt: (fd, l, n, v) => c.setsockopt(fd, l, n, v, v.length),
    sendto: (fd, b, a) => c.sendto(fd, b, b.length, 0, a, a.length),
    recv: (fd, b) => c.recv(fd, b, b.length, MSG_DONTWAIT),
    recvmsg: (fd, m) => c.recvmsg(fd, m.msg, MSG_DONTWAIT),
    close: (fd) => c.close(fd),
    ifNameToIndex: (n) => c.ifNameToIndex(n),
    errno: () => c.errno(),
    strerror: (e) => c.strerror(e),
    msgBuffers: (dataLen) => {
      const total = MSGHDR_LEN + IOVEC_LEN + NAME_LEN + 4 + CONTROL_LEN + dataLen;
      const mapping = c.alloc(total);
      const base = BigInt(mapping.addr);
      const mem = new Uint8Array(c.view(mapping));
      const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
      const iovAt = MSGHDR_LEN;
      const nameAt = iovAt + IOVEC_LEN;
      const controlAt = nameAt + NAME_LEN + 4;
      const dataAt = controlAt + CONTROL_LEN;
      dv.setBigUint64(0, base + BigInt(nameAt), true);
      dv.setBigUint64(16, base + BigInt(iovAt), true);
      dv.setBigUint64(24, 1n, true);
      dv.setBigUint64(32, base + BigInt(controlAt), true);
      dv.setBigUint64(iovAt, base + BigInt(dataAt), true);
      dv.setBigUint64(iovAt + 8, BigInt(dataLen), true);
      return {
        msg: mapping,
        name: mem.subarray(nameAt, nameAt + NAME_LEN),
        control: mem.subarray(controlAt, controlAt + CONTROL_LEN),
        data: mem.subarray(dataAt, dataAt + dataLen),
        reset() {
          dv.setUint32(8, NAME_LEN, true);
          dv.setBigUint64(40, BigInt(CONTROL_LEN), true);
          dv.setInt32(48, 0, true);
        },
        controlLen: () => Number(dv.getBigUint64(40, true)),
      };
    },
  };
  return cached;
}

/** Throws naming the call and errno when `rc` is negative (the binding's check()). */
export function check(call: string, rc: number, hint = ''): number {
  return libcCheck(call, rc, hint);
}

export function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** struct sockaddr_in for `addr` (4 bytes, network order), port 0. */
export function sockaddrIn(addr: Uint8Array): Uint8Array {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setUint16(0, AF_INET, true);
  b.set(addr, 4);
  return b;
}

/** struct sockaddr_in6 for `addr` (16 bytes), port 0, with a scope (interface index). */
export function sockaddrIn6(addr: Uint8Array, scopeId: number): Uint8Array {
  const b = new Uint8Array(28);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_INET6, true);
  b.set(addr, 8);
  dv.setUint32(24, scopeId, true);
  return b;
}

/** struct sockaddr_ll to send a frame of `protocol` (host order) out of `ifindex`. */
export function sockaddrLl(ifindex: number, protocol: number): Uint8Array {
  const b = new Uint8Array(20);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_PACKET, true);
  dv.setUint16(2, protocol, false);
  dv.setInt32(4, ifindex, true);
  return b;
}
