// Helpers shared by the schedulers: exact weighted comparisons and the wlc pick that
// lblc/lblcr fall back to. Spec: docs/spec/ipvs-kernel.md §0.2, §1.4.

import type { Dest } from '../dest.js';

const SAFE = Number.MAX_SAFE_INTEGER;

/** a*b > c*d for non-negative integers, exact like the kernel's s64 products. */
export function mulGt(a: number, b: number, c: number, d: number): boolean {
  const l = a * b;
  const r = c * d;
  if (l <= SAFE && r <= SAFE) return l > r;
  return BigInt(a) * BigInt(b) > BigInt(c) * BigInt(d);
}

/** a*b < c*d, exact. */
export function mulLt(a: number, b: number, c: number, d: number): boolean {
  return mulGt(c, d, a, b);
}

/**
 * Weighted least connection over `dests` in list order (ip_vs_wlc_schedule): the first dest
 * that is not overloaded and has weight > 0 starts; a later non-overloaded dest replaces it when
 * loh * w_dest > doh * w_least. Ties keep the earlier dest.
 */
export function wlcPick(dests: readonly Dest[]): Dest | null {
  let least: Dest | null = null;
  let loh = 0;
  let k = 0;
  for (; k < dests.length; k++) {
    const d = dests[k]!;
    if (!d.overloaded && d.weight > 0) {
      least = d;
      loh = d.overhead();
      break;
    }
  }
  if (!least) return null;
  for (k++; k < dests.length; k++) {
    const d = dests[k]!;
    if (d.overloaded) continue;
    const doh = d.overhead();
    if (mulGt(loh, d.weight, doh, least.weight)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** A scheduler with no per-dest state: the hooks do nothing. */
export const stateless = {
  addDest(): void {},
  delDest(): void {},
  updDest(): void {},
};
