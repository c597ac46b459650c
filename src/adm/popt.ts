// A re-implementation of popt 1.19's poptGetNextOpt for ipvsadm's table (no aliases, no
// callbacks): short clusters (`-Lnc`), attached values (`-At1.1.1.1:80`, `-s=rr`), `--opt=value`,
// optional values that skip a following `-word`, `--` ending options, positionals collected
// as leftovers, and popt's "!#:+" next-argument substitution inside values. Error texts and the
// element they name (argv[next-1]) are popt's. Spec: docs/spec/ipvsadm.md §2.

import type { PoptOption } from './options.js';

export const POPT_ERROR_NOARG = -10;
export const POPT_ERROR_BADOPT = -11;
export const POPT_ERROR_UNWANTEDARG = -12;

export type PoptResult = { kind: 'opt'; opt: PoptOption; arg: string | null } | { kind: 'end' } | { kind: 'error'; code: number };

/** poptStrerror for the codes ipvsadm's table can produce. */
export function poptStrerror(code: number): string {
  if (code === POPT_ERROR_NOARG) return 'missing argument';
  if (code === POPT_ERROR_BADOPT) return 'unknown option';
  if (code === POPT_ERROR_UNWANTEDARG) return 'option does not take an argument';
  return 'unknown error';
}

export class PoptContext {
  /** Index of the next argv element to look at (argv[0] is the program name). */
  private next = 1;
  /** Rest of a short-option cluster: element and offset (offset may be at the end: ""). */
  private charArg: { s: string; i: number } | null = null;
  private restLeftover = false;
  private readonly leftovers: string[] = [];
  private nextLeftover = 0;
  /** Elements consumed by "!#:+" substitution (popt's argb bitmap). */
  private readonly deleted = new Set<number>();

  constructor(
    private readonly argv: readonly string[],
    private readonly table: readonly PoptOption[],
  ) {}

  /** The next option with its value, the end, or a popt error. */
  getNextOpt(): PoptResult {
    for (;;) {
      let opt: PoptOption | undefined;
      let longArg: string | null = null;
      if (!this.charArg) {
        if (this.next >= this.argv.length) return { kind: 'end' };
        if (this.deleted.has(this.next)) {
          this.next++;
          continue;
        }
        const orig = this.argv[this.next++]!;
        if (this.restLeftover || orig[0] !== '-' || orig.length === 1) {
          this.leftovers.push(orig);
          continue;
        }
        if (orig === '--') {
          this.restLeftover = true;
          continue;
        }
        const oneDash = orig[1] !== '-';
        const body = oneDash ? orig.slice(1) : orig.slice(2);
        if (oneDash) {
          // No ipvsadm option is a one-dash long option: treat it as a short cluster.
          this.charArg = { s: orig, i: 1 };
        } else {
          const eq = body.indexOf('=');
          const name = eq >= 0 ? body.slice(0, eq) : body;
          if (eq >= 0) longArg = body.slice(eq + 1);
          opt = this.table.find((t) => t.long === name);
          if (!opt) return { kind: 'error', code: POPT_ERROR_BADOPT };
        }
      }
      if (this.charArg) {
        const { s, i } = this.charArg;
        this.charArg = null;
        const c = s[i];
        opt = c === undefined ? undefined : this.table.find((t) => t.short === c);
        if (!opt) return { kind: 'error', code: POPT_ERROR_BADOPT };
        const j = i + 1;
        if (j < s.length) this.charArg = { s, i: j + (s[j] === '=' ? 1 : 0) };
      }
      const o = opt!;
      if (o.arg === 'none') {
        if (longArg !== null || (this.charArg && this.charArg.s[this.charArg.i] === '=')) {
          return { kind: 'error', code: POPT_ERROR_UNWANTEDARG };
        }
        return { kind: 'opt', opt: o, arg: null };
      }
      let value: string | null;
      if (longArg !== null) {
        value = this.expand(longArg);
      } else if (this.charArg) {
        const { s, i } = this.charArg;
        value = this.expand(s.slice(i + (s[i] === '=' ? 1 : 0)));
        this.charArg = null;
      } else if (this.next >= this.argv.length) {
        if (o.arg !== 'optional') return { kind: 'error', code: POPT_ERROR_NOARG };
        value = null;
      } else if (o.arg === 'optional' && this.argv[this.next]![0] === '-') {
        value = null;
      } else {
        value = this.expand(this.argv[this.next++]!);
      }
      return { kind: 'opt', opt: o, arg: value };
    }
  }

  /** poptBadOption(con, POPT_BADOPTION_NOALIAS): the argv element last looked at. */
  badOption(): string {
    return this.argv[this.next - 1] ?? '';
  }

  /** poptGetArg: the next positional argument. */
  getArg(): string | undefined {
    return this.leftovers[this.nextLeftover++];
  }

  /** expandNextArg: "!#:+" is replaced by the next non-option argument, which is consumed. */
  private expand(s: string): string {
    if (!s.includes('!#:+')) return s;
    let a: string | null = null;
    let out = '';
    for (let k = 0; k < s.length; k++) {
      if (s[k] === '!' && s.startsWith('#:+', k + 1)) {
        a ??= this.findNextArg();
        if (a !== null) {
          out += a;
          k += 3;
          continue;
        }
      }
      out += s[k];
    }
    return out;
  }

  private findNextArg(): string | null {
    for (let i = this.next; i < this.argv.length; i++) {
      if (this.deleted.has(i) || this.argv[i]![0] === '-') continue;
      this.deleted.add(i);
      return this.argv[i]!;
    }
    return null;
  }
}
