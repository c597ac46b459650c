// Software segmentation and checksum completion. A veth (or a NIC with GRO) hands the packet
// socket super-packets of up to 64 KiB described by the virtio_net_hdr (gso_type, gso_size),
// and locally sent frames with a partial L4 checksum. NAT and DR forward them as they are and
// let the sending device finish the work; an encapsulation cannot (virtio has no GSO type for
// a tunnel, and the real server's user-space decapsulation sees the bytes as sent), so the
// tunnel path cuts a super-packet into wire-sized segments here, each with full checksums, as
// the kernel's skb_gso_segment does: TCP sequence numbers advance, FIN and PSH stay on the last
// segment, CWR on the first; IP IDs increase by one per segment.

import { checksum, pseudo4, pseudo6, read16, read32, write16, write32 } from '../wire/csum.js';
import { type Frame, IPPROTO_TCP, IPPROTO_UDP, IPV6_HLEN } from '../wire/frame.js';

/** virtio_net_hdr gso_type values (the ECN bit masked off). */
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_UDP_L4 = 5;
export const VNET_GSO_TCPV6 = 4;
const VNET_GSO_ECN = 0x80;

const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/** The frame's GSO type (VNET_GSO_*), or NONE without a virtio header. */
export function gsoType(f: Frame): number {
  return f.vnet >= 0 ? f.buf[f.vnet + 1]! & ~VNET_GSO_ECN : VNET_GSO_NONE;
}

/** The payload bytes per segment of a GSO frame (virtio gso_size, little-endian). */
export function gsoSize(f: Frame): number {
  return f.vnet >= 0 ? f.buf[f.vnet + 4]! | (f.buf[f.vnet + 5]! << 8) : 0;
}

/** Length of the headers repeated in every segment (IP + TCP or UDP header). */
export function gsoHeaderLen(f: Frame): number {
  return f.ihl + (f.proto === IPPROTO_TCP ? (f.buf[f.l4 + 12]! >>> 4) * 4 : 8);
}

/** How many segments a GSO frame makes; 0 when it cannot be segmented (unknown type). */
export function gsoSegments(f: Frame): number {
  const t = gsoType(f);
  const size = gsoSize(f);
  if (size === 0) return 0;
  const tcp = (t === VNET_GSO_TCPV4 && !f.v6) || (t === VNET_GSO_TCPV6 && f.v6);
  if (!(tcp && f.proto === IPPROTO_TCP) && !(t === VNET_GSO_UDP_L4 && f.proto === IPPROTO_UDP)) {
    return 0;
  }
  return segmentCount(f.totLen - gsoHeaderLen(f), size);
}

/**
 * Writes segment `k` of the GSO frame `f` as a complete IPv4 packet at `dst[at]`, every checksum
 * filled in; returns its length. `f` is not modified.
 */
export function writeSegment(f: Frame, k: number, dst: Uint8Array, at: number): number {
  const b = f.buf;
  const size = gsoSize(f);
  const hlen = gsoHeaderLen(f);
  const payload = f.totLen - hlen;
  const from = k * size;
  const chunk = Math.min(size, payload - from);
  const n = segmentCount(payload, size);
  const len = hlen + chunk;
  dst.set(b.subarray(f.l3, f.l3 + hlen), at);
  dst.set(b.subarray(f.l3 + hlen + from, f.l3 + hlen + from + chunk), at + hlen);
  if (f.v6) write16(dst, at + 4, len - IPV6_HLEN);
  else {
    write16(dst, at + 2, len);
    write16(dst, at + 4, (read16(b, f.l3 + 4) + k) & 0xffff);
    write16(dst, at + 10, 0);
    write16(dst, at + 10, checksum(dst, at, f.ihl));
  }
  const l4 = at + f.ihl;
  const l4len = len - f.ihl;
  if (f.proto === IPPROTO_TCP) {
    write32(dst, l4 + 4, (read32(b, f.l4 + 4) + from) >>> 0);
    let flags = b[f.l4 + 13]!;
    if (k < n - 1) flags &= ~(TCP_FIN | TCP_PSH);
    if (k > 0) flags &= ~TCP_CWR;
    dst[l4 + 13] = flags;
    write16(dst, l4 + 16, 0);
    write16(dst, l4 + 16, checksum(dst, l4, l4len, pseudo(f, IPPROTO_TCP, l4len)));
  } else {
    write16(dst, l4 + 4, l4len);
    write16(dst, l4 + 6, 0);
    const c = checksum(dst, l4, l4len, pseudo(f, IPPROTO_UDP, l4len));
    write16(dst, l4 + 6, c === 0 ? 0xffff : c);
  }
  return len;
}

/** The pseudo-header sum of `f`'s addresses (either family). */
export function pseudo(f: Frame, proto: number, len: number): number {
  return f.v6 ? pseudo6(f.saddr6, f.daddr6, proto, len) : pseudo4(f.saddr, f.daddr, proto, len);
}

function segmentCount(payload: number, size: number): number {
  return payload <= 0 ? 1 : Math.ceil(payload / size);
}

/**
 * Fills in a partial (virtio NEEDS_CSUM) TCP/UDP checksum in place: the field holds the
 * pseudo-header sum, so summing the whole segment over it gives the checksum.
 */
export function completeChecksum(f: Frame): void {
  if (!f.partial || f.csumAt < 0) return;
  const b = f.buf;
  const len = f.proto === IPPROTO_UDP ? read16(b, f.l4 + 4) : f.l4Len;
  const c = checksum(b, f.l4, len);
  write16(b, f.csumAt, f.proto === IPPROTO_UDP && c === 0 ? 0xffff : c);
  f.partial = false;
}
