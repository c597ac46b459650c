// The C library's number parsing as ipvsadm uses it: strtol, atoi and ipvsadm's own
// string_to_number / parse_fwmark on top. Spec: docs/spec/ipvsadm.md §2.1 (integer parsing), §4.2, §4.3.
// `long` is 64-bit (x86-64 glibc), so results are BigInt until they are range-checked.

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/** isspace() in the C locale. */
export function isCSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

export function isCDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

export interface StrtolResult {
  value: bigint;
  /** Index of the first unparsed character; 0 when no digits were found. */
  end: number;
  /** errno == ERANGE: the value was clamped to LONG_MIN / LONG_MAX. */
  erange: boolean;
}

/** strtol(s, &end, 10): leading white space, optional sign, decimal digits. */
export function strtol10(s: string): StrtolResult {
  let i = 0;
  while (isCSpace(s[i])) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') {
    neg = s[i] === '-';
    i++;
  }
  const start = i;
  while (isCDigit(s[i])) i++;
  if (i === start) return { value: 0n, end: 0, erange: false };
  let v = BigInt(s.slice(start, i));
  if (neg) v = -v;
  if (v > LONG_MAX) return { value: LONG_MAX, end: i, erange: true };
  if (v < LONG_MIN) return { value: LONG_MIN, end: i, erange: true };
  return { value: v, end: i, erange: false };
}

/**
 * ipvsadm's string_to_number: the whole string must be a decimal number in [min, max];
 * returns -1 otherwise (so min must be >= 0).
 */
export function stringToNumber(s: string, min: number, max: number): number {
  const r = strtol10(s);
  if (r.end === 0 || r.end !== s.length || r.erange) return -1;
  if (r.value < BigInt(min) || r.value > BigInt(max)) return -1;
  return Number(r.value);
}

/** parse_fwmark's acceptance rule: a whole decimal number in 1..4294967295, else null. */
export function parseFwmarkValue(s: string): number | null {
  const r = strtol10(s);
  if (r.end === 0 || r.end !== s.length || r.erange) return null;
  if (r.value <= 0n || r.value > 0xffffffffn) return null;
  return Number(r.value);
}

/** atoi(s): (int) strtol(s, NULL, 10), keeping the low 32 bits as C's conversion does. */
export function atoi(s: string): number {
  return Number(BigInt.asIntN(32, strtol10(s).value));
}
