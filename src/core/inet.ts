// Addresses as the core sees them: family plus four 32-bit words in host order
// (the value ntohl() of each network-order word gives). IPv4 uses w0 only.
// Schedulers hash `fold()`, which equals the kernel's ntohl(w0 ^ w1 ^ w2 ^ w3).

import { AF_INET, AF_INET6, type Af } from './constants.js';

export class Addr {
  private constructor(
    readonly af: Af,
    readonly w0: number,
    readonly w1: number,
    readonly w2: number,
    readonly w3: number,
  ) {}

  static v4(n: number): Addr {
    return new Addr(AF_INET, n >>> 0, 0, 0, 0);
  }

  static v6(w0: number, w1: number, w2: number, w3: number): Addr {
    return new Addr(AF_INET6, w0 >>> 0, w1 >>> 0, w2 >>> 0, w3 >>> 0);
  }

  static any(af: Af): Addr {
    return af === AF_INET ? ANY4 : ANY6;
  }

  /** Strict numeric parse: dotted quad or RFC 4291 text (with embedded IPv4). Null if neither. */
  static parse(s: string): Addr | null {
    return s.includes(':') ? parse6(s) : parse4(s);
  }

  static parse4(s: string): Addr | null {
    return parse4(s);
  }

  static parse6(s: string): Addr | null {
    return parse6(s);
  }

  /** From 4 (IPv4) or 16 (IPv6) network-order bytes. */
  static fromBytes(b: Uint8Array, off = 0, af: Af = b.length - off >= 16 ? AF_INET6 : AF_INET) {
    const w = (i: number) => ((b[off + i]! << 24) | (b[off + i + 1]! << 16) | (b[off + i + 2]! << 8) | b[off + i + 3]!) >>> 0;
    return af === AF_INET ? Addr.v4(w(0)) : Addr.v6(w(0), w(4), w(8), w(12));
  }

  get isV6(): boolean {
    return this.af === AF_INET6;
  }

  /** The kernel's ntohl(fold(addr)), the input of hash_32 in dh/sh/lblc/mh. */
  fold(): number {
    return (this.w0 ^ this.w1 ^ this.w2 ^ this.w3) >>> 0;
  }

  word(i: number): number {
    return i === 0 ? this.w0 : i === 1 ? this.w1 : i === 2 ? this.w2 : this.w3;
  }

  equals(o: Addr): boolean {
    return this.af === o.af && this.w0 === o.w0 && this.w1 === o.w1 && this.w2 === o.w2 && this.w3 === o.w3;
  }

  isZero(): boolean {
    return (this.w0 | this.w1 | this.w2 | this.w3) === 0;
  }

  /** Unicast test the kernel applies to a new dest (EINVAL otherwise). */
  isUnicast(): boolean {
    if (this.af === AF_INET) {
      const a = this.w0;
      if (a >>> 24 === 0) return false; // 0.0.0.0/8
      if (a >>> 28 === 0xe) return false; // multicast
      if (a === 0xffffffff) return false; // limited broadcast
      return true;
    }
    if (this.isZero()) return false;
    if (this.w0 >>> 24 === 0xff) return false; // multicast
    if (this.w0 >>> 22 === 0x3fa) return false; // fe80::/10 link-local
    return true;
  }

  /** Address with only the first `plen` bits kept. */
  prefix(plen: number): Addr {
    const m = (bits: number) => (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (~0 << (32 - bits)) >>> 0);
    if (this.af === AF_INET) return Addr.v4(this.w0 & m(plen));
    return Addr.v6(this.w0 & m(plen), this.w1 & m(plen - 32), this.w2 & m(plen - 64), this.w3 & m(plen - 96));
  }

  /** IPv4 AND with a mask given as a host-order number (the -M netmask). */
  and4(mask: number): Addr {
    return Addr.v4(this.w0 & mask);
  }

  toBytes(): Uint8Array {
    const n = this.af === AF_INET ? 1 : 4;
    const out = new Uint8Array(n * 4);
    for (let i = 0; i < n; i++) {
      const w = this.word(i);
      out[i * 4] = w >>> 24;
      out[i * 4 + 1] = (w >>> 16) & 0xff;
      out[i * 4 + 2] = (w >>> 8) & 0xff;
      out[i * 4 + 3] = w & 0xff;
    }
    return out;
  }

  /** Map/Set key; distinct per family. */
  key(): string {
    return this.af === AF_INET ? `4:${this.w0}` : `6:${this.w0}:${this.w1}:${this.w2}:${this.w3}`;
  }

  /** inet_ntop form: dotted quad, or RFC 5952 compressed lowercase IPv6. */
  toString(): string {
    return this.af === AF_INET ? format4(this.w0) : format6(this);
  }
}

const ANY4 = Addr.v4(0);
const ANY6 = Addr.v6(0, 0, 0, 0);

/** `addr:port`, with an IPv6 address in brackets (`[2001:db8::1]:80`), as ipvsadm -n prints it. */
export function formatAddrPort(addr: Addr, port: number): string {
  return addr.isV6 ? `[${addr.toString()}]:${port}` : `${addr.toString()}:${port}`;
}

/** Dotted quad of a host-order IPv4 address. */
export function format4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

function parse4(s: string): Addr | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return Addr.v4(n);
}

function parse6(s: string): Addr | null {
  if (s.length === 0 || s.length > 45) return null;
  let words: number[] = [];
  let tail = s;
  // Embedded dotted quad in the last 32 bits.
  const lastColon = s.lastIndexOf(':');
  let v4tail: number[] | null = null;
  if (s.indexOf('.', lastColon) >= 0) {
    const a = parse4(s.slice(lastColon + 1));
    if (!a) return null;
    v4tail = [a.w0 >>> 16, a.w0 & 0xffff];
    tail = s.slice(0, lastColon + 1);
    if (tail.endsWith('::')) {
      // keep "::" intact
    } else if (tail.endsWith(':')) {
      tail = tail.slice(0, -1);
    }
  }
  const dbl = tail.indexOf('::');
  if (dbl !== tail.lastIndexOf('::')) return null;
  const groups = (t: string): number[] | null => {
    if (t === '') return [];
    const out: number[] = [];
    for (const g of t.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const want = v4tail ? 6 : 8;
  if (dbl >= 0) {
    const head = groups(tail.slice(0, dbl));
    const rest = groups(tail.slice(dbl + 2));
    if (!head || !rest) return null;
    const fill = want - head.length - rest.length;
    if (fill < 1) return null;
    words = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    const all = groups(tail);
    if (!all || all.length !== want) return null;
    words = all;
  }
  if (v4tail) words.push(...v4tail);
  const w = (i: number) => ((words[2 * i]! << 16) | words[2 * i + 1]!) >>> 0;
  return Addr.v6(w(0), w(1), w(2), w(3));
}

function format6(a: Addr): string {
  const g: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = a.word(i);
    g.push(w >>> 16, w & 0xffff);
  }
  // IPv4-mapped and IPv4-compatible forms as glibc's inet_ntop prints them.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0) {
    if (g[5] === 0xffff) return `::ffff:${format4(a.w3)}`;
    if (g[5] === 0 && g[6] !== 0) return `::${format4(a.w3)}`;
  }
  // Longest run of zero groups (length >= 2), first wins on ties.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestLen < 2) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}
