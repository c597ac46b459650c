// The fast path's part of the XDP program (prog.ts emits it before its own lookups): a TCP/UDP
// frame (IPv4, or IPv6 without extension headers) whose 5-tuple is in its family's fast map
// (fast-entry.ts) is rewritten as the slow path rewrote the conn's earlier frames and sent out
// of the entry's interface with bpf_redirect: no copy into the UMEM, no socket, no JavaScript.
// Its packets and bytes are added to the entry's counters, which the engine credits to the conn
// (fast.ts). Anything the conn's state machine must see goes on to the slow path instead: TCP
// SYN, FIN or RST, a TTL or hop limit the slow path would answer with ICMP, a packet longer
// than the out interface's MTU, a partial checksum (a local stack's segment on veth, which only
// the slow path completes), and a frame not addressed to the receiving interface's MAC.
// A TUN entry's frame keeps its headers but for the TTL and gains an outer IP header
// (bpf_xdp_adjust_head), with a GRE or UDP and GUE header after it for those kinds. An IPv4
// outer header's ID is the entry's packet count from a random base: IDs need
// only differ between the datagrams of one source and destination that may be fragmented on
// the way, and conns to one real server then do not all count from the same number.
//
// Registers as in prog.ts (r6 context, r7 data, r8 data_end, r9 the IP protocol); r0 holds the
// entry between its lookup and the counters' lookup. Stack: the key at fp-48 (IPv6: fp-104),
// the out ifindex at fp-52, the counters' slot at fp-56; for TUN the entry at fp-64 (across
// bpf_xdp_adjust_head), the outer ID at fp-72 and GUE's ports at fp-76. IPv6 has no header
// checksum: only the TCP/UDP one changes, and a UDP datagram without one (invalid in IPv6) is
// the slow path's.

import type { Asm } from './asm.js';
import { BPF_FUNC_MAP_LOOKUP_ELEM, BPF_FUNC_REDIRECT, BPF_FUNC_XDP_ADJUST_HEAD, XDP_ABORTED } from './bpf.js';
import {
  FV6_ADDRS,
  FV6_IFINDEX,
  FV6_IN_MAC,
  FV6_KIND,
  FV6_L4_DELTA,
  FV6_MACS,
  FV6_MTU,
  FV6_PORTS,
  FV6_SLOT,
  FV_ADDRS,
  FV_IFINDEX,
  FV_IN_MAC,
  FAST_KIND_GRE,
  FAST_KIND_GUE,
  FAST_KIND_IPIP,
  FAST_KIND_REWRITE,
  FAST_TUN_HEADERS,
  FV_GUE_PORTS,
  FV_ID_BASE,
  FV_IP_DELTA,
  FV_KIND,
  FV_L4_DELTA,
  FV_MACS,
  FV_MTU,
  FV_PORTS,
  FV_SLOT,
} from './fast-entry.js';

export interface FastMaps {
  /** The hash map of fast-entry.ts, IPv4. */
  fastFd: number;
  /** The same for IPv6 (FAST6_KEY_SIZE keys). */
  fast6Fd: number;
  /** The counters array (FAST_COUNTER_SIZE per slot). */
  countersFd: number;
}

const KEY = -48;
/** The IPv6 key (40 bytes) at fp-104. */
const KEY6 = -104;
const IFINDEX = -52;
const SLOT = -56;
const ENTRY = -64;
const OUTER_ID = -72;
/** GUE: the entry's UDP ports, kept across the counters' lookup (IPv4 only: KEY6 overlaps). */
const GUE_PORTS = -76;
/** The outer IPv4 header of a TUN kind. */
const OUTER_HLEN = 20;
const IPPROTO_IPIP = 4;
/** Offsets in the frame: Ethernet (14) then a 20-byte IPv4 header (prog.ts checked IHL 5). */
const IP = 14;
const L4 = IP + 20;
/** GRE's protocol field as a little-endian 16-bit store writes it: 0x0800 and 0x86dd on the wire. */
const GRE_IP_LE = 0x0008;
const GRE_IP6_LE = 0xdd86;
const TCP_FLAGS = L4 + 13;
/** FIN, SYN and RST: the state machine's events. */
const TCP_STATE_FLAGS = 0x07;

