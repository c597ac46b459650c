// `npm start` itself: the quick start comes up without root, wrr spreads six requests over
// all three demo backends, and SIGINT stops everything it started.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { connect, createServer } from 'node:net';
import { before, describe, it } from 'node:test';
import { ensureBuilt, inNs, TSVS } from './harness.js';

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

/** Starts the quick start; resolves once its banner is out (or it exited). */
async function quickstart(
  args: string[],
): Promise<{ out: () => string; err: () => string; exited: Promise<number | null>; stop: () => void }> {
  const child = spawn(process.execPath, [TSVS, 'quickstart', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  for (let i = 0; i < 200 && !out.includes('Ctrl-C') && !done; i++) await new Promise((r) => setTimeout(r, 50));
  return { out: () => out, err: () => err, exited, stop: () => child.kill('SIGINT') };
}

describe('tsvs quickstart when ports are taken', () => {
  before(() => ensureBuilt());

  it("8080 taken: picks a free port, says so, serves it, and the banner's tsvsadm line works as printed", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(8080, '127.0.0.1', r));
    const q = await quickstart([]);
    try {
      assert.match(q.out(), /port 8080 is in use by another program; the director listens on (\d+) instead\./, q.out() + q.err());
      const port = Number(/curl http:\/\/127\.0\.0\.1:(\d+)\//.exec(q.out())?.[1]);
      assert.notEqual(port, 8080);
      assert.match(await fetchBody(port), /^backend-\d$/);
      const line = /^ {2}(TSVS_RUN_DIR=.*tsvsadm -L -n --stats)$/m.exec(q.out())?.[1];
      assert.ok(line, q.out());
      const r = await inNs(null, ['sh', '-c', line], { env: { TSVS_RUN_DIR: '' } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`TCP {2}127\\.0\\.0\\.1:${port} +1 `), 'the listing shows the request');
    } finally {
      q.stop();
      blocker.close();
    }
    assert.equal(await q.exited, 0, q.err());
  });

  it('--port N serves N; a --port that is taken fails loudly with exit 1', async () => {
    const q = await quickstart(['--port', '18080']);
    try {
      assert.match(q.out(), /curl http:\/\/127\.0\.0\.1:18080\//, q.out() + q.err());
      assert.match(await fetchBody(18080), /^backend-\d$/);
      const taken = await quickstart(['--port', '18080']);
      assert.equal(await taken.exited, 1);
      assert.match(taken.err(), /^tsvs quickstart: cannot listen on 127\.0\.0\.1:18080: EADDRINUSE: choose another port with --port N\n$/);
      assert.equal(taken.out(), '');
    } finally {
      q.stop();
    }
    assert.equal(await q.exited, 0, q.err());
  });
});
