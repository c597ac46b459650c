// VRRP on one interface for one family: a raw socket of protocol 112 that joined the VRRP group
// (it also gets unicast adverts), and a send-only IPPROTO_RAW socket on which we write the IP
// header ourselves, so that the source address and TTL/hop limit 255 are exactly keepalived's.
// IPv4 reads come with their IP header; IPv6 reads take source, destination and hop limit from
// recvmsg's name and control messages (IPV6_PKTINFO, IPV6_HOPLIMIT).

import { write16 } from '../../wire/csum.js';
import { VRRP_MCAST4, VRRP_MCAST6, VRRP_PROTO, VRRP_RECV_BUF, VRRP_TTL } from './constants.js';
import { Addr } from '../../core/inet.js';
import type { VrrpFamily } from './packet.js';
import { type RxPacket, rxIpv4 } from './rx.js';
import {
  AF_INET,
  AF_INET6,
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
  type MsgBuffers,
  SO_BINDTODEVICE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_SOCKET,
  check,
  int32,
  sockaddrIn,
  sockaddrIn6,
  sys,
} from './sys.js';

export type { RxPacket } from './rx.js';

/** IP header lengths written on send. */
const IPV4_HLEN = 20;
const IPV6_HLEN = 40;
/** keepalived sends adverts with IP precedence "internetwork control" (TOS/TC 0xc0). */
const TOS_INTERNETWORK_CONTROL = 0xc0;

export const MCAST4 = Addr.parse(VRRP_MCAST4)!.toBytes();
export const MCAST6 = Addr.parse(VRRP_MCAST6)!.toBytes();

export class VrrpLink {
  readonly ifindex: number;
  private rxFd = -1;
  private txFd = -1;
  private readonly buf = new Uint8Array(VRRP_RECV_BUF);
  private msg: MsgBuffers | null = null;
  /** recv/send failures other than "nothing queued", for the operator. */
  errors = 0;
  lastError = '';