/** r = r folded to 16 bits (twice suffices for the sums here, below 2^18), with `tmp` scratch. */
function fold(a: Asm, r: number, tmp: number): void {
  for (let k = 0; k < 2; k++) {
    a.movReg(tmp, r).alu64Imm('rsh', tmp, 16).alu64Imm('and', r, 0xffff).alu64Reg('add', r, tmp);
  }
}

/** Not to this interface's MAC (flooded, or broadcast): the slow path drops or judges it. r0 is the entry. */
function toInMac(a: Asm, inMacAt: number, miss: string): void {
  a.ldx(4, 2, 7, 0).ldx(4, 3, 0, inMacAt).jmpReg('ne', 2, 3, miss);
  a.ldx(2, 2, 7, 4)
    .ldx(2, 3, 0, inMacAt + 4)
    .jmpReg('ne', 2, 3, miss);
}

/**
 * The TCP/UDP checksum at `csum`, whose old value is in r5, plus the entry's delta at `deltaAt`;
 * a UDP result of 0 is sent as 0xffff (RFC 768: 0 means none).
 */
function updateL4(a: Asm, deltaAt: number, csum: number, tcp: boolean, p: string): void {
  a.alu64Imm('xor', 5, 0xffff);
  a.ldx(4, 2, 0, deltaAt).alu64Reg('add', 5, 2);
  fold(a, 5, 2);
  a.alu64Imm('xor', 5, 0xffff);
  if (!tcp) a.jmpImm('ne', 5, 0, `${p}store`).movImm(5, 0xffff).label(`${p}store`);
  a.stx(2, 7, csum, 5);
}

/** The IPv4 header at `ip` loses one TTL; its checksum gains the entry's FV_IP_DELTA. r0 is the entry. */
function decTtl(a: Asm, ip: number): void {
  a.ldx(1, 1, 7, ip + 8)
    .alu64Imm('sub', 1, 1)
    .stx(1, 7, ip + 8, 1);
  a.ldx(2, 1, 7, ip + 10).alu64Imm('xor', 1, 0xffff);
  a.ldx(4, 2, 0, FV_IP_DELTA).alu64Reg('add', 1, 2);
  fold(a, 1, 2);
  a.alu64Imm('xor', 1, 0xffff).stx(2, 7, ip + 10, 1);
}

