// The fast path's map entries (fast.ts writes them, fast-prog.ts reads them): one per direction
// of an established TCP/UDP conn (IPv4 here, IPv6 at the end), keyed by the frame's 5-tuple as it arrives, holding what
// the slow path did to that frame. The engine derives an entry from a frame it has just forwarded
// (old tuple from the request, new headers from the rewritten frame), so the program repeats the
// slow path's rewrite byte for byte without knowing the forwarding method: DR changes the MACs,
// NAT the destination (in) or source (out), FULLNAT both.
//
// TUN (IPv4 in IPv4 or IPv6 in IPv6) is the one method that adds bytes: its entry holds the
// outer addresses, and the program decrements the inner TTL or hop limit and puts an outer header
// in front, as writeTunnel does (src/xmit/tunnel.ts): bare (ipip), with a GRE header, or (IPv4
// only) with UDP and GUE headers. Only the forms whose headers stay the same from frame to frame
// but for lengths and IDs: no GRE or UDP checksum (GUE over IPv6 must carry one).
//
// Checksums are updated incrementally (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')). The
// program loads 16-bit words little-endian; a one's complement sum does not depend on byte order
// as long as every word is taken the same way, so the deltas here are summed over byte-swapped
// words and the program adds them to the fields as it loads them.

import { fold, read32, write16, write32 } from '../../../wire/csum.js';
import { IPPROTO_TCP } from '../../../wire/frame.js';

/** Key: protocol (1 byte, 3 zero), saddr, daddr, sport, dport, as on the wire. */
export const FAST_KEY_SIZE = 16;
/** Value layout (offsets). New saddr and daddr (8 bytes, written at the IP header's offset 12). */
export const FV_ADDRS = 0;
/** New sport and dport (4 bytes, written at the L4 header's start). */
export const FV_PORTS = 8;
/** TUN (ipip): where the outer IDs start (u32 LE, the low 16 bits used), in place of the ports. */
export const FV_ID_BASE = FV_PORTS;
/** What the IP header checksum gains: the address changes and the TTL's decrement (u32 LE). */
export const FV_IP_DELTA = 12;
/**
 * Both families' values end alike, from FV_TAIL (IPv4) or FV6_TAIL (IPv6), at these offsets:
 * what the TCP/UDP checksum gains from the address (pseudo-header) and port changes (u32 LE);
 * the interface to transmit on, bpf_redirect's target (u32 LE); destination then source MAC (12
 * bytes, the Ethernet header's start); the out interface's MTU (u16 LE, 2 zero), longer packets
 * taking the slow path (ICMP "fragmentation needed"); the entry's slot in the counters array (u32
 * LE); the MAC of the interface the frames come in on (6 bytes, 2 zero), since a unicast frame
 * for another host (a switch floods what it has not learnt) is the slow path's, which drops it
 * as the kernel does.
 */
