// ICMPv6 errors about a NAT connection (destination unreachable, packet too big, time exceeded,
// parameter problem: types below 128) quote one of our packets; the director translates the
// quote and the outer address so that the other side can match the error to its socket, as
// the kernel's ip_vs_nat_icmp_v6 does. The ICMPv6 checksum (which covers a pseudo-header) is
// recomputed over the whole message.

import { checksum, pseudo6, read16, read128, write16, write128 } from '../wire/csum.js';
import { type Frame, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPV6_HLEN } from '../wire/frame.js';

/** The quoted IPv6 header and ports inside an ICMPv6 error. */
export class IcmpQuote6 {
  ip = 0;
  proto = 0;
  readonly saddr = new Uint32Array(4);
  readonly daddr = new Uint32Array(4);
  l4 = 0;
  sport = 0;
  dport = 0;

  /** Reads the quote of an ICMPv6 error; false when it is not a TCP/UDP quote we can use. */
  read(f: Frame): boolean {
    if (f.icmpType >= 128) return false;
    const b = f.buf;
    const ip = f.l4 + 8;
    const end = f.l4 + f.l4Len;
    // The quote's own extension headers are not walked: IPVS handles TCP/UDP right after it.
    if (end - ip < IPV6_HLEN + 4 || b[ip]! >>> 4 !== 6) return false;
    this.proto = b[ip + 6]!;
    if (this.proto !== IPPROTO_TCP && this.proto !== IPPROTO_UDP) return false;
    this.ip = ip;
    read128(b, ip + 8, this.saddr);
    read128(b, ip + 24, this.daddr);
    this.l4 = ip + IPV6_HLEN;
    this.sport = read16(b, this.l4);
    this.dport = read16(b, this.l4 + 2);
    return true;
  }
}

function finish(f: Frame): void {
  const b = f.buf;
  write16(b, f.l4 + 2, 0);
  write16(b, f.l4 + 2, checksum(b, f.l4, f.l4Len, pseudo6(f.saddr6, f.daddr6, IPPROTO_ICMPV6, f.l4Len)));
}

/** Client side error about a reply we sent as VIP:vport: address it to RIP:rport's view. */
export function natIcmp6In(f: Frame, q: IcmpQuote6, rip: ArrayLike<number>, rport: number): void {
  const b = f.buf;
  write128(b, f.l3 + 24, rip);
  f.daddr6.set(rip);
  write128(b, q.ip + 8, rip);
  write16(b, q.l4, rport);
  finish(f);
}

/** Real-server side error about a request sent to RIP:rport: make it about VIP:vport. */
export function natIcmp6Out(f: Frame, q: IcmpQuote6, vip: ArrayLike<number>, vport: number): void {
  const b = f.buf;
  write128(b, f.l3 + 8, vip);
  f.saddr6.set(vip);
  write128(b, q.ip + 24, vip);
  write16(b, q.l4 + 2, vport);
  finish(f);
}

/** FULLNAT, client side: as natIcmp6In, and from the conn's local address, about a packet to it. */
export function fullnatIcmp6In(
  f: Frame,
  q: IcmpQuote6,
  rip: ArrayLike<number>,
  rport: number,
  laddr: ArrayLike<number>,
  lport: number,
): void {
  const b = f.buf;
  write128(b, f.l3 + 8, laddr);
  f.saddr6.set(laddr);
  write128(b, q.ip + 24, laddr);
  write16(b, q.l4 + 2, lport);
  natIcmp6In(f, q, rip, rport);
}

/** FULLNAT, real-server side: as natIcmp6Out, and to the client about its own packet. */
export function fullnatIcmp6Out(
  f: Frame,
  q: IcmpQuote6,
  vip: ArrayLike<number>,
  vport: number,
  caddr: ArrayLike<number>,
  cport: number,
): void {
  const b = f.buf;
  write128(b, f.l3 + 24, caddr);
  f.daddr6.set(caddr);
  write128(b, q.ip + 8, caddr);
  write16(b, q.l4, cport);
  natIcmp6Out(f, q, vip, vport);
}
