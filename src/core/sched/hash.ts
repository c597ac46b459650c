// Hash functions of the hashing schedulers. Spec: docs/spec/ipvs-kernel.md §0.4, §1.14.
// hash_32: the kernel's multiplicative hash with GOLDEN_RATIO_32. hsiphash: on 64-bit kernels
// this is SipHash-1-3 with a 64-bit state, truncated to 32 bits; computed here on pairs of
// 32-bit halves so that the per-pick path needs no BigInt.

const GOLDEN_RATIO_32 = 0x61c88647;

/** hash_32(val, bits) = (val * GOLDEN_RATIO_32) >> (32 - bits), in 32-bit arithmetic. */
export function hash32(val: number, bits: number): number {
  return Math.imul(val >>> 0, GOLDEN_RATIO_32) >>> (32 - bits);
}

/** A 64-bit hsiphash key as two 64-bit words, each given as [hi, lo] 32-bit halves. */
export interface HsipKey {
  k0hi: number;
  k0lo: number;
  k1hi: number;
  k1lo: number;
}

export function hsipKey(k0: bigint, k1: bigint): HsipKey {
  return {
    k0hi: Number((k0 >> 32n) & 0xffffffffn),
    k0lo: Number(k0 & 0xffffffffn),
    k1hi: Number((k1 >> 32n) & 0xffffffffn),
    k1lo: Number(k1 & 0xffffffffn),
  };
}

/**
 * hsiphash of the 4 bytes of `v` in little-endian order (a u32 in host order on x86/arm64).
 * With `mod` (below 2^15), returns the hash modulo `mod`: a small result is not boxed on the
 * way out, which matters on the per-pick path (V8 boxes numbers beyond 2^30).
 */
export function hsiphash32(v: number, k: HsipKey, mod = 0): number {
  // v0..v3 as hi/lo halves.
  let v0h = 0x736f6d65 ^ k.k0hi;
  let v0l = 0x70736575 ^ k.k0lo;
  let v1h = 0x646f7261 ^ k.k1hi;
  let v1l = 0x6e646f6d ^ k.k1lo;
  let v2h = 0x6c796765 ^ k.k0hi;
  let v2l = 0x6e657261 ^ k.k0lo;
  let v3h = 0x74656462 ^ k.k1hi;
  let v3l = 0x79746573 ^ k.k1lo;
  // b = (len << 56) | v, len = 4.
  const bh = 4 << 24;
  const bl = v | 0;
  v3h ^= bh;
  v3l ^= bl;
  // Initialised as int32 so that the optimiser keeps every half in a 32-bit register.
  let lo = 0;
  let th = 0;
  let tl = 0;
  // 64-bit adds on halves: the carry out of the low word is the top bit of
  // (a & b) | ((a | b) & ~sum), all in int32 arithmetic. One SipRound, then the
  // finalisation, then three more.
  for (let round = 0; round < 4; round++) {
    if (round === 1) {
      v0h ^= bh;
      v0l ^= bl;
      v2l ^= 0xff;
    }
    lo = (v0l + v1l) | 0; // v0 += v1
    v0h = (v0h + v1h + (((v0l & v1l) | ((v0l | v1l) & ~lo)) >>> 31)) | 0;
    v0l = lo;
    th = (v1h << 13) | (v1l >>> 19); // v1 = rol(v1, 13) ^ v0
    tl = (v1l << 13) | (v1h >>> 19);
    v1h = th ^ v0h;
    v1l = tl ^ v0l;
    th = v0h; // v0 = rol(v0, 32)
    v0h = v0l;
    v0l = th;
    lo = (v2l + v3l) | 0; // v2 += v3
    v2h = (v2h + v3h + (((v2l & v3l) | ((v2l | v3l) & ~lo)) >>> 31)) | 0;
    v2l = lo;
    th = (v3h << 16) | (v3l >>> 16); // v3 = rol(v3, 16) ^ v2
    tl = (v3l << 16) | (v3h >>> 16);
    v3h = th ^ v2h;
    v3l = tl ^ v2l;
    lo = (v0l + v3l) | 0; // v0 += v3
    v0h = (v0h + v3h + (((v0l & v3l) | ((v0l | v3l) & ~lo)) >>> 31)) | 0;
    v0l = lo;
    th = (v3h << 21) | (v3l >>> 11); // v3 = rol(v3, 21) ^ v0
    tl = (v3l << 21) | (v3h >>> 11);
    v3h = th ^ v0h;
    v3l = tl ^ v0l;
    lo = (v2l + v1l) | 0; // v2 += v1
    v2h = (v2h + v1h + (((v2l & v1l) | ((v2l | v1l) & ~lo)) >>> 31)) | 0;
    v2l = lo;
    th = (v1h << 17) | (v1l >>> 15); // v1 = rol(v1, 17) ^ v2
    tl = (v1l << 17) | (v1h >>> 15);
    v1h = th ^ v2h;
    v1l = tl ^ v2l;
    th = v2h; // v2 = rol(v2, 32)
    v2h = v2l;
    v2l = th;
  }
  const h = v0l ^ v1l ^ v2l ^ v3l;
  if (mod === 0) return h >>> 0;
  // h mod `mod` in two 16-bit steps, so that every intermediate stays a small integer (a
  // 32-bit unsigned h would be a double, and its remainder a floating-point one).
  return ((((h >>> 16) % mod) << 16) + (h & 0xffff)) % mod;
}

/** Greatest common divisor of non-negative integers (gcd(0, x) = x). */
export function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}
