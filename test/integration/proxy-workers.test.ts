// The proxy engine with its TCP connections in two worker threads (both kinds of worker I/O):
// scheduling stays one global decision under concurrent connections accepted by different
// workers, the core's table and counters hold every worker's connections, the core's expiry
// closes a connection in its worker, a taken port is reported, and through the daemon
// `tsvsadm -L -n --stats` and `-c` list what every worker carried.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, connect, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Ipvs } from '../../src/core/ipvs.js';
import type { ServiceSpec } from '../../src/core/service.js';
import { ProxyEngine } from '../../src/engine/proxy/engine.js';
import { destSpec, makeEnv, svcSpec } from '../helpers/rules.js';
import { ensureBuilt, freshRunDir, inNs, TSVS, TSVSADM } from './harness.js';

const quiet = () => {};
const t0 = performance.now();
const clock = () => performance.now() - t0;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function httpBackend(name: string): Promise<{ server: HttpServer; port: number }> {
  const server = createHttpServer((_req, res) => {
    const body = `${name}\n`;
    res.writeHead(200, { connection: 'close', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

/** One request on a new connection; resolves with the backend's name and the bytes each way. */
function fetchName(port: number, localAddress?: string): Promise<{ name: string; sent: number; got: number }> {
  return new Promise((resolve, reject) => {
    const req = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    let body = '';
    const s = connect({ port, host: '127.0.0.1', localAddress }, () => s.write(req));
    s.on('data', (b: Buffer) => {
      body += b.toString('latin1');
    });
    s.on('end', () => resolve({ name: body.trim().split('\n').pop()!, sent: req.length, got: body.length }));
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('timed out')));
  });
}

const platformOk = process.platform === 'linux' ? false : 'worker threads share ports through SO_REUSEPORT on Linux';

for (const io of ['epoll', 'node'] as const) {
  describe(`proxy engine, 2 worker threads, ${io} I/O`, { skip: platformOk }, () => {
    const backends: { name: string; port: number; server: HttpServer }[] = [];
    before(async () => {
      for (const name of ['A', 'B', 'C']) backends.push({ name, ...(await httpBackend(name)) });
    });
    after(() => {
      for (const b of backends) b.server.close();
    });

    async function director(sched: string, weights: number[], over: Partial<ServiceSpec> = {}) {
      const ipvs = new Ipvs({ env: makeEnv(), now: clock() });
      const engine = new ProxyEngine(quiet, { workers: 2, io });
      await engine.start(ipvs, clock);
      assert.equal(engine.workers, 2);
      assert.equal(engine.workerIo, io);
      const vport = await freePort();
      const key = svcSpec('127.0.0.1', vport, { schedName: sched, ...over });
      ipvs.rules.addService(key, clock());
      backends.forEach((b, i) => ipvs.rules.addDest(key, destSpec('127.0.0.1', b.port, weights[i]!), clock()));
      assert.deepEqual(engine.status().interfaces, [`tcp 127.0.0.1:${vport}`]);
      return { ipvs, engine, vport, key };
    }

    it('rr: 30 connections one after another alternate exactly, whichever worker accepts each', async () => {
      const d = await director('rr', [1, 1, 1]);
      try {
        const names: string[] = [];
        for (let k = 0; k < 30; k++) names.push((await fetchName(d.vport)).name);
        // rr's cycle over the three dests (in the core's list order), never broken.
        assert.equal(new Set(names.slice(0, 3)).size, 3, names.join(''));
        assert.deepEqual(names, Array.from({ length: 30 }, (_, k) => names[k % 3]));
        // The kernel spreads the 30 client ports over both workers' sockets (all on one: 2^-29).
        assert.ok(d.engine.workerConns().every((n) => n > 0), `both workers accepted: ${d.engine.workerConns()}`);
      } finally {
        await d.engine.stop();
      }
    });

    for (const [sched, weights, want] of [
      ['rr', [1, 1, 1], { A: 20, B: 20, C: 20 }],
      ['wrr', [3, 2, 1], { A: 30, B: 20, C: 10 }],
    ] as const) {
      it(`${sched}: 60 concurrent connections over both workers follow one scheduler exactly`, async () => {
        const d = await director(sched, [...weights]);
        try {
          // Distinct client addresses spread the connections over both workers' sockets.
          const got = await Promise.all(Array.from({ length: 60 }, (_, k) => fetchName(d.vport, `127.0.1.${k + 1}`)));
          const count: Record<string, number> = {};
          for (const g of got) count[g.name] = (count[g.name] ?? 0) + 1;
          assert.deepEqual(count, want);
          const perWorker = d.engine.workerConns();
          assert.equal(perWorker.reduce((a, b) => a + b, 0), 60);
          assert.ok(perWorker.every((n) => n > 0), `both workers accepted connections: ${perWorker}`);
          await d.engine.settle();
          const st = d.ipvs.rules.findService(d.key)!.stats.snapshot();
          assert.equal(st.conns, 60n);
          assert.equal(st.inbytes, BigInt(got.reduce((a, g) => a + g.sent, 0)));
          assert.equal(st.outbytes, BigInt(got.reduce((a, g) => a + g.got, 0)));
          let listed = 0;
          d.ipvs.forEachConn(clock(), (c) => {
            if (c.vport === d.vport) listed++;
          });
          assert.equal(listed, 60, 'every worker connection is in the one conn table');
        } finally {
          await d.engine.stop();
        }
      });
    }

    it('a worker that dies is replaced: its connections are closed, the service goes on on both workers', async () => {
      const logs: string[] = [];
      const ipvs = new Ipvs({ env: makeEnv(), now: clock() });
      const engine = new ProxyEngine((m) => logs.push(m), { workers: 2, io });
      await engine.start(ipvs, clock);
      const held = createServer((s) => s.on('data', () => {}));
      await new Promise<void>((r) => held.listen(0, '127.0.0.1', () => r()));
      const hport = (held.address() as AddressInfo).port;
      const clients: { closed: boolean; destroy(): void }[] = [];
      try {
        const vport = await freePort();
        const key = svcSpec('127.0.0.1', vport, { schedName: 'rr' });
        ipvs.rules.addService(key, clock());
        ipvs.rules.addDest(key, destSpec('127.0.0.1', hport, 1), clock());
        // Ten idle connections, spread by the kernel over both workers.
        for (let k = 0; k < 10; k++) {
          const c = { closed: false, destroy: () => {} };
          await new Promise<void>((resolve, reject) => {
            const s = connect({ port: vport, host: '127.0.0.1', localAddress: `127.0.3.${k + 1}` }, () => resolve());
            s.on('close', () => (c.closed = true));
            s.on('error', reject);
            c.destroy = () => s.destroy();
          });
          clients.push(c);
        }
        for (let i = 0; i < 100 && (await new Promise<number>((r) => held.getConnections((_e, n) => r(n)))) < 10; i++) {
          await new Promise((r) => setTimeout(r, 20));
        }
        const onWorker0 = engine.workerConns()[0]!;
        const dest = () => ipvs.rules.findService(key)!.dests[0]!;
        await engine.settle();
        assert.equal(dest().activeConns, 10);
        await engine.killWorker(0);
        for (let i = 0; i < 100 && clients.filter((c) => c.closed).length < onWorker0; i++) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(clients.filter((c) => c.closed).length, onWorker0, "exactly the dead worker's connections are closed");
        assert.ok(logs.some((l) => l.includes('worker 0 exited') && l.includes('a new worker takes its place')), logs.join('\n'));
        assert.equal(dest().activeConns, 10 - onWorker0, 'the core saw them reset');
        await engine.settle(); // the new worker is up and has its listening socket
        ipvs.rules.editDest(key, destSpec('127.0.0.1', hport, 0));
        ipvs.rules.addDest(key, destSpec('127.0.0.1', backends[0]!.port, 1), clock());
        for (let k = 0; k < 30; k++) assert.equal((await fetchName(vport)).name, 'A');
        assert.ok(engine.workerConns().every((n) => n > 0), `both workers accept again: ${engine.workerConns()}`);
      } finally {
        for (const c of clients) c.destroy();
        await engine.stop();
        held.close();
      }
    });

    it('the core expiring an idle connection closes its sockets in the worker', async () => {
      const d = await director('rr', [1, 1, 1]);
      const held = createServer((s) => s.on('data', () => {}));
      await new Promise<void>((r) => held.listen(0, '127.0.0.1', () => r()));
      const hport = (held.address() as AddressInfo).port;
      for (const b of backends) d.ipvs.rules.delDest(d.key, destSpec('127.0.0.1', b.port).addr, b.port, clock());
      d.ipvs.rules.addDest(d.key, destSpec('127.0.0.1', hport, 1), clock());
      d.ipvs.rules.setTimeouts({ tcp: 1, tcpfin: 0, udp: 0 });
      const ticker = setInterval(() => d.ipvs.tick(clock()), 100);
      try {
        const closed = await new Promise<boolean>((resolve, reject) => {
          const s = connect(d.vport, '127.0.0.1', () => s.write('hello'));
          s.on('close', () => resolve(true));
          s.on('error', () => {});
          s.setTimeout(10_000, () => reject(new Error('the idle connection was not closed')));
        });
        assert.ok(closed);
        await d.engine.settle();
        let listed = 0;
        d.ipvs.forEachConn(clock(), (c) => {
          if (c.vport === d.vport) listed++;
        });
        assert.equal(listed, 0, 'the conn left the table');
      } finally {
        clearInterval(ticker);
        await d.engine.stop();
        held.close();
      }
    });

    it('a port taken by another program is reported, and served once it is free', async () => {
      const squatter = createServer();
      const port = await freePort();
      await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', () => r()));
      const ipvs = new Ipvs({ env: makeEnv(), now: clock() });
      const engine = new ProxyEngine(quiet, { workers: 2, io });
      await engine.start(ipvs, clock);
      try {
        const key = svcSpec('127.0.0.1', port, { schedName: 'rr' });
        ipvs.rules.addService(key, clock());
        ipvs.rules.addDest(key, destSpec('127.0.0.1', backends[0]!.port, 1), clock());
        assert.deepEqual(engine.status().unserved, [
          { rule: `-A -t 127.0.0.1:${port}`, reason: 'the address is in use by another program (retrying)' },
        ]);
        await new Promise<void>((r) => squatter.close(() => r()));
        for (let i = 0; i < 60 && engine.status().interfaces.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal((await fetchName(port)).name, 'A');
      } finally {
        await engine.stop();
      }
    });
  });
}

describe('the daemon with proxy workers: tsvsadm lists every worker', { skip: platformOk }, () => {
  const runDir = freshRunDir();
  const env = { TSVS_RUN_DIR: runDir, TSVS_PROXY_WORKERS: '2' };
  const backends: { name: string; port: number; server: HttpServer }[] = [];
  before(async () => {
    ensureBuilt();
    for (const name of ['A', 'B']) backends.push({ name, ...(await httpBackend(name)) });
  });
  after(async () => {
    await inNs(null, [TSVS, 'daemon', 'stop'], { env });
    for (const b of backends) b.server.close();
  });

  it('-L -n --stats counts all connections and bytes; -c lists them', async () => {
    const daemon = spawn(process.execPath, [TSVS, 'daemon', '--engine', 'proxy'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const adm = (...a: string[]) => inNs(null, [TSVSADM, ...a], { env });
    try {
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = (await inNs(null, [TSVS, 'status'], { env })).code === 0;
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      const status = await inNs(null, [TSVS, 'status', '--json'], { env });
      assert.match(status.stdout, /TCP served by 2 worker threads/);
      const vport = await freePort();
      const vip = `127.0.0.1:${vport}`;
      assert.equal((await adm('-A', '-t', vip, '-s', 'rr')).code, 0);
      for (const b of backends) assert.equal((await adm('-a', '-t', vip, '-r', `127.0.0.1:${b.port}`, '-m')).code, 0);
      const got = await Promise.all(Array.from({ length: 40 }, (_, k) => fetchName(vport, `127.0.2.${k + 1}`)));
      assert.deepEqual(
        got.reduce<Record<string, number>>((m, g) => ({ ...m, [g.name]: (m[g.name] ?? 0) + 1 }), {}),
        { A: 20, B: 20 },
      );
      // Each command returns after the engine has settled: the next listing has every event.
      await adm('-L', '-n');
      const stats = await adm('-L', '-n', '--stats', '--exact');
      const line = stats.stdout.split('\n').find((l) => l.startsWith(`TCP  ${vip}`));
      assert.ok(line, stats.stdout);
      const [, , conns, , , inbytes, outbytes] = line.trim().split(/\s+/);
      assert.equal(Number(conns), 40);
      assert.equal(Number(inbytes), got.reduce((a, g) => a + g.sent, 0));
      assert.equal(Number(outbytes), got.reduce((a, g) => a + g.got, 0));
      const conns2 = await adm('-L', '-n', '-c');
      assert.equal(conns2.stdout.split('\n').filter((l) => l.includes(vip)).length, 40, conns2.stdout);
    } finally {
      await inNs(null, [TSVS, 'daemon', 'stop'], { env });
      await new Promise<void>((r) => {
        if (daemon.exitCode !== null) r();
        else daemon.once('exit', () => r());
      });
    }
  });
});
