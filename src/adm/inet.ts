// glibc's address parsers as ipvsadm meets them: inet_aton (BSD rules: 1..4 parts, octal and
// hex parts, trailing white space ends the address), inet_pton for AF_INET (strict dotted quad)
// and AF_INET6. Spec: docs/spec/ipvsadm.md §4.1, §4.3 (-M), §4.9 (--mcast-group).

import { Addr } from '../core/inet.js';
import { isCDigit, isCSpace } from './cnum.js';

/** Largest value of the last part, by the number of parts before it (a, a.b, a.b.c, a.b.c.d). */
const LAST_PART_MAX = [0xffffffff, 0xffffff, 0xffff, 0xff];

function hexValue(c: string | undefined): number {
  if (c === undefined) return -1;
  const n = c.charCodeAt(0);
  if (n >= 48 && n <= 57) return n - 48;
  if (n >= 97 && n <= 102) return n - 87;
  if (n >= 65 && n <= 70) return n - 55;
  return -1;
}

/** strtoul(s + i, &end, 0) for a part that starts with a digit; value capped above 2^32. */
function strtoul0(s: string, i: number): { value: number; end: number } {
  let base = 10;
  if (s[i] === '0') {
    if ((s[i + 1] === 'x' || s[i + 1] === 'X') && hexValue(s[i + 2]) >= 0) {
      base = 16;
      i += 2;
    } else base = 8;
  }
  let v = 0;
  for (;;) {
    const d = hexValue(s[i]);
    if (d < 0 || d >= base) break;
    // Anything above 32 bits fails later; keep the number finite and above the limit.
    v = v > 0xffffffff ? v : v * base + d;
    i++;
  }
  return { value: v, end: i };
}

/** inet_aton: the address as a host-order 32-bit number, or null. */
export function inetAton(s: string): number | null {
  const parts: number[] = [];
  let i = 0;
  let val = 0;
  for (;;) {
    if (!isCDigit(s[i])) return null;
    const r = strtoul0(s, i);
    if (r.value > 0xffffffff) return null;
    val = r.value;
    i = r.end;
    if (s[i] === '.') {
      if (parts.length > 2 || val > 0xff) return null;
      parts.push(val);
      i++;
    } else break;
  }
  const c = s[i];
  if (c !== undefined && !isCSpace(c)) return null;
  if (val > LAST_PART_MAX[parts.length]!) return null;
  let word = 0;
  for (let k = 0; k < parts.length; k++) word += parts[k]! * 2 ** (24 - 8 * k);
  return (word + val) >>> 0;
}

/** inet_pton(AF_INET): exactly four decimal octets, no leading zeros; host-order or null. */
export function inetPton4(s: string, from = 0, to = s.length): number | null {
  let octets = 0;
  let sawDigit = false;
  let cur = 0;
  let word = 0;
  for (let i = from; i < to; i++) {
    const c = s[i]!;
    if (c >= '0' && c <= '9') {
      if (sawDigit && cur === 0) return null;
      cur = cur * 10 + (c.charCodeAt(0) - 48);
      if (cur > 255) return null;
      if (!sawDigit) {
        if (++octets > 4) return null;
        sawDigit = true;
      }
    } else if (c === '.' && sawDigit) {
      if (octets === 4) return null;
      word = word * 256 + cur;
      cur = 0;
      sawDigit = false;
    } else return null;
  }
  if (octets < 4 || !sawDigit) return null;
  return (word * 256 + cur) >>> 0;
}

/** inet_pton(AF_INET6), glibc's rules (one "::", up to 4 hex digits, trailing dotted quad). */
export function inetPton6(s: string): Addr | null {
  const bytes = new Uint8Array(16);
  let tp = 0;
  let colonp = -1;
  let i = 0;
  const end = s.length;
  if (end === 0) return null;
  if (s[0] === ':') {
    i++;
    if (i === end || s[i] !== ':') return null;
  }
  let curtok = i;
  let seen = 0;
  let val = 0;
  while (i < end) {
    const ch = s[i++]!;
    const d = hexValue(ch);
    if (d >= 0) {
      if (seen === 4) return null;
      val = (val << 4) | d;
      seen++;
      continue;
    }
    if (ch === ':') {
      curtok = i;
      if (seen === 0) {
        if (colonp >= 0) return null;
        colonp = tp;
        continue;
      }
      if (i === end) return null;
      if (tp + 2 > 16) return null;
      bytes[tp++] = val >> 8;
      bytes[tp++] = val & 0xff;
      seen = 0;
      val = 0;
      continue;
    }
    if (ch === '.' && tp + 4 <= 16) {
      const v4 = inetPton4(s, curtok, end);
      if (v4 === null) return null;
      bytes[tp++] = v4 >>> 24;
      bytes[tp++] = (v4 >>> 16) & 0xff;
      bytes[tp++] = (v4 >>> 8) & 0xff;
      bytes[tp++] = v4 & 0xff;
      seen = 0;
      break;
    }
    return null;
  }
  if (seen > 0) {
    if (tp + 2 > 16) return null;
    bytes[tp++] = val >> 8;
    bytes[tp++] = val & 0xff;
  }
  if (colonp >= 0) {
    if (tp === 16) return null;
    const n = tp - colonp;
    bytes.copyWithin(16 - n, colonp, tp);
    bytes.fill(0, colonp, 16 - n);
    tp = 16;
  }
  if (tp !== 16) return null;
  return Addr.fromBytes(bytes, 0);
}

/** IN6_IS_ADDR_MULTICAST. */
export function isV6Multicast(a: Addr): boolean {
  return a.w0 >>> 24 === 0xff;
}

/** IN_MULTICAST on a host-order IPv4 address. */
export function isV4Multicast(n: number): boolean {
  return n >>> 28 === 0xe;
}