/** One protocol's fast path; jumps to `miss` for the slow path. */
function one(a: Asm, m: FastMaps, tcp: boolean, miss: string): void {
  const p = tcp ? 'fast_tcp_' : 'fast_udp_';
  const csum = L4 + (tcp ? 16 : 6);
  a.movReg(1, 7)
    .alu64Imm('add', 1, L4 + (tcp ? 20 : 8))
    .jmpReg('gt', 1, 8, miss);
  if (tcp) a.ldx(1, 2, 7, TCP_FLAGS).jmpImm('set', 2, TCP_STATE_FLAGS, miss);
  a.ldx(1, 2, 7, IP + 8).jmpImm('le', 2, 1, miss);
  // The key: protocol, then saddr, daddr and the ports, as they lie in the frame.
  a.st(4, 10, KEY, 0).stx(1, 10, KEY, 9);
  a.ldx(4, 2, 7, IP + 12).stx(4, 10, KEY + 4, 2);
  a.ldx(4, 2, 7, IP + 16).stx(4, 10, KEY + 8, 2);
  a.ldx(4, 2, 7, L4).stx(4, 10, KEY + 12, 2);
  a.ldMap(1, m.fastFd).movReg(2, 10).alu64Imm('add', 2, KEY).call(BPF_FUNC_MAP_LOOKUP_ELEM);
  a.jmpImm('eq', 0, 0, miss);
  toInMac(a, FV_IN_MAC, miss);
  // Longer than the out interface's MTU: the slow path drops it or sends ICMP.
  a.ldx(2, 2, 7, IP + 2).be16(2);
  a.ldx(2, 3, 0, FV_MTU).jmpReg('gt', 2, 3, miss);
  // A partial checksum holds the pseudo-header's sum, uncomplemented.
  a.ldx(2, 3, 7, IP + 12);
  for (const w of [IP + 14, IP + 16, IP + 18]) a.ldx(2, 4, 7, w).alu64Reg('add', 3, 4);
  a.movReg(4, 9).alu64Imm('lsh', 4, 8).alu64Reg('add', 3, 4);
  a.alu64Imm('sub', 2, 20).be16(2).alu64Reg('add', 3, 2);
  fold(a, 3, 4);
  a.ldx(2, 5, 7, csum).jmpReg('eq', 5, 3, miss);
  a.ldx(4, 2, 0, FV_KIND).jmpImm('ne', 2, FAST_KIND_REWRITE, `${p}ipip`);
  // The rewrite: MACs, addresses and ports, TTL, then both checksums.
  for (let k = 0; k < 12; k += 4) a.ldx(4, 1, 0, FV_MACS + k).stx(4, 7, k, 1);
  a.ldx(4, 1, 0, FV_ADDRS).stx(4, 7, IP + 12, 1);
  a.ldx(4, 1, 0, FV_ADDRS + 4).stx(4, 7, IP + 16, 1);
  a.ldx(4, 1, 0, FV_PORTS).stx(4, 7, L4, 1);
  decTtl(a, IP);
  // UDP without a checksum (0) keeps none.
  if (!tcp) a.jmpImm('eq', 5, 0, `${p}counted`);
  updateL4(a, FV_L4_DELTA, csum, tcp, p);
  if (!tcp) a.label(`${p}counted`);
  out(a, m, p, FV_IFINDEX, FV_SLOT, (r) => a.ldx(2, r, 7, IP + 2).be16(r));
  a.label(`${p}ipip`);
  a.jmpImm('eq', 2, FAST_KIND_GRE, `${p}gre`).jmpImm('eq', 2, FAST_KIND_GUE, `${p}gue`);
  tunnel(a, m, tcp, `${p}ipip_`, miss, FAST_KIND_IPIP);
  a.label(`${p}gre`);
  tunnel(a, m, tcp, `${p}gre_`, miss, FAST_KIND_GRE);
  a.label(`${p}gue`);
  tunnel(a, m, tcp, `${p}gue_`, miss, FAST_KIND_GUE);
}

/**
 * Room for `by` bytes in front of the frame (bpf_xdp_adjust_head), with r0 the entry, kept
 * across the call on the stack and back in r0 after it; r7 and r8 are loaded anew. If the
 * kernel refuses, the frame is as it came and goes on to `miss` with its first `slowEnd` bytes
 * proven there again; once grown, the first `need` bytes (20 or 40 more than the checks before
 * proved) are proven for what follows.
 */
function makeRoom(a: Asm, by: number, slowEnd: number, need: number, p: string, miss: string): void {
  a.stx(8, 10, ENTRY, 0);
  a.movReg(1, 6).movImm(2, -by).call(BPF_FUNC_XDP_ADJUST_HEAD);
  a.ldx(4, 7, 6, 0).ldx(4, 8, 6, 4);
  a.jmpImm('eq', 0, 0, `${p}grown`);
  a.movReg(1, 7).alu64Imm('add', 1, slowEnd).jmpReg('gt', 1, 8, 'pass').ja(miss);
  a.label(`${p}grown`);
  // Cannot fail: the frame is `by` bytes longer than the one whose headers were checked.
  a.movReg(1, 7).alu64Imm('add', 1, need).jmpReg('le', 1, 8, `${p}fits`).movImm(0, XDP_ABORTED).exit();
  a.label(`${p}fits`);
  a.ldx(8, 0, 10, ENTRY);
}

/**
 * TUN: room for the outer headers in front (nothing is changed if the kernel refuses it), then
 * the request's TTL and header checksum, the Ethernet header, the counters (whose packet count
 * gives the outer ID), the outer IPv4 header as writeTunnel builds it, the kind's GRE or UDP and
 * GUE header, and the redirect. r0 is the entry; every packet pointer is loaded anew after
 * bpf_xdp_adjust_head.
 */