const T_L4_DELTA = 0;
const T_IFINDEX = 4;
const T_MACS = 8;
const T_MTU = 20;
const T_SLOT = 24;
const T_IN_MAC = 28;
const FV_TAIL = 16;
export const FV_L4_DELTA = FV_TAIL + T_L4_DELTA;
export const FV_IFINDEX = FV_TAIL + T_IFINDEX;
export const FV_MACS = FV_TAIL + T_MACS;
export const FV_MTU = FV_TAIL + T_MTU;
export const FV_SLOT = FV_TAIL + T_SLOT;
export const FV_IN_MAC = FV_TAIL + T_IN_MAC;
/** What the program does with the frame (u32 LE): FAST_KIND_REWRITE or a TUN kind. */
export const FV_KIND = 52;
/** GUE: the outer UDP source and destination ports, as on the wire (the source is per flow). */
export const FV_GUE_PORTS = 56;
export const FAST_VALUE_SIZE = 60;
/** Rewrite the headers in place (NAT, DR, FULLNAT). */
export const FAST_KIND_REWRITE = 0;
/** Encapsulate (TUN, ipip): FV_ADDRS holds the outer source and destination. */
export const FAST_KIND_IPIP = 1;
/** The same with a GRE header (no checksum, no key). */
export const FAST_KIND_GRE = 2;
/** The same with UDP (no checksum) and GUE (version 0, no options) headers; IPv4 only. */
export const FAST_KIND_GUE = 3;
/** The outer IPv4 header of ipip. */
const OUTER_HLEN = 20;
const IPPROTO_IPIP = 4;
const IPPROTO_GRE = 47;
const IPPROTO_UDP = 17;
/** What a TUN kind puts between the outer IP header and the request: its length and the outer protocol. */
export const FAST_TUN_HEADERS: Readonly<Record<number, { extra: number; proto4: number; proto6: number }>> = {
  [FAST_KIND_IPIP]: { extra: 0, proto4: IPPROTO_IPIP, proto6: 41 },
  [FAST_KIND_GRE]: { extra: 4, proto4: IPPROTO_GRE, proto6: IPPROTO_GRE },
  [FAST_KIND_GUE]: { extra: 12, proto4: IPPROTO_UDP, proto6: -1 },
};
/** GRE's protocol field: the request's EtherType. */
const GRE_IP = 0x0800;
const GRE_IP6 = 0x86dd;

/**
 * The TUN kind the fast path repeats a frame the slow path encapsulated as (`enc` at `encAt`,
 * Ethernet first), or -1 when its headers are not one of those forms: a GRE or UDP checksum, GRE
 * keys or sequence numbers, GUE options, a request of the other family.
 */
export function fastTunKind(enc: Uint8Array, encAt: number): number {
  const ip = encAt + 14;
  const v6 = enc[encAt + 12] === 0x86;
  const proto = enc[ip + (v6 ? 6 : 9)];
  const h = ip + (v6 ? IP6_HLEN : OUTER_HLEN);
  if (proto === (v6 ? IPPROTO_IPV6 : IPPROTO_IPIP)) return FAST_KIND_IPIP;
  if (proto === IPPROTO_GRE) {
    const ok = enc[h] === 0 && enc[h + 1] === 0 && ((enc[h + 2]! << 8) | enc[h + 3]!) === (v6 ? GRE_IP6 : GRE_IP);
    return ok ? FAST_KIND_GRE : -1;
  }
  if (proto === IPPROTO_UDP && !v6) {
    const ok =
      enc[h + 6] === 0 && enc[h + 7] === 0 && enc[h + 8] === 0 && enc[h + 9] === IPPROTO_IPIP && enc[h + 10] === 0 && enc[h + 11] === 0;
    return ok ? FAST_KIND_GUE : -1;
  }
  return -1;
}
/** Counters array element: packets then IP bytes (u64 each, added atomically by the program). */
export const FAST_COUNTER_SIZE = 16;
/** The TTL/protocol word loses one in its TTL byte: -1 in one's complement arithmetic. */
const TTL_DELTA = 0xfffe;

/** A big-endian 16-bit word as a little-endian load sees it. */
function swap(w: number): number {
  return ((w & 0xff) << 8) | ((w >>> 8) & 0xff);
}

/** ~old + new for the two words of a 32-bit value, in the program's byte order. */
function change32(oldV: number, newV: number): number {
  return change16(oldV >>> 16, newV >>> 16) + change16(oldV & 0xffff, newV & 0xffff);
}

function change16(oldW: number, newW: number): number {
  return (~swap(oldW) & 0xffff) + swap(newW);
}

/** Writes the key of a frame with this 5-tuple (addresses host-order numbers) at `at`. */
export function writeFastKey(b: Uint8Array, at: number, proto: number, saddr: number, daddr: number, sport: number, dport: number): void {
  b[at] = proto;
  b[at + 1] = 0;
  b[at + 2] = 0;
  b[at + 3] = 0;
  write32(b, at + 4, saddr);
  write32(b, at + 8, daddr);
  write16(b, at + 12, sport);
  write16(b, at + 14, dport);
}

