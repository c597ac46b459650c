// ICMP errors about a NAT connection (port unreachable, fragmentation needed, time exceeded...)
// quote the header of one of our packets; the director translates the quote as well as the
// outer header so that the other side can match it to its socket (the kernel's
// ip_vs_nat_icmp). The ICMP checksum is recomputed over the whole message, as the kernel does.

import { checksum, csumReplace32, pseudo6, read16, read32, write16, write32, write128 } from '../wire/csum.js';
import { type Frame, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPV6_HLEN } from '../wire/frame.js';

const ICMP_DEST_UNREACH = 3;
const ICMP_SOURCE_QUENCH = 4;
const ICMP_TIME_EXCEEDED = 11;
const ICMP_PARAMETERPROB = 12;

export function isIcmpError(type: number): boolean {
  return type === ICMP_DEST_UNREACH || type === ICMP_SOURCE_QUENCH || type === ICMP_TIME_EXCEEDED || type === ICMP_PARAMETERPROB;
}

/** The quoted IPv4 header and ports inside an ICMP error. */
export class IcmpQuote {
  ip = 0;
  proto = 0;
  saddr = 0;
  daddr = 0;
  l4 = 0;
  sport = 0;
  dport = 0;

  /** Reads the quote of an ICMP error frame; false when it is not a TCP/UDP quote we can use. */
  read(f: Frame): boolean {
    if (!isIcmpError(f.icmpType)) return false;
    const b = f.buf;
    const ip = f.l4 + 8;
    const end = f.l4 + f.l4Len;
    if (end - ip < 20 || b[ip]! >>> 4 !== 4) return false;
    const ihl = (b[ip]! & 0x0f) * 4;
    if (ihl < 20 || ip + ihl + 4 > end) return false;
    if ((read16(b, ip + 6) & 0x1fff) !== 0) return false; // a quote of a non-first fragment
    this.proto = b[ip + 9]!;
    if (this.proto !== IPPROTO_TCP && this.proto !== IPPROTO_UDP) return false;
    this.ip = ip;
    this.saddr = read32(b, ip + 12);
    this.daddr = read32(b, ip + 16);
    this.l4 = ip + ihl;
    this.sport = read16(b, this.l4);
    this.dport = read16(b, this.l4 + 2);
    return true;
  }
}

function finishIcmp(f: Frame): void {
  write16(f.buf, f.l4 + 2, 0);
  write16(f.buf, f.l4 + 2, checksum(f.buf, f.l4, f.l4Len));
}

/** Client side error about a reply we sent as VIP:vport: address it to RIP:rport's view. */
export function natIcmpIn(f: Frame, q: IcmpQuote, rip: number, rport: number): void {
  const b = f.buf;
  csumReplace32(b, f.l3 + 10, f.daddr, rip, false);
  write32(b, f.l3 + 16, rip);
  f.daddr = rip;
  csumReplace32(b, q.ip + 10, q.saddr, rip, false);
  write32(b, q.ip + 12, rip);
  write16(b, q.l4, rport);
  finishIcmp(f);
}

/** Real-server side error about a request sent to RIP:rport: make it about VIP:vport. */
export function natIcmpOut(f: Frame, q: IcmpQuote, vip: number, vport: number): void {
  const b = f.buf;
  csumReplace32(b, f.l3 + 10, f.saddr, vip, false);
  write32(b, f.l3 + 12, vip);
  f.saddr = vip;
  csumReplace32(b, q.ip + 10, q.daddr, vip, false);
  write32(b, q.ip + 16, vip);
  write16(b, q.l4 + 2, vport);
  finishIcmp(f);
}

/**
 * FULLNAT, client side: as natIcmpIn, and the error also comes from the conn's local
 * address, about a packet sent to it (the real server only knows that address).
 */
export function fullnatIcmpIn(f: Frame, q: IcmpQuote, rip: number, rport: number, laddr: number, lport: number): void {
  const b = f.buf;
  csumReplace32(b, f.l3 + 10, f.saddr, laddr, false);
  write32(b, f.l3 + 12, laddr);
  f.saddr = laddr;
  csumReplace32(b, q.ip + 10, q.daddr, laddr, false);
  write32(b, q.ip + 16, laddr);
  write16(b, q.l4 + 2, lport);
  natIcmpIn(f, q, rip, rport);
}