  constructor(
    readonly iface: string,
    readonly family: VrrpFamily,
  ) {
    const s = sys();
    this.ifindex = s.ifNameToIndex(iface);
    if (this.ifindex === 0)
      throw new Error(`VRRP: interface ${iface} does not exist here (if_nametoindex failed); check 'interface' in vrrp_instance`);
    const dev = new TextEncoder().encode(`${iface}\0`);
    const v6 = family === 6;
    const dom = v6 ? AF_INET6 : AF_INET;
    const hint = 'VRRP needs root (CAP_NET_RAW)';
    this.rxFd = check('socket(raw, 112)', s.socket(dom, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_PROTO), hint);
    this.txFd = check('socket(raw, IPPROTO_RAW)', s.socket(dom, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW), hint);
    try {
      for (const fd of [this.rxFd, this.txFd])
        check(`setsockopt(SO_BINDTODEVICE ${iface})`, s.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev));
      if (v6) {
        const mreq = new Uint8Array(20);
        mreq.set(MCAST6, 0);
        new DataView(mreq.buffer).setInt32(16, this.ifindex, true);
        check('setsockopt(IPV6_ADD_MEMBERSHIP ff02::12)', s.setsockopt(this.rxFd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, mreq));
        check('setsockopt(IPV6_RECVPKTINFO)', s.setsockopt(this.rxFd, IPPROTO_IPV6, IPV6_RECVPKTINFO, int32(1)));
        check('setsockopt(IPV6_RECVHOPLIMIT)', s.setsockopt(this.rxFd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, int32(1)));
        check('setsockopt(IPV6_MULTICAST_LOOP)', s.setsockopt(this.txFd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, int32(0)));
        this.msg = s.msgBuffers(VRRP_RECV_BUF);
      } else {
        const mreqn = new Uint8Array(12); // ip_mreqn { multiaddr, address, ifindex }
        mreqn.set(MCAST4, 0);
        new DataView(mreqn.buffer).setInt32(8, this.ifindex, true);
        check('setsockopt(IP_ADD_MEMBERSHIP 224.0.0.18)', s.setsockopt(this.rxFd, IPPROTO_IP, IP_ADD_MEMBERSHIP, mreqn));
        check('setsockopt(IP_MULTICAST_LOOP)', s.setsockopt(this.txFd, IPPROTO_IP, IP_MULTICAST_LOOP, int32(0)));
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Sends one VRRP message from `src` to `dst` with TTL/hop limit 255. */
  send(src: Uint8Array, dst: Uint8Array, vrrp: Uint8Array): boolean {
    const s = sys();
    let pkt: Uint8Array;
    let to: Uint8Array;
    if (this.family === 4) {
      pkt = new Uint8Array(IPV4_HLEN + vrrp.length);
      pkt[0] = 0x45;
      pkt[1] = TOS_INTERNETWORK_CONTROL;
      write16(pkt, 2, pkt.length);
      pkt[8] = VRRP_TTL;
      pkt[9] = VRRP_PROTO;
      pkt.set(src, 12);
      pkt.set(dst, 16);
      pkt.set(vrrp, IPV4_HLEN); // id and header checksum are the kernel's (IP_HDRINCL)
      to = sockaddrIn(dst);
    } else {
      pkt = new Uint8Array(IPV6_HLEN + vrrp.length);
      pkt[0] = 0x60 | (TOS_INTERNETWORK_CONTROL >> 4);
      pkt[1] = (TOS_INTERNETWORK_CONTROL & 0x0f) << 4;
      write16(pkt, 4, vrrp.length);
      pkt[6] = VRRP_PROTO;
      pkt[7] = VRRP_TTL;
      pkt.set(src, 8);
      pkt.set(dst, 24);
      pkt.set(vrrp, IPV6_HLEN);
      to = sockaddrIn6(dst, this.ifindex);
    }
    const rc = s.sendto(this.txFd, pkt, to);
    if (rc < 0) {
      const e = s.errno();
      this.errors++;
      this.lastError = `sendto ${Addr.fromBytes(dst)} on ${this.iface}: ${s.strerror(e)} (errno ${e})`;
      return false;
    }
    return true;
  }

  /** Reads every queued packet, calling `cb` for each VRRP one and `drop` for the others; never waits. */
  drain(cb: (p: RxPacket) => void, drop: (why: 'bad_ip_header' | 'not_vrrp') => void): void {
    if (this.rxFd < 0) return;
    const s = sys();
    for (;;) {
      if (this.family === 4) {
        const n = s.recv(this.rxFd, this.buf);
        if (n < 0) return this.recvFailed();
        const p = rxIpv4(this.buf.subarray(0, n));
        if (typeof p === 'string') drop(p);
        else cb(p);
      } else {
        const m = this.msg!;
        m.reset();
        const n = s.recvmsg(this.rxFd, m);
        if (n < 0) return this.recvFailed();
        const src = m.name.slice(8, 24);
        let dst: Uint8Array | null = null;
        let hops = -1;
        const cl = m.controlLen();
        const dv = new DataView(m.control.buffer, m.control.byteOffset, m.control.byteLength);
        for (let at = 0; at + 16 <= cl;) {
          const len = Number(dv.getBigUint64(at, true));
          const level = dv.getInt32(at + 8, true);
          const type = dv.getInt32(at + 12, true);
          if (len < 16) break;
          if (level === IPPROTO_IPV6 && type === IPV6_PKTINFO) dst = m.control.slice(at + 16, at + 32);
          if (level === IPPROTO_IPV6 && type === IPV6_HOPLIMIT) hops = dv.getInt32(at + 16, true);
          at += (len + 7) & ~7;
        }
        if (!dst) {
          drop('bad_ip_header'); // no IPV6_PKTINFO: the destination is unknown
          continue;
        }
        cb({ src, dst, ttl: hops, msg: m.data.slice(0, n) });
      }
    }
  }

  private recvFailed(): void {
    const s = sys();
    const e = s.errno();
    if (e === EAGAIN || e === EINTR) return;
    this.errors++;
    this.lastError = `recv on ${this.iface}: ${s.strerror(e)} (errno ${e})`;
  }

  close(): void {
    const s = sys();
    if (this.rxFd >= 0) s.close(this.rxFd);
    if (this.txFd >= 0) s.close(this.txFd);
    this.rxFd = -1;
    this.txFd = -1;
  }
}