/** The frame as the slow path left it, to be repeated: buffer, Ethernet, IP and L4 header offsets. */
export interface Rewritten {
  buf: Uint8Array;
  off: number;
  l3: number;
  l4: number;
}

/**
 * Writes the value that turns a frame with the old tuple into `f` (the slow path's output for
 * it) at `at`: `ifindex` and `mtu` are the out interface's, `inMac` the receiving one's, `slot`
 * the counters' slot.
 */
export function writeFastValue(
  v: Uint8Array,
  at: number,
  old: { saddr: number; daddr: number; sport: number; dport: number },
  f: Rewritten,
  out: { ifindex: number; mtu: number },
  inMac: Uint8Array,
  slot: number,
): void {
  const b = f.buf;
  v.set(b.subarray(f.l3 + 12, f.l3 + 20), at + FV_ADDRS);
  v.set(b.subarray(f.l4, f.l4 + 4), at + FV_PORTS);
  const saddr = read32(b, f.l3 + 12);
  const daddr = read32(b, f.l3 + 16);
  const sport = (b[f.l4]! << 8) | b[f.l4 + 1]!;
  const dport = (b[f.l4 + 2]! << 8) | b[f.l4 + 3]!;
  const addrs = change32(old.saddr, saddr) + change32(old.daddr, daddr);
  const ports = change16(old.sport, sport) + change16(old.dport, dport);
  const dv = new DataView(v.buffer, v.byteOffset);
  dv.setUint32(at + FV_IP_DELTA, fold(addrs + TTL_DELTA), true);
  writeTail(v, at + FV_TAIL, fold(addrs + ports), f, out, inMac, slot);
  dv.setUint32(at + FV_KIND, FAST_KIND_REWRITE, true);
}

/**
 * Writes the value of a TUN (ipip) conn at `at`: `enc` holds the slow path's encapsulated frame
 * at `encAt` (Ethernet, the outer IPv4 header, the request). The MTU is the one the request
 * must fit (the out interface's less the outer header), as the slow path checks it. The outer
 * ID of the entry's n-th frame is `idBase` + n (mod 2^16). False, and nothing written, when the
 * frame is not a form the program repeats (fastTunKind).
 */
export function writeFastValueTun(
  v: Uint8Array,
  at: number,
  enc: Uint8Array,
  encAt: number,
  out: { ifindex: number; mtu: number },
  inMac: Uint8Array,
  slot: number,
  idBase: number,
): boolean {
  const outer = encAt + 14;
  const kind = fastTunKind(enc, encAt);
  if (kind < 0) return false;
  const hl = OUTER_HLEN + FAST_TUN_HEADERS[kind]!.extra;
  v.set(enc.subarray(outer + 12, outer + 20), at + FV_ADDRS);
  const dv = new DataView(v.buffer, v.byteOffset);
  dv.setUint32(at + FV_ID_BASE, idBase & 0xffff, true);
  dv.setUint32(at + FV_IP_DELTA, TTL_DELTA, true);
  writeTail(
    v,
    at + FV_TAIL,
    0,
    { buf: enc, off: encAt, l3: outer, l4: outer + hl },
    { ifindex: out.ifindex, mtu: out.mtu - hl },
    inMac,
    slot,
  );
  dv.setUint32(at + FV_KIND, kind, true);
  if (kind === FAST_KIND_GUE) v.set(enc.subarray(outer + OUTER_HLEN, outer + OUTER_HLEN + 4), at + FV_GUE_PORTS);
  else v.fill(0, at + FV_GUE_PORTS, at + FV_GUE_PORTS + 4);
  return true;
}

