// FULLNAT with the PROXY protocol: the real server sees the director's local address, so the
// director writes a PROXY protocol header (HAProxy's v1 or v2) into the TCP stream in front of
// the client's first byte. From then on the two sides count bytes differently: the client's
// sequence numbers are `delta` lower than the real server expects, the real server's
// acknowledgments (and SACK edges) `delta` higher than the client expects. The header rides
// on every copy of the stream's first segment (so a retransmission carries it again), and the
// MSS the real server offers is lowered by `delta` so that the grown segment still fits.
//
// Sequence arithmetic is modulo 2^32; a partial checksum (virtio NEEDS_CSUM) covers only the
// pseudo-header, so rewriting seq/ack/options then needs no checksum update.

import { checksum, csumReplace16, csumReplace32, read16, read32, write16, write32 } from '../wire/csum.js';
import { type Frame, IPPROTO_TCP, IPV6_HLEN } from '../wire/frame.js';
import { pseudo } from './gso.js';

const TCPOPT_EOL = 0;
const TCPOPT_NOP = 1;
const TCPOPT_MSS = 2;
const TCPOPT_SACK = 5;

/** Per-conn state of an inserted header. */
export interface ProxyInsert {
  /** The client's initial sequence number (its SYN's). */
  isn: number;
  /** The header written into the stream. */
  hdr: Uint8Array;
}

/** a - b as a signed 32-bit distance (sequence space). */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * Rewrites a 32-bit field of the TCP header. An incremental update needs the field on a 16-bit
 * boundary of the segment; at an odd offset (a SACK edge after odd option padding) it is written
 * raw and false is returned, so that the caller recomputes the checksum.
 */
function setSeqField(f: Frame, at: number, to: number): boolean {
  const from = read32(f.buf, at);
  if (from === to) return true;
  const aligned = ((at - f.l4) & 1) === 0;
  if (!f.partial && aligned) csumReplace32(f.buf, f.csumAt, from, to, false);
  write32(f.buf, at, to);
  return aligned || f.partial;
}

/** Payload bytes of a TCP frame. */
export function tcpPayloadLen(f: Frame): number {
  return f.l4Len - (f.buf[f.l4 + 12]! >>> 4) * 4;
}

/**
 * Client → real server, after the FULLNAT rewrite: true when this segment starts the stream
 * and carries data, so the header must go in front of it (writeWithHeader); otherwise shifts
 * its sequence number past the header in place and returns false.
 */
export function needsHeader(f: Frame, s: ProxyInsert): boolean {
  const at = f.l4 + 4;
  const seq = read32(f.buf, at);
  const start = (s.isn + 1) >>> 0;
  const d = seqDiff(seq, start);
  if (d === 0) return tcpPayloadLen(f) > 0;
  if (d > 0) setSeqField(f, at, (seq + s.hdr.length) >>> 0);
  return false;
}

/**
 * Writes at `dst[at]` the IPv4 packet of the stream's first segment `f` (not GSO) with the
 * header inserted before its payload, every checksum computed; returns its length.
 */
export function writeWithHeader(f: Frame, s: ProxyInsert, dst: Uint8Array, at: number): number {
  const b = f.buf;
  const hl = f.ihl + (b[f.l4 + 12]! >>> 4) * 4;
  const pay = f.totLen - hl;
  const len = hl + s.hdr.length + pay;
  dst.set(b.subarray(f.l3, f.l3 + hl), at);
  dst.set(s.hdr, at + hl);
  dst.set(b.subarray(f.l3 + hl, f.l3 + f.totLen), at + hl + s.hdr.length);
  if (f.v6) write16(dst, at + 4, len - IPV6_HLEN);
  else {
    write16(dst, at + 2, len);
    write16(dst, at + 10, 0);
    write16(dst, at + 10, checksum(dst, at, f.ihl));
  }
  const l4 = at + f.ihl;
  const l4len = len - f.ihl;
  write16(dst, l4 + 16, 0);
  write16(dst, l4 + 16, checksum(dst, l4, l4len, pseudo(f, IPPROTO_TCP, l4len)));
  return len;
}

/**
 * Real server → client, after the FULLNAT rewrite: acknowledgments and SACK edges move back
 * by the header's length (never below the stream's start); the MSS of a SYN+ACK shrinks by it.
 */
export function fixReply(f: Frame, s: ProxyInsert): void {
  const b = f.buf;
  const delta = s.hdr.length;
  const start = (s.isn + 1) >>> 0;
  const back = (v: number) => (seqDiff(v, start) <= 0 ? v : seqDiff(v, start) < delta ? start : (v - delta) >>> 0);
  let ok = true;
  if (b[f.l4 + 13]! & 0x10) ok = setSeqField(f, f.l4 + 8, back(read32(b, f.l4 + 8)));
  const end = f.l4 + (b[f.l4 + 12]! >>> 4) * 4;
  let o = f.l4 + 20;
  while (o < end) {
    const kind = b[o]!;
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      o++;
      continue;
    }
    const n = b[o + 1]!;
    if (n < 2 || o + n > end) break;
    if (kind === TCPOPT_MSS && n === 4 && b[f.l4 + 13]! & 0x02) {
      const mss = read16(b, o + 2);
      const to = Math.max(mss - delta, 88);
      if (((o + 2 - f.l4) & 1) === 0) {
        if (!f.partial) csumReplace16(b, f.csumAt, mss, to);
      } else ok = f.partial;
      write16(b, o + 2, to);
    } else if (kind === TCPOPT_SACK) {
      for (let e = o + 2; e + 4 <= o + n; e += 4) ok = setSeqField(f, e, back(read32(b, e))) && ok;
    }
    o += n;
  }
  if (!ok) {
    write16(b, f.csumAt, 0);
    write16(b, f.csumAt, checksum(b, f.l4, f.l4Len, pseudo(f, IPPROTO_TCP, f.l4Len)));
  }
}
