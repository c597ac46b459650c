// The director's own endpoint (`tsvs daemon --http`) shows what `tsvs keepalived` in its
// namespace knows: the checker's verdict on each real server in /metrics (tsvs_checker_*) and
// in /api/v1/services (the dest's `health`), which the dashboard draws. A real HTTP real server
// on loopback, checked by HTTP_GET; it stops, and the director's endpoint says so.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/net.js';
import { ensureBuilt, freshRunDir, inNs, TSVS } from './harness.js';
import { httpGet } from './http-helpers.js';
import { httpRealServer, spawnKeepalived, stopKeepalived, stopServer, writeCheckedConf } from './keepalived-http-fixture.js';

/** delay_loop 0.3 + retry 1 × 0.2 + 2 × connect_timeout 0.5 = 1.5 s to DOWN, plus the director's 1 s poll; the rest is slack. */
const WITHIN_MS = 15_000;

interface Services {
  services: { dests: { address: string; port: number; health?: { up: boolean; checker: string } }[] }[];
}

describe("the director's endpoint shows tsvs keepalived's checkers", { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-ka-dir-http-'));
  const runDir = freshRunDir();
  const p: Record<string, number> = {};
  let rs: Server;
  let ka: ChildProcess | null = null;
  let kaLog = '';
  let base = '';
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, TSVS_RUN_DIR: runDir, TSVS_ENGINE: 'proxy' });

  async function until<T>(what: string, get: () => Promise<T>, pred: (v: T) => boolean): Promise<T> {
    const t0 = Date.now();
    let last: T | undefined;
    while (Date.now() - t0 < WITHIN_MS) {
      try {
        last = await get();
        if (pred(last)) return last;
      } catch {
        // not serving yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`${what}: not within ${WITHIN_MS} ms; last: ${JSON.stringify(last)}\nkeepalived log:\n${kaLog}`);
  }
  const metrics = async () => (await httpGet(`${base}metrics`)).body;
  const services = async () => JSON.parse((await httpGet(`${base}api/v1/services`)).body) as Services;

  before(async () => {
    ensureBuilt();
    for (const k of ['vip', 'rs', 'http']) p[k] = await freePort();
    base = `http://127.0.0.1:${p.http}/`;
    rs = await httpRealServer(p.rs!);
    const d = await inNs(null, [process.execPath, TSVS, 'daemon', '--detach', '--engine', 'proxy', '--http', `127.0.0.1:${p.http}`], {
      env: env(),
    });
    assert.equal(d.code, 0, d.stderr);
    const file = writeCheckedConf(dir, p.vip!, p.rs!, '    inhibit_on_failure\n');
    ka = spawnKeepalived(dir, file, ['-C'], env(), (t) => (kaLog += t));
  });

  after(async () => {
    await stopKeepalived(ka);
    await inNs(null, [TSVS, 'daemon', 'stop'], { env: env() });
    await stopServer(rs);
    rmSync(dir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  it('a live real server: checker up in /metrics and in the dest of /api/v1/services', async () => {
    const ls = `{checker="HTTP_GET",dest="127.0.0.2:${p.rs}",service="-t 127.0.0.1:${p.vip}"}`;
    await until('tsvs_checker_up 1 on the director', metrics, (b) => b.includes(`\ntsvs_checker_up${ls} 1\n`));
    const s = await until('health in /api/v1/services', services, (j) => j.services[0]?.dests[0]?.health !== undefined);
    assert.equal(s.services[0]!.dests[0]!.health!.up, true);
    assert.equal(s.services[0]!.dests[0]!.health!.checker, 'HTTP_GET');
  });

  it('the real server stops: the director shows it down (inhibited at weight 0, health down)', async () => {
    await stopServer(rs);
    const ls = `{checker="HTTP_GET",dest="127.0.0.2:${p.rs}",service="-t 127.0.0.1:${p.vip}"}`;
    await until('tsvs_checker_up 0 on the director', metrics, (b) => b.includes(`\ntsvs_checker_up${ls} 0\n`));
    const s = await until('health down in /api/v1/services', services, (j) => j.services[0]?.dests[0]?.health?.up === false);
    assert.equal(s.services[0]!.dests[0]!.health!.checker, 'HTTP_GET');
  });
});