function tunnel(a: Asm, m: FastMaps, tcp: boolean, p: string, miss: string, kind: number): void {
  const hdrs = FAST_TUN_HEADERS[kind]!;
  const inner = IP + OUTER_HLEN + hdrs.extra;
  makeRoom(a, OUTER_HLEN + hdrs.extra, L4 + 4, inner + 20 + (tcp ? 20 : 8), p, miss);
  decTtl(a, inner);
  for (let k = 0; k < 12; k += 4) a.ldx(4, 1, 0, FV_MACS + k).stx(4, 7, k, 1);
  a.st(2, 7, 12, 0x0008);
  a.ldx(4, 1, 0, FV_ADDRS).stx(4, 7, IP + 12, 1);
  a.ldx(4, 1, 0, FV_ADDRS + 4).stx(4, 7, IP + 16, 1);
  a.ldx(4, 1, 0, FV_IFINDEX).stx(4, 10, IFINDEX, 1);
  a.ldx(4, 1, 0, FV_SLOT).stx(4, 10, SLOT, 1);
  a.ldx(4, 1, 0, FV_ID_BASE).stx(8, 10, OUTER_ID, 1);
  if (kind === FAST_KIND_GUE) a.ldx(4, 1, 0, FV_GUE_PORTS).stx(4, 10, GUE_PORTS, 1);
  a.ldMap(1, m.countersFd).movReg(2, 10).alu64Imm('add', 2, SLOT).call(BPF_FUNC_MAP_LOOKUP_ELEM);
  a.jmpImm('eq', 0, 0, `${p}hdr`);
  a.movImm(1, 1).atomicAdd(8, 0, 0, 1);
  a.ldx(2, 1, 7, inner + 2).be16(1);
  a.atomicAdd(8, 0, 8, 1);
  a.ldx(4, 1, 0, 0).ldx(8, 2, 10, OUTER_ID).alu64Reg('add', 1, 2).stx(8, 10, OUTER_ID, 1);
  a.label(`${p}hdr`);
  a.st(1, 7, IP, 0x45);
  // The inner DS field, CE sent as ECT(0).
  a.ldx(1, 1, 7, inner + 1)
    .movReg(2, 1)
    .alu64Imm('and', 2, 3)
    .jmpImm('ne', 2, 3, `${p}ds`)
    .alu64Imm('xor', 1, 1);
  a.label(`${p}ds`);
  a.stx(1, 7, IP + 1, 1);
  a.ldx(2, 1, 7, inner + 2)
    .be16(1)
    .alu64Imm('add', 1, OUTER_HLEN + hdrs.extra)
    .be16(1)
    .stx(2, 7, IP + 2, 1);
  a.ldx(8, 1, 10, OUTER_ID)
    .be16(1)
    .stx(2, 7, IP + 4, 1);
  a.ldx(1, 1, 7, inner + 6)
    .alu64Imm('and', 1, 0x40)
    .stx(1, 7, IP + 6, 1);
  a.st(1, 7, IP + 7, 0);
  a.ldx(1, 1, 7, inner + 8).stx(1, 7, IP + 8, 1);
  a.st(1, 7, IP + 9, hdrs.proto4);
  a.st(2, 7, IP + 10, 0);
  a.movImm(1, 0);
  for (let k = 0; k < OUTER_HLEN; k += 2) a.ldx(2, 2, 7, IP + k).alu64Reg('add', 1, 2);
  fold(a, 1, 2);
  a.alu64Imm('xor', 1, 0xffff).stx(2, 7, IP + 10, 1);
  // The kind's header, right after the outer IPv4 header.
  const h = L4;
  if (kind === FAST_KIND_GRE) a.st(2, 7, h, 0).st(2, 7, h + 2, GRE_IP_LE);
  if (kind === FAST_KIND_GUE) {
    // UDP: the entry's ports (r0 is the counters' element by now: the ports were kept on the
    // stack), the length, no checksum; GUE: version 0, no options, ipip inside, no flags.
    a.ldx(4, 1, 10, GUE_PORTS).stx(4, 7, h, 1);
    a.ldx(2, 1, 7, inner + 2)
      .be16(1)
      .alu64Imm('add', 1, hdrs.extra)
      .be16(1)
      .stx(2, 7, h + 4, 1);
    a.st(2, 7, h + 6, 0).st(4, 7, h + 8, IPPROTO_IPIP << 8);
  }
  a.ldx(4, 1, 10, IFINDEX).movImm(2, 0).call(BPF_FUNC_REDIRECT).exit();
}

