// Prometheus text exposition 0.0.4, written the way client_golang writes it (docs/spec/metrics.md
// §1.2, §2.1): families sorted by name, HELP then TYPE then samples, label values escaped,
// values in Go's shortest 'g' form so that output compares byte for byte with node_exporter's.

export type MetricType = 'counter' | 'gauge';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** One family being written: samples are appended as `name{labels} value` lines. */
export interface Family {
  name: string;
  help: string;
  type: MetricType;
  /** Sample lines, each ending in '\n', in the order the collector sorted them, as bytes. */
  buf: Buffer;
  len: number;
  samples: number;
}

/** First size of a family's buffer when no earlier scrape left one; it doubles as needed. */
const FAMILY_BUF_BYTES = 4096;
/** Room a sample value and its line feed take at most ("-1.2345678901234567e-308\n" is 25). */
const VALUE_MAX_BYTES = 32;
/** Integers below this are written digit by digit; above, doubles stop being exact (2^53). */
const EXACT_INT = 2 ** 53;

/** Makes room for n more bytes in f.buf. */
function reserve(f: Family, n: number): void {
  if (f.len + n <= f.buf.length) return;
  const b = Buffer.allocUnsafe(Math.max(f.buf.length * 2, f.len + n));
  f.buf.copy(b, 0, 0, f.len);
  f.buf = b;
}

function put(f: Family, s: string): void {
  // UTF-8 needs at most 3 bytes per UTF-16 unit.
  reserve(f, s.length * 3);
  f.len += f.buf.write(s, f.len, 'utf8');
}

/** Scratch for the digits of one integer, written backwards. */
const digits = new Uint8Array(20);

/**
 * Writes goFloat(v) and a line feed at b[at..] (room for VALUE_MAX_BYTES is the caller's),
 * returns the new end. Integers below 2^53, nearly every sample, are written without a
 * string: their shortest round-trip digits are their decimal digits less trailing zeros.
 */
export function writeValue(b: Buffer, at: number, v: number): number {
  if (!Number.isInteger(v) || v >= EXACT_INT || v <= -EXACT_INT) return at + b.write(`${goFloat(v)}\n`, at, 'latin1');
  if (v < 0) {
    b[at++] = 0x2d; // '-'
    v = -v;
  }
  let n = 0;
  do {
    const q = Math.floor(v / 10);
    digits[n++] = 0x30 + (v - q * 10);
    v = q;
  } while (v > 0);
  if (n <= 6) {
    // below 1e6: plain digits, as Go's 'g' with exponent < 6 (digits[] holds them last first)
    while (n > 0) b[at++] = digits[--n]!;
  } else {
    // d.ddde+XX: mantissa without trailing zeros, exponent n-1 (at least two digits)
    let last = 0;
    while (digits[last] === 0x30) last++;
    b[at++] = digits[n - 1]!;
    if (last < n - 1) {
      b[at++] = 0x2e; // '.'
      for (let k = n - 2; k >= last; k--) b[at++] = digits[k]!;
    }
    b[at++] = 0x65; // 'e'
    b[at++] = 0x2b; // '+'
    const exp = n - 1;
    b[at++] = 0x30 + Math.floor(exp / 10);
    b[at++] = 0x30 + (exp % 10);
  }
  b[at++] = 0x0a;
  return at;
}

/** Go strconv.FormatFloat(v, 'g', -1, 64), as client_golang writes sample values. */
export function goFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const e = v.toExponential(); // shortest round-trip digits, e.g. "2.3765872e+7"
  const at = e.indexOf('e');
  const exp = Number(e.slice(at + 1));
  if (exp < -4 || exp >= 6) {
    const mag = String(Math.abs(exp)).padStart(2, '0');
    return `${e.slice(0, at)}e${exp < 0 ? '-' : '+'}${mag}`;
  }
  return String(v); // -4 <= exp < 6: plain decimal, which String() also gives
}

/** A label value escaped for the text format: backslash, double quote, line feed. */
export function escapeLabel(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `{a="x",b="y"}` with names in the given order (callers pass them sorted), or ''. */
export function labelSet(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  let s = '{';
  for (let i = 0; i < names.length; i++) {
    if (i) s += ',';
    s += `${names[i]}="${escapeLabel(values[i]!)}"`;
  }
  return `${s}}`;
}

export const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Collects families and renders them sorted by name; a name registered twice is an error. */
export class Exposition {
  private readonly families = new Map<string, Family>();

  /**
   * `pool` keeps each family's buffer from one scrape to the next (a collector that renders
   * the same families again passes the same map), so a 13 MB exposition is not regrown each time.
   */
  constructor(private readonly pool: Map<string, Buffer> | null = null) {}

  family(name: string, type: MetricType, help: string): Family {
    if (!METRIC_NAME.test(name)) throw new Error(`metric name ${JSON.stringify(name)} is not [a-zA-Z_][a-zA-Z0-9_]*`);
    let f = this.families.get(name);
    if (f) {
      if (f.type !== type) throw new Error(`metric ${name} registered as ${f.type} and as ${type}`);
      return f;
    }
    f = { name, help, type, buf: this.pool?.get(name) ?? Buffer.allocUnsafe(FAMILY_BUF_BYTES), len: 0, samples: 0 };
    this.families.set(name, f);
    return f;
  }

  /** Appends one sample; `labels` is a rendered labelSet(). */
  sample(f: Family, labels: string, value: number): void {
    put(f, f.name);
    put(f, labels);
    put(f, ` ${goFloat(value)}\n`);
    f.samples++;
  }

  /**
   * Appends one sample whose `name{labels} ` bytes the caller keeps between scrapes: one copy
   * and the value's digits, so 100,000 samples allocate nothing.
   */
  samplePrefixed(f: Family, prefix: Uint8Array, value: number): void {
    reserve(f, prefix.length + VALUE_MAX_BYTES);
    f.buf.set(prefix, f.len);
    f.len = writeValue(f.buf, f.len + prefix.length, value);
    f.samples++;
  }

  /** The exposition as bytes, families sorted by name (a new buffer: pooled ones are reused). */
  renderBuffer(): Buffer {
    const names = [...this.families.keys()].sort();
    const parts: Buffer[] = [];
    for (const n of names) {
      const f = this.families.get(n)!;
      this.pool?.set(n, f.buf);
      if (f.samples === 0) continue;
      parts.push(Buffer.from(`# HELP ${n} ${escapeHelp(f.help)}\n# TYPE ${n} ${f.type}\n`, 'utf8'));
      parts.push(f.buf.subarray(0, f.len));
    }
    return Buffer.concat(parts);
  }

  render(): string {
    return this.renderBuffer().toString('utf8');
  }
}
