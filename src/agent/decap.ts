// Decapsulation of a TUN request on a real server, as the kernel's ipip, ip_gre and fou modules
// would do it: strip the outer layers, check the inner IPv4 packet, and accept it only when it
// is addressed to one of this real server's VIPs (otherwise the host would relay any packet a
// sender wraps, with any source address). Pure: the agent's loop (tunnel-agent.ts) does the I/O.
//
// What arrives: for ipip and gre, a raw IPv4 socket hands over the outer packet from its IPv4
// header (already reassembled by the kernel) and a raw IPv6 socket only what follows the IPv6
// header; for gue, a UDP socket hands over the UDP payload (GUE header + inner packet). The
// inner packet is IPv4 or IPv6, as the service is (4in4, 6in6, 4in6, 6in4).
//
// Segments that GRO merged on the way in (a veth or NIC with GRO coalesces consecutive ipip
// segments of one flow) arrive as one long datagram whose TCP checksum holds only the
// pseudo-header's sum: the kernel left it for a NIC to complete. The kernel's own ipip would
// hand the skb on with that state; a raw socket cannot, so the checksum is completed here. A
// complete checksum that happens to equal the pseudo-header sum (1 in 65536) is unchanged by
// completing it again.

import { fold, read16, read32, sum16 } from '../wire/csum.js';

export type TunnelKind = 'ipip' | 'gue' | 'gre';

export const DECAP_DROPS = [
  'truncated',
  'bad_outer',
  'bad_gre',
  'bad_gue',
  'bad_inner',
  'bad_inner_checksum',
  'not_for_vip',
  'send_failed',
] as const;
export type DecapDrop = (typeof DECAP_DROPS)[number];

/** Where the inner packet is, or why the datagram was dropped. */
export class DecapResult {
  off = 0;
  len = 0;
  /** The inner packet is IPv6 (its destination at buf[off + 24]); else IPv4 to `daddr`. */
  v6 = false;
  daddr = 0;
  /** The inner TCP/UDP checksum was partial (GRO merged segments) and has been completed. */
  completed = false;
  drop: DecapDrop | null = null;
}

/** The VIPs a real server accepts tunnelled packets for. */
export interface DecapVips {
  v4: ReadonlySet<number>;
  /** Four words per IPv6 VIP. */
  v6: Uint32Array;
}

const GRE_C = 0x8000;
const GRE_R = 0x4000;
const GRE_K = 0x2000;
const GRE_S = 0x1000;
const GRE_VERSION = 0x0007;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPPROTO_IPIP = 4;
const IPPROTO_IPV6 = 41;

function fail(r: DecapResult, why: DecapDrop): DecapResult {
  r.drop = why;
  return r;
}

function isVip6(list: Uint32Array, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < list.length; i += 4) {
    if (
      read32(b, at) === list[i] &&
      read32(b, at + 4) === list[i + 1] &&
      read32(b, at + 8) === list[i + 2] &&
      read32(b, at + 12) === list[i + 3]
    ) {
      return true;
    }
  }
  return false;
}

/**
 * Strips the outer layers of `buf[0, n)` received on a `kind` socket (`outer4`: it starts with
 * the outer IPv4 header, as a raw IPv4 socket delivers it; `ipipProto`: the protocol, 4 or 41,
 * an ipip socket was opened for); fills and returns `r`. The inner packet must be of the
 * family the encapsulation declares, as the kernel would parse it.
 */
