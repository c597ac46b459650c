// The HTTP endpoint of a real director (proxy engine, real backends on loopback): a scrape
// that promtool accepts and that carries the counters tsvsadm shows, the JSON API against
// docs/http-api.schema.json, read-only answers, slowloris and garbage clients that neither
// stall forwarding nor the control socket, and `tsvs daemon --detach` logging to a file that
// `tsvs status` names.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { request } from '../../src/cli/client.js';
import type { AdmReply } from '../../src/control/protocol.js';
import { HTTP_HEADERS_TIMEOUT_MS } from '../../src/http/server.js';
import { freePort } from '../helpers/net.js';
import { validate } from '../helpers/json-schema.js';
import { ensureBuilt, freshRunDir, inNs, ROOT, TSVS } from './harness.js';
import { httpGet, type Lab, requireTool, startLab, traffic } from './http-helpers.js';

const schema = JSON.parse(readFileSync(`${ROOT}/docs/http-api.schema.json`, 'utf8')) as Record<string, unknown>;
const def = (name: string) => (schema.$defs as Record<string, Record<string, unknown>>)[name]!;

function promtool(text: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = execFile('promtool', ['check', 'metrics'], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
    p.stdin!.end(text);
  });
}

function adm(lab: Lab, argv: string[]): Promise<AdmReply> {
  return request<AdmReply>(lab.daemon.socket, { op: 'adm', argv, argv0: 'tsvsadm', stdin: '' }, 5000);
}

describe('HTTP endpoint', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab(2);
    await traffic(lab.vipPort, 12);
    // The estimator folds counters every 2 s; the daemon ticks every second.
    await new Promise((r) => setTimeout(r, 3200));
  });
  after(async () => {
    await lab?.close();
  });

  it('serves /metrics that promtool accepts, with the counters tsvsadm shows', async (t) => {
    const r = await httpGet(`${lab.url}metrics`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(r.body, /\nnode_ipvs_connections_total 12\n/);
    const list = await adm(lab, ['-L', '-n', '--stats', '--exact']);
    const rows = [...list.stdout.matchAll(/-> 127\.0\.0\.1:(\d+)\s+(\d+)/g)];
    assert.equal(rows.length, 2, list.stdout);
    for (const [, port, conns] of rows) {
      const re = new RegExp(
        `\\ntsvs_backend_connections_total\\{dest="127\\.0\\.0\\.1:${port}",service="-t 127\\.0\\.0\\.1:${lab.vipPort}"\\} ${conns}\\n`,
      );
      assert.match(r.body, re);
    }
    assert.match(
      r.body,
      new RegExp(`\\nnode_ipvs_backend_weight\\{local_address="127\\.0\\.0\\.1",local_mark="",local_port="${lab.vipPort}",proto="TCP",`),
    );
    assert.match(r.body, /\ntsvs_estimated_connections_per_second [1-9]/);
    assert.match(r.body, /\ntsvs_engine_info\{engine="proxy"\} 1\n/);
    const skip = requireTool('promtool', 'prometheus');
    if (skip) {
      t.skip(skip);
      return;
    }
    const check = await promtool(r.body);
    assert.equal(check.code, 0, `promtool check metrics: ${check.out}`);
    assert.equal(check.out.trim(), '');
  });

  it('answers the JSON API as docs/http-api.schema.json says', async () => {
    const st = JSON.parse((await httpGet(`${lab.url}api/v1/status`)).body) as Record<string, unknown>;
    assert.deepEqual(validate(schema, def('status'), st), []);
    assert.equal(st.engine, 'proxy');
    assert.equal(st.http, lab.url);

    const sv = JSON.parse((await httpGet(`${lab.url}api/v1/services`)).body) as {
      services: { rule: string; dests: { port: number; weight: number; stats: { conns: number } }[] }[];
      total: { stats: { conns: number } };
    };
    assert.deepEqual(validate(schema, def('services'), sv), []);
    assert.equal(sv.services.length, 1);
    assert.equal(sv.services[0]!.rule, `-t 127.0.0.1:${lab.vipPort}`);
    assert.deepEqual(sv.services[0]!.dests.map((d) => d.weight).sort(), [1, 2]);
    assert.equal(sv.total.stats.conns, 12);
    assert.equal(
      sv.services[0]!.dests.reduce((a, d) => a + d.stats.conns, 0),
      12,
    );

    const cn = JSON.parse((await httpGet(`${lab.url}api/v1/conns?limit=5`)).body) as {
      conns: unknown[];
      total: number;
      truncated: boolean;
    };
    assert.deepEqual(validate(schema, def('conns'), cn), []);
    const listed = await adm(lab, ['-L', '-n', '-c']);
    const rows = listed.stdout.split('\n').filter((l) => l.startsWith('TCP')).length;
    assert.equal(cn.conns.length, Math.min(5, rows));
    assert.equal(cn.truncated, rows > 5);

    // The schema checker is not vacuous: a wrong answer fails it.
    assert.notDeepEqual(validate(schema, def('services'), { ...sv, total: { stats: {} } }), []);
  });

  it('is read-only and refuses bad input with a reason', async () => {
    assert.equal((await httpGet(`${lab.url}api/v1/services`, 5000, 'POST')).status, 405);
    assert.equal((await httpGet(`${lab.url}api/v1/services`, 5000, 'DELETE')).status, 405);
    const bad = await httpGet(`${lab.url}api/v1/conns?limit=-3`);
    assert.equal(bad.status, 400);
    assert.match(bad.body, /limit=-3: give a whole number from 1 to 10000/);
    assert.equal((await httpGet(`${lab.url}nope`)).status, 404);
    const head = await httpGet(`${lab.url}metrics`, 5000, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    for (const a of ['/', '/assets/dashboard.js', '/assets/uPlot.iife.min.js', '/assets/uPlot.min.css', '/assets/dashboard.css']) {
      const r = await httpGet(`${lab.url}${a.slice(1)}`);
      assert.equal(r.status, 200, a);
      assert.ok(r.body.length > 100, a);
    }
  });

  it('keeps forwarding and the control socket going under slowloris and garbage clients', async () => {
    const port = Number(new URL(lab.url).port);
    const slow: Socket[] = [];
    const closedAt: number[] = [];
    const t0 = performance.now();
    let drip: NodeJS.Timeout | undefined;
    const garbage: string[] = [];
    try {
      for (let i = 0; i < 60; i++) {
        const s = connect(port, '127.0.0.1');
        s.on('error', () => {});
        s.resume(); // read what the server says, so its FIN is seen
        s.on('close', () => closedAt.push(performance.now() - t0));
        s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
        slow.push(s);
      }
      drip = setInterval(() => {
        for (const s of slow) if (!s.destroyed) s.write('X-a: b\r\n');
      }, 300);
      // Garbage: binary noise, a huge header, a bogus method line.
      const junk = [
        Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]),
        `GET / HTTP/1.1\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
        'BREW /pot HTCPCP/1.0\r\n\r\n',
      ];
      await Promise.all(
        junk.map(
          (j) =>
            new Promise<void>((resolve) => {
              const s = connect(port, '127.0.0.1', () => s.write(j));
              let got = '';
              s.on('data', (b: Buffer) => {
                got += b.toString('latin1');
              });
              s.on('error', () => {});
              s.on('close', () => {
                garbage.push(got.split('\r\n')[0] ?? '');
                resolve();
              });
              s.setTimeout(8000, () => s.destroy());
            }),
        ),
      );
      for (const g of garbage) assert.match(g, /^(HTTP\/1\.1 4\d\d [A-Za-z ]+|)$/, `garbage answered: ${g}`);
      // Meanwhile: forwarding and the control socket answer at once.
      for (let i = 0; i < 10; i++) {
        const a = performance.now();
        const r = await httpGet(`http://127.0.0.1:${lab.vipPort}/`, 2000);
        assert.match(r.body, /^backend-\d/);
        assert.ok(performance.now() - a < 1000, 'a forwarded request took over 1 s');
        const b = performance.now();
        const l = await adm(lab, ['-L', '-n']);
        assert.equal(l.code, 0);
        assert.ok(performance.now() - b < 1000, 'the control socket took over 1 s');
      }
      // The slow clients are cut once the header deadline passes (checked every second).
      const deadline = HTTP_HEADERS_TIMEOUT_MS + 3000;
      while (closedAt.length < slow.length && performance.now() - t0 < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(closedAt.length, slow.length, `${slow.length - closedAt.length} slowloris sockets still open after ${deadline} ms`);
      const m = await httpGet(`${lab.url}metrics`);
      assert.equal(m.status, 200);
      assert.match(m.body, /\ntsvs_http_rejected_requests_total\{reason="bad_request"\} [1-9]/);
      assert.match(m.body, /\ntsvs_http_rejected_requests_total\{reason="timeout"\} 60\n/);
      assert.match(m.body, /\ntsvs_http_connections [12]\n/);
    } finally {
      clearInterval(drip);
      for (const s of slow) s.destroy();
    }
  });
});

