// `tsvs keepalived --http` (here through TSVS_HTTP) on loopback with a real keepalived.conf, a
// real HTTP real server that HTTP_GET checks and a proxy-engine director it drives: the
// process's /metrics carries tsvs_checker_* for that server and promtool finds nothing in it;
// when the server stops, tsvs_checker_up goes to 0 and tsvs_checker_failures_total counts
// the failed checks; /api/v1/status is the status `tsvs status` shows; the director started
// by keepalived did not inherit TSVS_HTTP; nothing but GET and HEAD is answered.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from '../../src/cli/client.js';
import { netnsId, socketPath } from '../../src/control/paths.js';
import type { KeepalivedStatus } from '../../src/ha/status.js';
import { freePort } from '../helpers/net.js';
import { ensureBuilt, freshRunDir, inNs, TSVS } from './harness.js';
import { httpGet, requireTool } from './http-helpers.js';
import { httpRealServer, spawnKeepalived, stopKeepalived, stopServer, writeCheckedConf } from './keepalived-http-fixture.js';

const skip = requireTool('promtool', 'prometheus');
/** delay_loop 0.3 + retry 1 × 0.2 + 2 × connect_timeout 0.5 = 1.5 s to DOWN; the rest is slack for a loaded machine. */
const DOWN_WITHIN_MS = 10_000;

function promtool(text: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = execFile('promtool', ['check', 'metrics'], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
    p.stdin!.end(text);
  });
}

describe('tsvs keepalived --http', { skip, timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-ka-http-'));
  const runDir = freshRunDir();
  const sock = socketPath(runDir, netnsId());
  const p: Record<string, number> = {};
  let rs: Server;
  let ka: ChildProcess | null = null;
  let kaLog = '';
  let base = '';
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, TSVS_RUN_DIR: runDir, TSVS_ENGINE: 'proxy', TSVS_HTTP: `127.0.0.1:${p.http}` });

  /** Scrapes until `pred` holds on the body; fails with the last body and keepalived's log. */
  async function scrapeUntil(what: string, pred: (body: string) => boolean, limitMs: number): Promise<string> {
    const t0 = Date.now();
    let last = '';
    while (Date.now() - t0 < limitMs) {
      try {
        const r = await httpGet(`${base}metrics`);
        last = r.body;
        if (r.status === 200 && pred(last)) return last;
      } catch {
        // not serving yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`${what}: not within ${limitMs} ms; last scrape:\n${last}\nkeepalived log:\n${kaLog}`);
  }

  before(async () => {
    ensureBuilt();
    for (const k of ['vip', 'rs', 'http']) p[k] = await freePort();
    base = `http://127.0.0.1:${p.http}/`;
    rs = await httpRealServer(p.rs!);
    const file = writeCheckedConf(dir, p.vip!, p.rs!);
    ka = spawnKeepalived(dir, file, [], env(), (t) => (kaLog += t));
  });

  after(async () => {
    await stopKeepalived(ka);
    await inNs(null, [TSVS, 'daemon', 'stop'], { env: { ...env(), TSVS_HTTP: '' } });
    await stopServer(rs);
    rmSync(dir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  it('serves the checker of a live real server, and promtool finds nothing in it', async () => {
    // The checker's first success and the end of the configuration's apply (the director it
    // starts, the services it adds) are two events in either order: wait for both.
    const body = await scrapeUntil(
      'checker up and configuration applied',
      (b) =>
        /\ntsvs_checker_up\{checker="HTTP_GET",dest="127\.0\.0\.2:\d+",service="-t 127\.0\.0\.1:\d+"\} 1\n/.test(b) &&
        /\ntsvs_keepalived_ready 1\n/.test(b),
      15_000,
    );
    const ls = `{checker="HTTP_GET",dest="127.0.0.2:${p.rs}",service="-t 127.0.0.1:${p.vip}"}`;
    assert.ok(body.includes(`\ntsvs_checker_up${ls} 1\n`), body);
    assert.ok(body.includes(`\ntsvs_checker_failures_total${ls} 0\n`), body);
    assert.match(body, /\ntsvs_keepalived_ready 1\n/);
    assert.match(body, /\nprocess_resident_memory_bytes \d/);
    // The director's families are the director's endpoint's, not repeated here.
    assert.doesNotMatch(body, /node_ipvs_|tsvs_backend_/);
    const check = await promtool(body);
    assert.equal(check.out, '', `promtool check metrics:\n${check.out}`);
    assert.equal(check.code, 0);
  });

  it('shows a dead real server in tsvs_checker_up and tsvs_checker_failures_total', async () => {
    await stopServer(rs);
    const ls = `{checker="HTTP_GET",dest="127.0.0.2:${p.rs}",service="-t 127.0.0.1:${p.vip}"}`;
    const body = await scrapeUntil('checker down', (b) => b.includes(`\ntsvs_checker_up${ls} 0\n`), DOWN_WITHIN_MS);
    const failures = Number(new RegExp(`\\ntsvs_checker_failures_total${ls.replace(/[{}.()]/g, '\\$&')} (\\d+)\\n`).exec(body)?.[1]);
    // retry 1: the down verdict comes on the second failed check
    assert.ok(failures >= 2, `failures ${failures}\n${body}`);
    const check = await promtool(body);
    assert.equal(check.out, '', `promtool check metrics:\n${check.out}`);
  });

  it('serves its status as JSON, read-only, and the director did not take TSVS_HTTP', async () => {
    const r = await httpGet(`${base}api/v1/status`);
    assert.equal(r.status, 200);
    const st = JSON.parse(r.body) as KeepalivedStatus;
    assert.equal(st.ready, true);
    assert.equal(st.http, base);
    assert.equal(st.virtualServers[0]?.realServers[0]?.checkers[0]?.kind, 'HTTP_GET');
    assert.ok((st.virtualServers[0]?.realServers[0]?.checkers[0]?.failures ?? 0) >= 2);
    const viaSocket = await request<KeepalivedStatus>(sock.replace(/\.sock$/, '.keepalived.sock'), { op: 'status' }, 5000);
    assert.equal(viaSocket.http, base);
    assert.equal((await httpGet(`${base}metrics`, 5000, 'POST')).status, 405);
    assert.equal((await httpGet(`${base}nope`)).status, 404);
    const director = await request<{ http?: string; engine: string }>(sock, { op: 'status' }, 5000);
    assert.equal(director.engine, 'proxy');
    assert.equal(director.http, undefined, 'the director started by keepalived must not serve TSVS_HTTP too');
  });
});
