// The fuzzers' seeded generator and the helpers every target shares, so that a failure replays
// from its seed and case number.

/** mulberry32: small, fast, deterministic. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  /** 0..n-1 */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** A value near the edges of a field of `bits` bits, or anywhere in it. */
  edge(bits: number): number {
    const max = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
    switch (this.int(6)) {
      case 0:
        return 0;
      case 1:
        return max;
      case 2:
        return 1;
      case 3:
        return max - this.int(3);
      case 4:
        return this.int(16);
      default:
        return bits >= 32 ? this.int(0x100000000) >>> 0 : this.int(max + 1);
    }
  }
}

/** A failure that names how to replay it. */
export class FuzzFailure extends Error {
  constructor(target: string, seed: number, index: number, what: string, input: Uint8Array | string) {
    const shown = typeof input === 'string' ? JSON.stringify(input) : Buffer.from(input).toString('hex');
    super(
      `fuzz ${target}: case ${index} (seed ${seed}; replay: npm run fuzz -- ${target} ${index + 1} ${seed}): ${what}\n  input: ${shown}`,
    );
  }
}

/** Mutates bytes in place or returns a new, shorter or longer array: flips, cuts, extensions. */
export function mutateBytes(r: Rng, b: Uint8Array, from = 0): Uint8Array {
  let out = b;
  const m = r.int(6);
  if (m <= 1) {
    for (let i = 0, n = 1 + r.int(4); i < n && out.length > from; i++) out[from + r.int(out.length - from)] = r.int(256);
  } else if (m === 2) {
    out = out.slice(0, r.int(out.length + 1));
  } else if (m === 3) {
    const e = new Uint8Array(out.length + 1 + r.int(40));
    e.set(out);
    for (let i = out.length; i < e.length; i++) e[i] = r.int(256);
    out = e;
  } else if (m === 4 && out.length > from) {
    out[from + r.int(out.length - from)]! ^= 1 << r.int(8);
  }
  return out;
}