export function decapsulate(
  kind: TunnelKind,
  buf: Uint8Array,
  n: number,
  outer4: boolean,
  vips: DecapVips,
  r: DecapResult,
  ipipProto = IPPROTO_IPIP,
): DecapResult {
  r.drop = null;
  r.completed = false;
  let at = 0;
  /** The inner IP version the outer layers declare (0: whatever the packet says, GUE variant 1). */
  let want = kind === 'ipip' ? (ipipProto === IPPROTO_IPV6 ? 6 : 4) : 0;
  if (kind !== 'gue' && outer4) {
    if (n < 20) return fail(r, 'truncated');
    const ihl = (buf[0]! & 0x0f) * 4;
    if (buf[0]! >>> 4 !== 4 || ihl < 20 || ihl > n) return fail(r, 'bad_outer');
    at = ihl;
  }
  if (kind === 'gre') {
    if (n - at < 4) return fail(r, 'truncated');
    const flags = read16(buf, at);
    const proto = read16(buf, at + 2);
    if ((flags & (GRE_R | GRE_VERSION)) !== 0 || (proto !== ETH_P_IP && proto !== ETH_P_IPV6)) return fail(r, 'bad_gre');
    const hl = 4 + (flags & GRE_C ? 4 : 0) + (flags & GRE_K ? 4 : 0) + (flags & GRE_S ? 4 : 0);
    if (n - at < hl) return fail(r, 'truncated');
    if (flags & GRE_C && fold(sum16(buf, at, n - at)) !== 0xffff) return fail(r, 'bad_gre');
    at += hl;
    want = proto === ETH_P_IPV6 ? 6 : 4;
  } else if (kind === 'gue') {
    if (n < 4) return fail(r, 'truncated');
    const b0 = buf[0]!;
    const version = b0 >>> 6;
    if (version === 1) {
      // GUE variant 1: the IP packet follows the UDP header directly.
      at = 0;
    } else if (version === 0 && (b0 & 0x20) === 0) {
      if (buf[1] !== IPPROTO_IPIP && buf[1] !== IPPROTO_IPV6) return fail(r, 'bad_gue');
      want = buf[1] === IPPROTO_IPV6 ? 6 : 4;
      at = 4 + (b0 & 0x1f) * 4;
      if (at > n) return fail(r, 'truncated');
    } else return fail(r, 'bad_gue');
  }
  const left = n - at;
  if (left < 1) return fail(r, 'truncated');
  const version = buf[at]! >>> 4;
  if (want !== 0 && version !== want) return fail(r, 'bad_inner');
  if (version === 6) {
    if (left < 40) return fail(r, 'truncated');
    const tot = 40 + read16(buf, at + 4);
    if (tot > left) return fail(r, 'bad_inner');
    if (!isVip6(vips.v6, buf, at + 24)) return fail(r, 'not_for_vip');
    r.v6 = true;
    r.off = at;
    r.len = tot;
    const proto = buf[at + 6]!;
    r.completed = completePartial(buf, at + 40, tot - 40, proto, sum16(buf, at + 8, 32, proto + tot - 40));
    return r;
  }
  if (left < 20) return fail(r, 'truncated');
  const ihl = (buf[at]! & 0x0f) * 4;
  const tot = read16(buf, at + 2);
  if (buf[at]! >>> 4 !== 4 || ihl < 20 || tot < ihl || tot > left) return fail(r, 'bad_inner');
  if (fold(sum16(buf, at, ihl)) !== 0xffff) return fail(r, 'bad_inner_checksum');
  const daddr = read32(buf, at + 16);
  if (!vips.v4.has(daddr)) return fail(r, 'not_for_vip');
  r.v6 = false;
  r.off = at;
  r.len = tot;
  r.daddr = daddr;
  // Only an unfragmented datagram carries its whole L4 checksum's coverage.
  if ((read16(buf, at + 6) & 0x3fff) === 0) {
    const proto = buf[at + 9]!;
    r.completed = completePartial(buf, at + ihl, tot - ihl, proto, sum16(buf, at + 12, 8, proto + tot - ihl));
  }
  return r;
}

/**
 * Completes the TCP/UDP checksum of the `l4len` bytes at `l4` when it holds only the
 * pseudo-header's sum `pseudo` (see the top); true when it did.
 */
function completePartial(buf: Uint8Array, l4: number, l4len: number, proto: number, pseudo: number): boolean {
  const at = proto === 6 ? 16 : proto === 17 ? 6 : -1;
  if (at < 0 || l4len < at + 2) return false;
  const field = read16(buf, l4 + at);
  if (field === 0 || field !== fold(pseudo)) return false;
  buf[l4 + at] = 0;
  buf[l4 + at + 1] = 0;
  let c = ~fold(sum16(buf, l4, l4len, pseudo)) & 0xffff;
  if (proto === 17 && c === 0) c = 0xffff;
  buf[l4 + at] = c >>> 8;
  buf[l4 + at + 1] = c & 0xff;
  return true;
}
