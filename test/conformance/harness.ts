// One harness for the conformance tables (cases/*.ts, one schema: AdmCase), with two runners:
// in-process (a fresh Ipvs per case, the fixed resolver of env.ts, fixtures applied through the
// core) and, in test/integration/conformance-netns.test.ts, the real client binary against a
// real daemon in a namespace. A runner says which needs it meets; the harness runs `given`,
// the command, then `after` and the `-S -n` check, and compares byte for byte.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { AdmBackend } from '../../src/adm/backend.js';
import { staticResolver } from '../../src/adm/resolve.js';
import { type AdmResult, runAdm } from '../../src/adm/run.js';
import { Ipvs } from '../../src/core/ipvs.js';
import { TABLES } from './cases/env.js';
import { FIXTURES } from './cases/fixtures.js';
import type { AdmCase, Need } from './cases/types.js';

export const RESOLVER = staticResolver(TABLES);

/** Where a case's commands run. */
export interface AdmRunner {
  /** Starts a case: an empty director, default timeouts, no daemons. */
  reset(): Promise<void>;
  /** One invocation; `argv0` is the program name (default 'ipvsadm'). */
  run(argv: readonly string[], stdin?: string, argv0?: string): Promise<AdmResult>;
  /** The needs (types.ts) this runner can meet; cases with others are not run by it. */
  readonly meets: readonly Need[];
  /** Program names it can invoke besides 'ipvsadm'. */
  readonly argv0s?: readonly string[];
  /** Applies a fixture of fixtures.ts (a runner that meets 'fixture'). */
  fixture?(name: string): void;
}

export interface CaseRun {
  result: AdmResult;
  saved?: string;
  afterStdout?: string;
  givenFailures: string[];
}

/** Whether `runner` can run `c`. */
export function runs(runner: AdmRunner, c: AdmCase): boolean {
  const argv0 = c.argv0 ?? 'ipvsadm';
  if (argv0 !== 'ipvsadm' && !runner.argv0s?.includes(argv0)) return false;
  if (c.fixture && !runner.meets.includes('fixture')) return false;
  return (c.needs ?? []).every((n) => runner.meets.includes(n));
}

export async function runCase(runner: AdmRunner, c: AdmCase): Promise<CaseRun> {
  await runner.reset();
  const givenFailures: string[] = [];
  for (const g of c.given ?? []) {
    const r = await runner.run(g);
    if (r.code !== 0 || r.stderr !== '') givenFailures.push(`${g.join(' ')} → ${r.code} ${r.stderr}`);
  }
  if (c.fixture) runner.fixture!(c.fixture);
  const result = await runner.run(c.argv, c.stdin ?? '', c.argv0);
  const run: CaseRun = { result, givenFailures };
  if (c.after) run.afterStdout = (await runner.run(c.after.argv)).stdout;
  if (c.saved !== undefined) run.saved = (await runner.run(['-S', '-n'])).stdout;
  return run;
}

/** Registers one test per case `runner` can run (inside the caller's describe()). */
export function conformanceTests(runner: AdmRunner, cases: readonly AdmCase[]): void {
  for (const c of cases.filter((x) => runs(runner, x))) {
    it(`${c.spec} ${c.description}: ${c.argv0 ?? 'ipvsadm'} ${c.argv.join(' ')}`, async () => {
      const r = await runCase(runner, c);
      assert.deepEqual(r.givenFailures, [], 'given commands must succeed');
      assert.equal(r.result.stdout, c.stdout, 'stdout');
      assert.equal(r.result.stderr, c.stderr, 'stderr');
      assert.equal(r.result.code, c.code, 'exit status');
      if (c.after) assert.equal(r.afterStdout, c.after.stdout, `then ${c.after.argv.join(' ')}`);
      if (c.saved !== undefined) assert.equal(r.saved, c.saved, '-S -n afterwards');
    });
  }
}

/** The in-process runner: runAdm on a fresh Ipvs, names from env.ts, fixtures through the core. */
export class InProcessRunner implements AdmRunner {
  readonly meets: readonly Need[] = ['names', 'netdev', 'fixture', 'crash'];
  readonly argv0s = ['ipvsadm', 'tsvsadm'];
  private ipvs = new Ipvs({ capacity: 64 });
  private backend: AdmBackend = this.ipvs;
  private now = 0;

  async reset(): Promise<void> {
    this.ipvs = new Ipvs({ capacity: 64 });
    this.backend = this.ipvs;
    this.now = 0;
  }

  run(argv: readonly string[], stdin = '', argv0 = 'ipvsadm'): Promise<AdmResult> {
    return runAdm(argv, argv0, { ipvs: this.backend, now: this.now, resolver: RESOLVER, stdin });
  }

  fixture(name: string): void {
    const fx = FIXTURES[name];
    if (!fx) throw new Error(`no fixture ${name} in fixtures.ts`);
    const f = fx(this.ipvs);
    if (f?.now !== undefined) this.now = f.now;
    const rows = f?.conns;
    const ipvs = this.ipvs;
    if (rows) this.backend = { rules: ipvs.rules, forEachConn: (_now, cb) => rows.forEach(cb) };
  }
}