/** FULLNAT, real-server side: as natIcmpOut, and the error goes to the client about its own packet. */
export function fullnatIcmpOut(f: Frame, q: IcmpQuote, vip: number, vport: number, caddr: number, cport: number): void {
  const b = f.buf;
  csumReplace32(b, f.l3 + 10, f.daddr, caddr, false);
  write32(b, f.l3 + 16, caddr);
  f.daddr = caddr;
  csumReplace32(b, q.ip + 10, q.saddr, caddr, false);
  write32(b, q.ip + 12, caddr);
  write16(b, q.l4, cport);
  natIcmpOut(f, q, vip, vport);
}

const ICMP_FRAG_NEEDED = 4;
/** The kernel quotes at most this much of the offending packet (576 minus the error's headers). */
const ICMP_QUOTE_MAX = 576 - 20 - 8;
const ICMP_TTL = 64;

/**
 * Writes at `dst[at]` an IPv4 ICMP "fragmentation needed" (type 3 code 4, RFC 1191) from
 * `saddr` to the sender of `f`, quoting its header and the start of its payload, with the
 * next-hop MTU the sender must fit; returns the packet's length.
 */
export function writeFragNeeded(f: Frame, saddr: number, mtu: number, dst: Uint8Array, at: number, id: number): number {
  const quote = Math.min(f.totLen, ICMP_QUOTE_MAX);
  const icmpLen = 8 + quote;
  const len = 20 + icmpLen;
  dst[at] = 0x45;
  dst[at + 1] = 0xc0; // precedence "internetwork control", as icmp_send marks errors
  write16(dst, at + 2, len);
  write16(dst, at + 4, id & 0xffff);
  write16(dst, at + 6, 0);
  dst[at + 8] = ICMP_TTL;
  dst[at + 9] = 1;
  write16(dst, at + 10, 0);
  write32(dst, at + 12, saddr);
  write32(dst, at + 16, f.saddr);
  write16(dst, at + 10, checksum(dst, at, 20));
  const m = at + 20;
  dst[m] = ICMP_DEST_UNREACH;
  dst[m + 1] = ICMP_FRAG_NEEDED;
  write16(dst, m + 2, 0);
  write16(dst, m + 4, 0);
  write16(dst, m + 6, mtu);
  dst.set(f.buf.subarray(f.l3, f.l3 + quote), m + 8);
  write16(dst, m + 2, checksum(dst, m, icmpLen));
  return len;
}

const ICMPV6_PKT_TOOBIG = 2;
/** An ICMPv6 error must fit the IPv6 minimum MTU (RFC 4443 §2.4). */
const ICMPV6_ERROR_MAX = 1280;

/**
 * Writes at `dst[at]` an ICMPv6 "packet too big" (type 2, RFC 4443) from `saddr` to the sender
 * of the IPv6 packet `f`, quoting as much of it as fits in 1280 bytes, with the MTU the sender
 * must fit; returns the packet's length.
 */
export function writePacketTooBig6(f: Frame, saddr: ArrayLike<number>, mtu: number, dst: Uint8Array, at: number): number {
  const quote = Math.min(f.totLen, ICMPV6_ERROR_MAX - IPV6_HLEN - 8);
  const icmpLen = 8 + quote;
  dst[at] = 0x60;
  dst[at + 1] = 0;
  write16(dst, at + 2, 0);
  write16(dst, at + 4, icmpLen);
  dst[at + 6] = IPPROTO_ICMPV6;
  dst[at + 7] = ICMP_TTL;
  write128(dst, at + 8, saddr);
  write128(dst, at + 24, f.saddr6);
  const m = at + IPV6_HLEN;
  dst[m] = ICMPV6_PKT_TOOBIG;
  dst[m + 1] = 0;
  write16(dst, m + 2, 0);
  write32(dst, m + 4, mtu);
  dst.set(f.buf.subarray(f.l3, f.l3 + quote), m + 8);
  write16(dst, m + 2, checksum(dst, m, icmpLen, pseudo6(saddr, f.saddr6, IPPROTO_ICMPV6, icmpLen)));
  return IPV6_HLEN + icmpLen;
}