/**
 * Counts the frame in the entry's slot (`len` puts the IP length in the register it is given),
 * then redirects it to the entry's interface. r0 is the entry.
 */
function out(a: Asm, m: FastMaps, p: string, ifindexAt: number, slotAt: number, len: (r: number) => void): void {
  a.ldx(4, 1, 0, ifindexAt).stx(4, 10, IFINDEX, 1);
  a.ldx(4, 1, 0, slotAt).stx(4, 10, SLOT, 1);
  a.ldMap(1, m.countersFd).movReg(2, 10).alu64Imm('add', 2, SLOT).call(BPF_FUNC_MAP_LOOKUP_ELEM);
  a.jmpImm('eq', 0, 0, `${p}out`);
  a.movImm(1, 1).atomicAdd(8, 0, 0, 1);
  len(1);
  a.atomicAdd(8, 0, 8, 1);
  a.label(`${p}out`);
  a.ldx(4, 1, 10, IFINDEX).movImm(2, 0).call(BPF_FUNC_REDIRECT).exit();
}

const L4_6 = IP + 40;

/** One protocol's IPv6 fast path; jumps to `miss` for the slow path. */
function one6(a: Asm, m: FastMaps, tcp: boolean, miss: string): void {
  const p = tcp ? 'fast6_tcp_' : 'fast6_udp_';
  const csum = L4_6 + (tcp ? 16 : 6);
  a.movReg(1, 7)
    .alu64Imm('add', 1, L4_6 + (tcp ? 20 : 8))
    .jmpReg('gt', 1, 8, miss);
  if (tcp) a.ldx(1, 2, 7, L4_6 + 13).jmpImm('set', 2, TCP_STATE_FLAGS, miss);
  a.ldx(1, 2, 7, IP + 7).jmpImm('le', 2, 1, miss);
  a.st(4, 10, KEY6, 0).stx(1, 10, KEY6, 9);
  for (let k = 0; k < 32; k += 4) a.ldx(4, 2, 7, IP + 8 + k).stx(4, 10, KEY6 + 4 + k, 2);
  a.ldx(4, 2, 7, L4_6).stx(4, 10, KEY6 + 36, 2);
  a.ldMap(1, m.fast6Fd).movReg(2, 10).alu64Imm('add', 2, KEY6).call(BPF_FUNC_MAP_LOOKUP_ELEM);
  a.jmpImm('eq', 0, 0, miss);
  toInMac(a, FV6_IN_MAC, miss);
  // The payload length (no extension headers: the upper layer's) plus the header, against the MTU.
  a.ldx(2, 2, 7, IP + 4)
    .be16(2)
    .alu64Imm('add', 2, 40);
  a.ldx(2, 3, 0, FV6_MTU).jmpReg('gt', 2, 3, miss);
  // The field, zero (UDP without a checksum) or the pseudo-header's sum (partial): slow path.
  a.ldx(2, 5, 7, csum);
  if (!tcp) a.jmpImm('eq', 5, 0, miss);
  a.ldx(2, 3, 7, IP + 4);
  a.movReg(4, 9).alu64Imm('lsh', 4, 8).alu64Reg('add', 3, 4);
  for (let k = 0; k < 32; k += 2) a.ldx(2, 4, 7, IP + 8 + k).alu64Reg('add', 3, 4);
  fold(a, 3, 4);
  a.jmpReg('eq', 5, 3, miss);
  a.ldx(4, 2, 0, FV6_KIND).jmpImm('ne', 2, FAST_KIND_REWRITE, `${p}ipip`);
  for (let k = 0; k < 12; k += 4) a.ldx(4, 1, 0, FV6_MACS + k).stx(4, 7, k, 1);
  for (let k = 0; k < 32; k += 4) a.ldx(4, 1, 0, FV6_ADDRS + k).stx(4, 7, IP + 8 + k, 1);
  a.ldx(4, 1, 0, FV6_PORTS).stx(4, 7, L4_6, 1);
  a.ldx(1, 1, 7, IP + 7)
    .alu64Imm('sub', 1, 1)
    .stx(1, 7, IP + 7, 1);
  updateL4(a, FV6_L4_DELTA, csum, tcp, p);
  out(a, m, p, FV6_IFINDEX, FV6_SLOT, (r) =>
    a
      .ldx(2, r, 7, IP + 4)
      .be16(r)
      .alu64Imm('add', r, 40),
  );
  a.label(`${p}ipip`);
  a.jmpImm('eq', 2, FAST_KIND_GRE, `${p}gre`);
  tunnel6(a, m, tcp, `${p}ipip_`, miss, FAST_KIND_IPIP);
  a.label(`${p}gre`);
  tunnel6(a, m, tcp, `${p}gre_`, miss, FAST_KIND_GRE);
}