function writeTail(
  v: Uint8Array,
  at: number,
  l4Delta: number,
  f: Rewritten,
  out: { ifindex: number; mtu: number },
  inMac: Uint8Array,
  slot: number,
): void {
  const dv = new DataView(v.buffer, v.byteOffset);
  dv.setUint32(at + T_L4_DELTA, l4Delta, true);
  dv.setUint32(at + T_IFINDEX, out.ifindex, true);
  v.set(f.buf.subarray(f.off, f.off + 12), at + T_MACS);
  dv.setUint16(at + T_MTU, Math.min(out.mtu, 0xffff), true);
  dv.setUint16(at + T_MTU + 2, 0, true);
  dv.setUint32(at + T_SLOT, slot, true);
  v.set(inMac.subarray(0, 6), at + T_IN_MAC);
  dv.setUint16(at + T_IN_MAC + 6, 0, true);
}

/** The model's shared steps: the frame is to the receiving interface's MAC (the tail at `tail`). */
function toInMac(b: Uint8Array, off: number, v: Uint8Array, tail: number): boolean {
  for (let i = 0; i < 6; i++) if (b[off + i] !== v[tail + T_IN_MAC + i]) return false;
  return true;
}

/** ... and the TCP/UDP checksum field at `csumAt`, `field` before, updated by the tail's delta. */
function updateL4(b: Uint8Array, csumAt: number, field: number, v: Uint8Array, tail: number, tcp: boolean): void {
  const delta = new DataView(v.buffer, v.byteOffset).getUint32(tail + T_L4_DELTA, true);
  let c = ~fold((~field & 0xffff) + delta) & 0xffff;
  if (!tcp && c === 0) c = 0xffff;
  setLe16(b, csumAt, c);
}

/**
 * What the program does to a frame with `v`'s entry, in JavaScript: the model its tests hold the
 * kernel's run to, and the reference for reading the program. Returns false where the program
 * leaves the frame to the slow path (not to the receiving interface's MAC, a TCP SYN/FIN/RST,
 * TTL ≤ 1, longer than the MTU, a partial checksum).
 */
export function applyFastValue(b: Uint8Array, off: number, v: Uint8Array, at: number): boolean {
  const dv = new DataView(v.buffer, v.byteOffset);
  if (dv.getUint32(at + FV_KIND, true) !== FAST_KIND_REWRITE || !takes4(b, off, v, at)) return false;
  const ip = off + 14;
  const l4 = ip + 20;
  const tcp = b[ip + 9] === IPPROTO_TCP;
  const csumAt = l4 + (tcp ? 16 : 6);
  const field = le16(b, csumAt);
  b.set(v.subarray(at + FV_MACS, at + FV_MACS + 12), off);
  b.set(v.subarray(at + FV_ADDRS, at + FV_ADDRS + 8), ip + 12);
  b.set(v.subarray(at + FV_PORTS, at + FV_PORTS + 4), l4);
  b[ip + 8] = b[ip + 8]! - 1;
  setLe16(b, ip + 10, ~fold((~le16(b, ip + 10) & 0xffff) + dv.getUint32(at + FV_IP_DELTA, true)) & 0xffff);
  if (tcp || field !== 0) updateL4(b, csumAt, field, v, at + FV_TAIL, tcp);
  return true;
}

/** The program's checks of an IPv4 frame, before it changes anything (see applyFastValue). */
function takes4(b: Uint8Array, off: number, v: Uint8Array, at: number): boolean {
  const dv = new DataView(v.buffer, v.byteOffset);
  if (!toInMac(b, off, v, at + FV_TAIL)) return false;
  const ip = off + 14;
  const l4 = ip + 20;
  const proto = b[ip + 9]!;
  const tcp = proto === IPPROTO_TCP;
  if (tcp && (b[l4 + 13]! & 0x07) !== 0) return false;
  if (b[ip + 8]! <= 1) return false;
  const totLen = (b[ip + 2]! << 8) | b[ip + 3]!;
  if (totLen > dv.getUint16(at + FV_MTU, true)) return false;
  const field = le16(b, l4 + (tcp ? 16 : 6));
  const pseudo = le16(b, ip + 12) + le16(b, ip + 14) + le16(b, ip + 16) + le16(b, ip + 18) + (proto << 8) + swap(totLen - 20);
  return field !== fold(pseudo);
}

