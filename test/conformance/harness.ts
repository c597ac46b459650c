// Runs conformance cases in-process: a fresh Ipvs per case, the fixed resolver of env.ts,
// `given` commands, the fixture, the command, then the optional `-S -n` check.

import type { AdmBackend } from '../../src/adm/backend.js';
import { staticResolver } from '../../src/adm/resolve.js';
import { type AdmResult, runAdm } from '../../src/adm/run.js';
import { Ipvs } from '../../src/core/ipvs.js';
import { TABLES } from './cases/env.js';
import { FIXTURES } from './cases/fixtures.js';
import type { AdmCase } from './cases/types.js';

export const RESOLVER = staticResolver(TABLES);

export interface CaseRun {
  result: AdmResult;
  saved?: string;
  afterStdout?: string;
  givenFailures: string[];
}

export async function runCase(c: AdmCase): Promise<CaseRun> {
  const ipvs = new Ipvs({ capacity: 64 });
  let backend: AdmBackend = ipvs;
  let now = 0;
  const givenFailures: string[] = [];
  for (const g of c.given ?? []) {
    const r = await runAdm(g, 'ipvsadm', { ipvs, now, resolver: RESOLVER, stdin: '' });
    if (r.code !== 0 || r.stderr !== '') givenFailures.push(`${g.join(' ')} → ${r.code} ${r.stderr}`);
  }
  if (c.fixture) {
    const fx = FIXTURES[c.fixture];
    if (!fx) throw new Error(`no fixture ${c.fixture}`);
    const f = fx(ipvs);
    if (f?.now !== undefined) now = f.now;
    const rows = f?.conns;
    if (rows) backend = { rules: ipvs.rules, forEachConn: (_now, cb) => rows.forEach(cb) };
  }
  const ctx = { ipvs: backend, now, resolver: RESOLVER, stdin: c.stdin ?? '' };
  const result = await runAdm(c.argv, c.argv0 ?? 'ipvsadm', ctx);
  const run: CaseRun = { result, givenFailures };
  if (c.after) run.afterStdout = (await runAdm(c.after.argv, 'ipvsadm', ctx)).stdout;
  if (c.saved !== undefined) run.saved = (await runAdm(['-S', '-n'], 'ipvsadm', ctx)).stdout;
  return run;
}
