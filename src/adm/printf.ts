// The few printf conversions the listings use, and print_largenum's abbreviation rule.
// Spec: docs/spec/ipvsadm.md §7 (notation), §7.4 (large-number rule).

/** %-Ns: left-justified, never truncated. */
export function left(s: string | number, n: number): string {
  return String(s).padEnd(n);
}

/** %Ns / %Nu: right-justified, never truncated. */
export function right(s: string | number | bigint, n: number): string {
  return String(s).padStart(n);
}

/** A value as %u prints it: the low 32 bits, unsigned. */
export function u32(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(BigInt.asUintN(32, v)) : v >>> 0;
}

/** A value as %d prints it: the low 32 bits, signed. */
export function s32(v: number): number {
  return v | 0;
}

/** print_largenum: each number carries its own leading space(s). */
export function largenum(v: bigint, exact: boolean): string {
  if (exact) {
    const s = v.toString();
    return right(s, s.length <= 8 ? 9 : s.length + 1);
  }
  if (v < 100000000n) return right(v, 9);
  if (v < 1000000000n) return `${right(v / 1000n, 8)}K`;
  if (v < 100000000000n) return `${right(v / 1000000n, 8)}M`;
  if (v < 100000000000000n) return `${right(v / 1000000000n, 8)}G`;
  return `${right(v / 1000000000000n, 8)}T`;
}