/**
 * The program on a TUN (ipip) entry, in JavaScript: the frame it sends as the entry's `count`-th
 * (Ethernet, the outer IPv4 header, its ID the entry's base + count, the request with its TTL
 * decremented), or null where it leaves the frame to the slow path (the checks of
 * applyFastValue). `b` is not changed.
 */
export function applyFastTun(b: Uint8Array, off: number, v: Uint8Array, at: number, count: number): Uint8Array | null {
  const dv = new DataView(v.buffer, v.byteOffset);
  const kind = dv.getUint32(at + FV_KIND, true);
  const hdrs = FAST_TUN_HEADERS[kind];
  if (hdrs === undefined || !takes4(b, off, v, at)) return null;
  const ip = off + 14;
  const totLen = (b[ip + 2]! << 8) | b[ip + 3]!;
  const o = new Uint8Array(14 + OUTER_HLEN + hdrs.extra + totLen);
  const inner = 14 + OUTER_HLEN + hdrs.extra;
  o.set(b.subarray(ip, ip + totLen), inner);
  o[inner + 8] = o[inner + 8]! - 1;
  setLe16(o, inner + 10, ~fold((~le16(o, inner + 10) & 0xffff) + dv.getUint32(at + FV_IP_DELTA, true)) & 0xffff);
  o.set(v.subarray(at + FV_MACS, at + FV_MACS + 12), 0);
  o[12] = 0x08;
  o[13] = 0x00;
  // As writeTunnel: the inner DS field with CE sent as ECT(0), the inner DF and TTL (after the hop).
  o[14] = 0x45;
  o[15] = outerDs(o[inner + 1]!);
  write16(o, 16, totLen + OUTER_HLEN + hdrs.extra);
  write16(o, 18, (dv.getUint32(at + FV_ID_BASE, true) + count) & 0xffff);
  o[20] = o[inner + 6]! & 0x40;
  o[21] = 0;
  o[22] = o[inner + 8]!;
  o[23] = hdrs.proto4;
  o.set(v.subarray(at + FV_ADDRS, at + FV_ADDRS + 8), 26);
  let sum = 0;
  for (let k = 14; k < 34; k += 2) sum += le16(o, k);
  setLe16(o, 24, ~fold(sum) & 0xffff);
  if (kind === FAST_KIND_GRE) write16(o, 36, GRE_IP);
  if (kind === FAST_KIND_GUE) {
    // UDP: the entry's ports, the length, no checksum; GUE: version 0, no options, ipip inside.
    o.set(v.subarray(at + FV_GUE_PORTS, at + FV_GUE_PORTS + 4), 34);
    write16(o, 38, 8 + 4 + totLen);
    o[43] = IPPROTO_IPIP;
  }
  return o;
}

/** An outer header's DS field or traffic class: the inner one, CE (3) sent as ECT(0) (2). */
function outerDs(tos: number): number {
  return (tos & 3) === 3 ? tos ^ 1 : tos;
}

function le16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

function setLe16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = v >>> 8;
}

// --- IPv6 (a header without extension headers, TCP or UDP right after it) --------------------

