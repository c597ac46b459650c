// NAT (-m, masquerading): the request's destination VIP:vport becomes RIP:rport on the way in,
// the reply's source RIP:rport becomes VIP:vport on the way out. Checksums are updated
// incrementally (RFC 1624), in place, honouring partial checksums (see wire/csum.ts).

import { csumReplace16, csumReplace32, read16, write16, write32 } from '../wire/csum.js';
import { type Frame, IPPROTO_UDP } from '../wire/frame.js';

function fixUdpZero(f: Frame): void {
  // A computed UDP checksum of zero is sent as all ones (zero means "no checksum").
  if (f.proto === IPPROTO_UDP && !f.partial && read16(f.buf, f.csumAt) === 0) {
    write16(f.buf, f.csumAt, 0xffff);
  }
}

/** Rewrites the destination address and port (requests to a masq dest). */
export function dnat(f: Frame, daddr: number, dport: number): void {
  const b = f.buf;
  if (daddr !== f.daddr) {
    csumReplace32(b, f.l3 + 10, f.daddr, daddr, false);
    if (f.csumAt >= 0) csumReplace32(b, f.csumAt, f.daddr, daddr, f.partial);
    write32(b, f.l3 + 16, daddr);
    f.daddr = daddr;
  }
  if (dport !== f.dport) {
    if (f.csumAt >= 0 && !f.partial) csumReplace16(b, f.csumAt, f.dport, dport);
    write16(b, f.l4 + 2, dport);
    f.dport = dport;
  }
  if (f.csumAt >= 0) fixUdpZero(f);
}

/** Rewrites the source address and port (replies from a masq dest). */
export function snat(f: Frame, saddr: number, sport: number): void {
  const b = f.buf;
  if (saddr !== f.saddr) {
    csumReplace32(b, f.l3 + 10, f.saddr, saddr, false);
    if (f.csumAt >= 0) csumReplace32(b, f.csumAt, f.saddr, saddr, f.partial);
    write32(b, f.l3 + 12, saddr);
    f.saddr = saddr;
  }
  if (sport !== f.sport) {
    if (f.csumAt >= 0 && !f.partial) csumReplace16(b, f.csumAt, f.sport, sport);
    write16(b, f.l4, sport);
    f.sport = sport;
  }
  if (f.csumAt >= 0) fixUdpZero(f);
}