/**
 * TUN over IPv6 (6in6): as tunnel(), with an outer IPv6 header (next header 41 or GRE's, the
 * inner traffic class with CE sent as ECT(0), flow label 0, the inner hop limit after the hop)
 * and no checksum to keep. r0 is the entry.
 */
function tunnel6(a: Asm, m: FastMaps, tcp: boolean, p: string, miss: string, kind: number): void {
  const hdrs = FAST_TUN_HEADERS[kind]!;
  /** Where the IPv6 request lies once the outer headers are in front. */
  const inner = IP + 40 + hdrs.extra;
  makeRoom(a, 40 + hdrs.extra, L4_6 + 4, inner + 40 + (tcp ? 20 : 8), p, miss);
  a.ldx(1, 1, 7, inner + 7)
    .alu64Imm('sub', 1, 1)
    .stx(1, 7, inner + 7, 1);
  for (let k = 0; k < 12; k += 4) a.ldx(4, 1, 0, FV6_MACS + k).stx(4, 7, k, 1);
  a.st(2, 7, 12, 0xdd86);
  // The traffic class: the inner header's low nibble of byte 0 and high nibble of byte 1.
  a.ldx(1, 1, 7, inner).alu64Imm('and', 1, 0x0f).alu64Imm('lsh', 1, 4);
  a.ldx(1, 2, 7, inner + 1)
    .alu64Imm('rsh', 2, 4)
    .alu64Reg('or', 1, 2);
  a.movReg(2, 1).alu64Imm('and', 2, 3).jmpImm('ne', 2, 3, `${p}ds`).alu64Imm('xor', 1, 1);
  a.label(`${p}ds`);
  a.movReg(2, 1).alu64Imm('rsh', 2, 4).alu64Imm('or', 2, 0x60).stx(1, 7, IP, 2);
  a.alu64Imm('and', 1, 0x0f)
    .alu64Imm('lsh', 1, 4)
    .stx(1, 7, IP + 1, 1);
  a.st(2, 7, IP + 2, 0);
  a.ldx(2, 1, 7, inner + 4)
    .be16(1)
    .alu64Imm('add', 1, 40 + hdrs.extra)
    .be16(1)
    .stx(2, 7, IP + 4, 1);
  a.st(1, 7, IP + 6, hdrs.proto6);
  a.ldx(1, 1, 7, inner + 7).stx(1, 7, IP + 7, 1);
  for (let k = 0; k < 32; k += 4) a.ldx(4, 1, 0, FV6_ADDRS + k).stx(4, 7, IP + 8 + k, 1);
  if (kind === FAST_KIND_GRE) a.st(2, 7, L4_6, 0).st(2, 7, L4_6 + 2, GRE_IP6_LE);
  out(a, m, `${p}x_`, FV6_IFINDEX, FV6_SLOT, (r) =>
    a
      .ldx(2, r, 7, inner + 4)
      .be16(r)
      .alu64Imm('add', r, 40),
  );
}

/** Emits the fast path for an IPv6 TCP or UDP frame (r9 is 6 or 17); a miss continues at `miss`. */
export function fastPath6(a: Asm, m: FastMaps, miss: string): void {
  a.jmpImm('eq', 9, 6, 'fast6_tcp');
  one6(a, m, false, miss);
  a.label('fast6_tcp');
  one6(a, m, true, miss);
}

/** Emits the fast path for an IPv4 TCP or UDP frame (r9 is 6 or 17); a miss continues at `miss`. */
export function fastPath4(a: Asm, m: FastMaps, miss: string): void {
  a.jmpImm('eq', 9, 6, 'fast_tcp');
  one(a, m, false, miss);
  a.label('fast_tcp');
  one(a, m, true, miss);
}