/** Key: protocol (1 byte, 3 zero), saddr, daddr (16 bytes each), sport, dport. */
export const FAST6_KEY_SIZE = 40;
/** New saddr and daddr (32 bytes, written at the IPv6 header's offset 8). */
export const FV6_ADDRS = 0;
/** New sport and dport (4 bytes). */
export const FV6_PORTS = 32;
/** Then the tail (FV_TAIL's layout); IPv6 has no header checksum, and the hop limit is in none. */
const FV6_TAIL = 36;
export const FV6_L4_DELTA = FV6_TAIL + T_L4_DELTA;
export const FV6_IFINDEX = FV6_TAIL + T_IFINDEX;
export const FV6_MACS = FV6_TAIL + T_MACS;
export const FV6_MTU = FV6_TAIL + T_MTU;
export const FV6_SLOT = FV6_TAIL + T_SLOT;
export const FV6_IN_MAC = FV6_TAIL + T_IN_MAC;
/** FV_KIND's IPv6 twin. */
export const FV6_KIND = 72;
export const FAST6_VALUE_SIZE = 80;
const IP6_HLEN = 40;
const IPPROTO_IPV6 = 41;

/** Writes the key of an IPv6 frame with this 5-tuple (addresses as four host-order words) at `at`. */
export function writeFastKey6(
  b: Uint8Array,
  at: number,
  proto: number,
  saddr: ArrayLike<number>,
  daddr: ArrayLike<number>,
  sport: number,
  dport: number,
): void {
  b[at] = proto;
  b[at + 1] = 0;
  b[at + 2] = 0;
  b[at + 3] = 0;
  for (let k = 0; k < 4; k++) {
    write32(b, at + 4 + 4 * k, saddr[k]!);
    write32(b, at + 20 + 4 * k, daddr[k]!);
  }
  write16(b, at + 36, sport);
  write16(b, at + 38, dport);
}

/** As writeFastValue, for an IPv6 frame (`old` addresses as four host-order words each). */
export function writeFastValue6(
  v: Uint8Array,
  at: number,
  old: { saddr: ArrayLike<number>; daddr: ArrayLike<number>; sport: number; dport: number },
  f: Rewritten,
  out: { ifindex: number; mtu: number },
  inMac: Uint8Array,
  slot: number,
): void {
  const b = f.buf;
  v.set(b.subarray(f.l3 + 8, f.l3 + 40), at + FV6_ADDRS);
  v.set(b.subarray(f.l4, f.l4 + 4), at + FV6_PORTS);
  let sum = 0;
  for (let k = 0; k < 4; k++) {
    sum += change32(old.saddr[k]!, read32(b, f.l3 + 8 + 4 * k));
    sum += change32(old.daddr[k]!, read32(b, f.l3 + 24 + 4 * k));
  }
  sum += change16(old.sport, (b[f.l4]! << 8) | b[f.l4 + 1]!);
  sum += change16(old.dport, (b[f.l4 + 2]! << 8) | b[f.l4 + 3]!);
  writeTail(v, at + FV6_TAIL, fold(sum), f, out, inMac, slot);
  new DataView(v.buffer, v.byteOffset).setUint32(at + FV6_KIND, FAST_KIND_REWRITE, true);
}

/** As writeFastValueTun, for an IPv6 request in an outer IPv6 header (40 bytes). */
export function writeFastValueTun6(
  v: Uint8Array,
  at: number,
  enc: Uint8Array,
  encAt: number,
  out: { ifindex: number; mtu: number },
  inMac: Uint8Array,
  slot: number,
): boolean {
  const outer = encAt + 14;
  const kind = fastTunKind(enc, encAt);
  if (kind < 0) return false;
  const hl = IP6_HLEN + FAST_TUN_HEADERS[kind]!.extra;
  v.set(enc.subarray(outer + 8, outer + 40), at + FV6_ADDRS);
  v.fill(0, at + FV6_PORTS, at + FV6_PORTS + 4);
  const f = { buf: enc, off: encAt, l3: outer, l4: outer + hl };
  writeTail(v, at + FV6_TAIL, 0, f, { ifindex: out.ifindex, mtu: out.mtu - hl }, inMac, slot);
  new DataView(v.buffer, v.byteOffset).setUint32(at + FV6_KIND, kind, true);
  return true;
}

