// ICMP errors about a NAT connection (port unreachable, fragmentation needed, time exceeded...)
// quote the header of one of our packets; the director translates the quote as well as the
// outer header so that the other side can match it to its socket (the kernel's
// ip_vs_nat_icmp). The ICMP checksum is recomputed over the whole message, as the kernel does.

import { checksum, csumReplace32, read16, read32, write16, write32 } from '../wire/csum.js';
import { type Frame, IPPROTO_TCP, IPPROTO_UDP } from '../wire/frame.js';

const ICMP_DEST_UNREACH = 3;
const ICMP_SOURCE_QUENCH = 4;
const ICMP_TIME_EXCEEDED = 11;
const ICMP_PARAMETERPROB = 12;

export function isIcmpError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACH ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETERPROB
  );
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
