// Internet checksums (RFC 1071) and their incremental update (RFC 1624), over byte arrays in
// network order. Sums are kept unfolded in a JS number (no overflow below 2^53) and folded once.
//
// A frame handed over with a *partial* checksum (virtio NEEDS_CSUM: veth from a local sender)
// carries in its L4 checksum field only the folded, non-inverted sum of the pseudo-header; the
// rest is summed later by whoever transmits it. Rewriting an address then adds the delta without
// the inversions, and rewriting a port needs no update at all (ports are summed later).

/** One's-complement sum of `len` bytes at `off`, added to `acc` (unfolded). */
export function sum16(buf: Uint8Array, off: number, len: number, acc = 0): number {
  let s = acc;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (len & 1) s += buf[end]! << 8;
  return s;
}

export function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

export function read16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

export function write16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >>> 8) & 0xff;
  buf[at + 1] = v & 0xff;
}

export function read32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

export function write32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}

/** The finished checksum of a region (what goes into the field when the field was zero). */
export function checksum(buf: Uint8Array, off: number, len: number, acc = 0): number {
  return ~fold(sum16(buf, off, len, acc)) & 0xffff;
}

/** Sum of the IPv4 pseudo-header (addresses, protocol, L4 length). */
export function pseudo4(saddr: number, daddr: number, proto: number, l4len: number): number {
  return (saddr >>> 16) + (saddr & 0xffff) + (daddr >>> 16) + (daddr & 0xffff) + proto + l4len;
}

/** Sum of the IPv6 pseudo-header (RFC 8200 §8.1): addresses as four words each, length, protocol. */
export function pseudo6(s: ArrayLike<number>, d: ArrayLike<number>, proto: number, l4len: number): number {
  let acc = proto + (l4len >>> 16) + (l4len & 0xffff);
  for (let k = 0; k < 4; k++) acc += (s[k]! >>> 16) + (s[k]! & 0xffff) + (d[k]! >>> 16) + (d[k]! & 0xffff);
  return acc;
}

/** Reads a 16-byte address at `at` into four host-order words. */
export function read128(buf: Uint8Array, at: number, out: Uint32Array): void {
  for (let k = 0; k < 4; k++) out[k] = read32(buf, at + 4 * k);
}

/** Writes four words as a 16-byte address at `at`. */
export function write128(buf: Uint8Array, at: number, w: ArrayLike<number>): void {
  for (let k = 0; k < 4; k++) write32(buf, at + 4 * k, w[k]!);
}

/**
 * Replaces a 32-bit value covered by the checksum at `at`. `partial`: the field holds a
 * pseudo-header sum, not a finished checksum.
 */
export function csumReplace32(buf: Uint8Array, at: number, from: number, to: number, partial: boolean): void {
  const c = read16(buf, at);
  const base = partial ? c : ~c & 0xffff;
  const s = fold(base + ((~from >>> 16) & 0xffff) + (~from & 0xffff) + (to >>> 16) + (to & 0xffff));
  write16(buf, at, partial ? s : ~s & 0xffff);
}

/** Replaces a 16-bit value covered by a finished checksum at `at`. */
export function csumReplace16(buf: Uint8Array, at: number, from: number, to: number): void {
  const c = read16(buf, at);
  const s = fold((~c & 0xffff) + (~from & 0xffff) + (to & 0xffff));
  write16(buf, at, ~s & 0xffff);
}