/** As applyFastValue, for an IPv6 frame; a UDP datagram without a checksum (invalid in IPv6) is refused too. */
export function applyFastValue6(b: Uint8Array, off: number, v: Uint8Array, at: number): boolean {
  const dv = new DataView(v.buffer, v.byteOffset);
  if (dv.getUint32(at + FV6_KIND, true) !== FAST_KIND_REWRITE || !takes6(b, off, v, at)) return false;
  const ip = off + 14;
  const l4 = ip + IP6_HLEN;
  const tcp = b[ip + 6] === IPPROTO_TCP;
  const csumAt = l4 + (tcp ? 16 : 6);
  const field = le16(b, csumAt);
  b.set(v.subarray(at + FV6_MACS, at + FV6_MACS + 12), off);
  b.set(v.subarray(at + FV6_ADDRS, at + FV6_ADDRS + 32), ip + 8);
  b.set(v.subarray(at + FV6_PORTS, at + FV6_PORTS + 4), l4);
  b[ip + 7] = b[ip + 7]! - 1;
  updateL4(b, csumAt, field, v, at + FV6_TAIL, tcp);
  return true;
}

/** The program's checks of an IPv6 frame, before it changes anything (see applyFastValue6). */
function takes6(b: Uint8Array, off: number, v: Uint8Array, at: number): boolean {
  const dv = new DataView(v.buffer, v.byteOffset);
  if (!toInMac(b, off, v, at + FV6_TAIL)) return false;
  const ip = off + 14;
  const l4 = ip + IP6_HLEN;
  const proto = b[ip + 6]!;
  const tcp = proto === IPPROTO_TCP;
  if (tcp && (b[l4 + 13]! & 0x07) !== 0) return false;
  if (b[ip + 7]! <= 1) return false;
  const plen = (b[ip + 4]! << 8) | b[ip + 5]!;
  if (plen + IP6_HLEN > dv.getUint16(at + FV6_MTU, true)) return false;
  const field = le16(b, l4 + (tcp ? 16 : 6));
  if (!tcp && field === 0) return false;
  let pseudo = (proto << 8) + swap(plen);
  for (let k = 0; k < 32; k += 2) pseudo += le16(b, ip + 8 + k);
  return field !== fold(pseudo);
}

/** As applyFastTun, for an IPv6 request in an outer IPv6 header (no ID, no header checksum). */
export function applyFastTun6(b: Uint8Array, off: number, v: Uint8Array, at: number): Uint8Array | null {
  const dv = new DataView(v.buffer, v.byteOffset);
  const kind = dv.getUint32(at + FV6_KIND, true);
  const hdrs = FAST_TUN_HEADERS[kind];
  if (hdrs === undefined || hdrs.proto6 < 0 || !takes6(b, off, v, at)) return null;
  const ip = off + 14;
  const len = IP6_HLEN + ((b[ip + 4]! << 8) | b[ip + 5]!);
  const o = new Uint8Array(14 + IP6_HLEN + hdrs.extra + len);
  const inner = 14 + IP6_HLEN + hdrs.extra;
  o.set(b.subarray(ip, ip + len), inner);
  o[inner + 7] = o[inner + 7]! - 1;
  o.set(v.subarray(at + FV6_MACS, at + FV6_MACS + 12), 0);
  o[12] = 0x86;
  o[13] = 0xdd;
  const ds = outerDs(((o[inner]! & 0x0f) << 4) | (o[inner + 1]! >>> 4));
  o[14] = 0x60 | (ds >>> 4);
  o[15] = (ds & 0x0f) << 4;
  write16(o, 18, len + hdrs.extra);
  o[20] = hdrs.proto6;
  o[21] = o[inner + 7]!;
  o.set(v.subarray(at + FV6_ADDRS, at + FV6_ADDRS + 32), 22);
  if (kind === FAST_KIND_GRE) write16(o, 56, GRE_IP6);
  return o;
}
