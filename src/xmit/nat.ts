// NAT (-m, masquerading): the request's destination VIP:vport becomes RIP:rport on the way in,
// the reply's source RIP:rport becomes VIP:vport on the way out. Checksums are updated
// incrementally (RFC 1624), in place, honouring partial checksums (see wire/csum.ts).

import { csumReplace16, csumReplace32, read16, read32, write16, write32 } from '../wire/csum.js';
import { type Frame, IPPROTO_UDP } from '../wire/frame.js';

/** Replaces the IPv4 address at `at` (source or destination) and its checksum coverage. */
function setAddr(f: Frame, at: number, from: number, to: number): void {
  if (from === to) return;
  csumReplace32(f.buf, f.l3 + 10, from, to, false);
  if (f.csumAt >= 0) csumReplace32(f.buf, f.csumAt, from, to, f.partial);
  write32(f.buf, at, to);
}

/** Replaces the port at `at`; a partial checksum sums ports later, so it is left alone. */
function setPort(f: Frame, at: number, from: number, to: number): void {
  if (from === to) return;
  if (f.csumAt >= 0 && !f.partial) csumReplace16(f.buf, f.csumAt, from, to);
  write16(f.buf, at, to);
}

function fixUdpZero(f: Frame): void {
  // A computed UDP checksum of zero is sent as all ones (zero means "no checksum").
  if (f.csumAt >= 0 && f.proto === IPPROTO_UDP && !f.partial && read16(f.buf, f.csumAt) === 0) {
    write16(f.buf, f.csumAt, 0xffff);
  }
}

/** Rewrites the destination address and port (requests to a masq dest). */
export function dnat(f: Frame, daddr: number, dport: number): void {
  setAddr(f, f.l3 + 16, f.daddr, daddr);
  setPort(f, f.l4 + 2, f.dport, dport);
  f.daddr = daddr;
  f.dport = dport;
  fixUdpZero(f);
}

/** Rewrites the source address and port (replies from a masq dest). */
export function snat(f: Frame, saddr: number, sport: number): void {
  setAddr(f, f.l3 + 12, f.saddr, saddr);
  setPort(f, f.l4, f.sport, sport);
  f.saddr = saddr;
  f.sport = sport;
  fixUdpZero(f);
}

/** IPv6: replaces the 16-byte address at `at` word by word (no IP header checksum to mend). */
function setAddr6(f: Frame, at: number, to: ArrayLike<number>, mirror: Uint32Array): void {
  const b = f.buf;
  for (let k = 0; k < 4; k++) {
    const from = read32(b, at + 4 * k);
    const v = to[k]! >>> 0;
    if (from === v) continue;
    if (f.csumAt >= 0) csumReplace32(b, f.csumAt, from, v, f.partial);
    write32(b, at + 4 * k, v);
    mirror[k] = v;
  }
}

/** IPv6 DNAT: destination address and port (requests to a masq or FULLNAT dest). */
export function dnat6(f: Frame, daddr: ArrayLike<number>, dport: number): void {
  setAddr6(f, f.l3 + 24, daddr, f.daddr6);
  setPort(f, f.l4 + 2, f.dport, dport);
  f.dport = dport;
  fixUdpZero(f);
}

/** IPv6 SNAT: source address and port (replies from a masq dest; FULLNAT requests). */
export function snat6(f: Frame, saddr: ArrayLike<number>, sport: number): void {
  setAddr6(f, f.l3 + 8, saddr, f.saddr6);
  setPort(f, f.l4, f.sport, sport);
  f.sport = sport;
  fixUdpZero(f);
}