describe('tsvs daemon --detach with --http', () => {
  before(() => ensureBuilt());

  it('logs JSON lines to a file that tsvs status names, and serves the dashboard', async () => {
    const dir = freshRunDir();
    const port = await freePort();
    const env = { TSVS_RUN_DIR: dir, TSVS_ENGINE: 'proxy' };
    try {
      const up = await inNs(null, [process.execPath, TSVS, 'daemon', '--detach', '--http', `127.0.0.1:${port}`, '--log-level', 'debug'], {
        env,
        timeoutMs: 20_000,
      });
      assert.equal(up.code, 0, up.stderr);
      const st = await inNs(null, [process.execPath, TSVS, 'status'], { env });
      const logLine = /^log: (.+)$/m.exec(st.stdout);
      assert.ok(logLine, st.stdout);
      assert.match(st.stdout, new RegExp(`^dashboard: http://127\\.0\\.0\\.1:${port}/`, 'm'));
      const page = await httpGet(`http://127.0.0.1:${port}/`);
      assert.match(page.body, /<title>tsvs director<\/title>/);
      const add = await inNs(null, [process.execPath, `${ROOT}/bin/tsvsadm`, '-A', '-t', '127.0.0.1:1', '-s', 'rr'], { env });
      assert.equal(add.code, 0, add.stderr);
      const stop = await inNs(null, [process.execPath, TSVS, 'daemon', 'stop'], { env });
      assert.equal(stop.code, 0, stop.stderr);
      await new Promise((r) => setTimeout(r, 300));
      const lines = readFileSync(logLine[1]!, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { level: number; msg: string; command?: string; uid?: unknown; engine?: string });
      assert.ok(
        lines.some((l) => /started/.test(l.msg) && l.engine === 'proxy'),
        'start logged',
      );
      const change = lines.find((l) => l.command === 'tsvsadm -A -t 127.0.0.1:1 -s rr');
      assert.ok(change, 'rule change logged');
      assert.equal(change.uid, process.getuid?.());
      assert.ok(
        lines.some((l) => /stopped/.test(l.msg)),
        'stop logged',
      );
    } finally {
      await inNs(null, [process.execPath, TSVS, 'daemon', 'stop'], { env });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
