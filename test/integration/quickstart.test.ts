// `npm start` itself: the quick start comes up without root, wrr spreads six requests over
// all three demo backends, and SIGINT stops everything it started.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { connect } from 'node:net';
import { before, describe, it } from 'node:test';
import { ensureBuilt, TSVS } from './harness.js';

function fetchBody(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => {
        body += b.toString();
      });
      res.on('end', () => resolve(body.trim()));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

describe('npm start (tsvs quickstart)', () => {
  before(() => ensureBuilt());

  it('serves all three backends on 127.0.0.1:8080 and stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, [TSVS, 'quickstart'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 200 && !out.includes('Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(out, /curl http:\/\/127\.0\.0\.1:8080\//, `started: ${out}${err}`);
      const names = new Set<string>();
      for (let i = 0; i < 6; i++) names.add(await fetchBody(8080));
      assert.deepEqual([...names].sort(), ['backend-1', 'backend-2', 'backend-3']);
      const dash = /dashboard: (http:\/\/127\.0\.0\.1:(\d+)\/)\s+metrics: curl \1metrics/.exec(out);
      assert.ok(dash, `dashboard URL printed next to the curl example: ${out}`);
      const metrics = await new Promise<string>((resolve, reject) => {
        get({ host: '127.0.0.1', port: Number(dash[2]), path: '/metrics', agent: false }, (res) => {
          let body = '';
          res.on('data', (b: Buffer) => {
            body += b.toString();
          });
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
      assert.match(metrics, /\nnode_ipvs_connections_total 6\n/);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, err);
    for (const port of [8080, 9001, 9002, 9003]) assert.equal(await refused(port), true, `port ${port} closed`);
  });
});
