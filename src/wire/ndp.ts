// Neighbour Discovery (RFC 4861) for IPv6 over Ethernet, what ARP is to IPv4: reading
// solicitations and advertisements, and writing the director's own (a solicitation to resolve
// a next hop, an advertisement for a VIP that no interface of the director holds).

import { checksum, pseudo6, read128, write16, write128 } from './csum.js';
import { ETH_ALEN, ETH_HLEN, ETH_P_IPV6 } from './eth.js';
import { type Frame, IPPROTO_ICMPV6, IPV6_HLEN } from './frame.js';

export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
const OPT_SOURCE_LL = 1;
const OPT_TARGET_LL = 2;
const NA_SOLICITED = 0x40;
const NA_OVERRIDE = 0x20;
/** ICMPv6 header (4) + reserved/flags (4) + target (16) + one link-layer option (8). */
const ND_LEN = 32;
export const ND_FRAME_LEN = ETH_HLEN + IPV6_HLEN + ND_LEN;

/** ff02::1, all nodes. */
export const ALL_NODES = Uint32Array.of(0xff020000, 0, 0, 1);

export class NdpInfo {
  type = 0;
  readonly target = new Uint32Array(4);
  /** Offset of the link-layer address option's MAC (source for NS, target for NA), or -1. */
  llAt = -1;
  solicited = false;

  /** Reads an NS or NA; false when it is neither or breaks RFC 4861's validity rules. */
  read(f: Frame): boolean {
    const b = f.buf;
    const t = f.icmpType;
    if ((t !== ND_NEIGHBOR_SOLICIT && t !== ND_NEIGHBOR_ADVERT) || f.ttl !== 255 || f.icmpCode !== 0) return false;
    if (f.l4Len < 24 || !f.l4ChecksumOk()) return false;
    this.type = t;
    this.solicited = t === ND_NEIGHBOR_ADVERT && (b[f.l4 + 4]! & NA_SOLICITED) !== 0;
    read128(b, f.l4 + 8, this.target);
    this.llAt = -1;
    const want = t === ND_NEIGHBOR_SOLICIT ? OPT_SOURCE_LL : OPT_TARGET_LL;
    const end = f.l4 + f.l4Len;
    for (let o = f.l4 + 24; o + 2 <= end;) {
      const len = b[o + 1]! * 8;
      if (len === 0 || o + len > end) return false;
      if (b[o] === want && len >= 8) this.llAt = o + 2;
      o += len;
    }
    return true;
  }
}

/** The solicited-node multicast address of `a` (ff02::1:ffXX:XXXX). */
export function solicitedNode(a: ArrayLike<number>, out: Uint32Array): Uint32Array {
  out[0] = 0xff020000;
  out[1] = 0;
  out[2] = 1;
  out[3] = (0xff000000 | (a[3]! & 0xffffff)) >>> 0;
  return out;
}

const scratch = new Uint32Array(4);

function writeNd(
  buf: Uint8Array,
  at: number,
  dstMac: Uint8Array | null,
  srcMac: Uint8Array,
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  type: number,
  flags: number,
  target: ArrayLike<number>,
  opt: number,
): number {
  if (dstMac) buf.set(dstMac.subarray(0, ETH_ALEN), at);
  else {
    // IPv6 multicast MAC: 33:33 and the group's low 32 bits.
    buf[at] = 0x33;
    buf[at + 1] = 0x33;
    const g = dst[3]!;
    buf[at + 2] = g >>> 24;
    buf[at + 3] = (g >>> 16) & 255;
    buf[at + 4] = (g >>> 8) & 255;
    buf[at + 5] = g & 255;
  }
  buf.set(srcMac.subarray(0, ETH_ALEN), at + ETH_ALEN);
  write16(buf, at + 12, ETH_P_IPV6);
  const ip = at + ETH_HLEN;
  buf[ip] = 0x60;
  buf[ip + 1] = 0;
  buf[ip + 2] = 0;
  buf[ip + 3] = 0;
  write16(buf, ip + 4, ND_LEN);
  buf[ip + 6] = IPPROTO_ICMPV6;
  buf[ip + 7] = 255;
  write128(buf, ip + 8, src);
  write128(buf, ip + 24, dst);
  const m = ip + IPV6_HLEN;
  buf[m] = type;
  buf[m + 1] = 0;
  write16(buf, m + 2, 0);
  buf[m + 4] = flags;
  buf[m + 5] = 0;
  write16(buf, m + 6, 0);
  write128(buf, m + 8, target);
  buf[m + 24] = opt;
  buf[m + 25] = 1;
  buf.set(srcMac.subarray(0, ETH_ALEN), m + 26);
  write16(buf, m + 2, checksum(buf, m, ND_LEN, pseudo6(src, dst, IPPROTO_ICMPV6, ND_LEN)));
  return ND_FRAME_LEN;
}

/** A neighbour solicitation for `target` from `src`, to its solicited-node group. */
export function writeNs(buf: Uint8Array, at: number, srcMac: Uint8Array, src: ArrayLike<number>, target: ArrayLike<number>): number {
  return writeNd(buf, at, null, srcMac, src, solicitedNode(target, scratch), ND_NEIGHBOR_SOLICIT, 0, target, OPT_SOURCE_LL);
}

/**
 * A neighbour advertisement that `target` is at `srcMac`: solicited (to the asker, `dst` at
 * `dstMac`) or unsolicited (to all nodes, dstMac null), with the override flag.
 */
export function writeNa(
  buf: Uint8Array,
  at: number,
  srcMac: Uint8Array,
  target: ArrayLike<number>,
  dstMac: Uint8Array | null,
  dst: ArrayLike<number>,
): number {
  const flags = NA_OVERRIDE | (dstMac ? NA_SOLICITED : 0);
  return writeNd(buf, at, dstMac, srcMac, target, dst, ND_NEIGHBOR_ADVERT, flags, target, OPT_TARGET_LL);
}
