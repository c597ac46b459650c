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

/** First size of a family's buffer; it doubles as needed. */
const FAMILY_BUF_BYTES = 4096;

function put(f: Family, s: string): void {
  // UTF-8 needs at most 3 bytes per UTF-16 unit.
  if (f.len + s.length * 3 > f.buf.length) {
    const b = Buffer.allocUnsafe(Math.max(f.buf.length * 2, f.len + s.length * 3));
    f.buf.copy(b, 0, 0, f.len);
    f.buf = b;
  }
  f.len += f.buf.write(s, f.len, 'utf8');
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

  family(name: string, type: MetricType, help: string): Family {
    if (!METRIC_NAME.test(name)) throw new Error(`metric name ${JSON.stringify(name)} is not [a-zA-Z_][a-zA-Z0-9_]*`);
    let f = this.families.get(name);
    if (f) {
      if (f.type !== type) throw new Error(`metric ${name} registered as ${f.type} and as ${type}`);
      return f;
    }
    f = { name, help, type, buf: Buffer.allocUnsafe(FAMILY_BUF_BYTES), len: 0, samples: 0 };
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
   * Appends one sample whose `name{labels} ` the caller keeps between scrapes: bytes go
   * straight into the family's buffer, so 100,000 samples allocate no strings but values.
   */
  samplePrefixed(f: Family, prefix: string, value: number): void {
    put(f, prefix);
    put(f, `${goFloat(value)}\n`);
    f.samples++;
  }

  /** The exposition as bytes, families sorted by name. */
  renderBuffer(): Buffer {
    const names = [...this.families.keys()].sort();
    const parts: Buffer[] = [];
    for (const n of names) {
      const f = this.families.get(n)!;
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
