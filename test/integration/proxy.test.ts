// The proxy engine with real sockets and real HTTP servers on loopback: distribution per
// scheduler as the core decides it, persistence, draining, a 100 MB transfer both ways with
// half-close, UDP flows and one-packet scheduling, and exact counters. Every case runs three
// times: on the daemon's thread alone, and with TCP in two worker threads, on Node's sockets and
// on raw sockets in epoll loops (scheduling stays on the daemon's thread, so the sequences must
// be the same).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer, get, type Server as HttpServer } from 'node:http';
import { type AddressInfo, connect, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IPPROTO_UDP } from '../../src/core/constants.js';
import { Ipvs } from '../../src/core/ipvs.js';
import { Rules } from '../../src/core/rules.js';
import { lookupScheduler } from '../../src/core/sched/registry.js';
import type { ServiceSpec } from '../../src/core/service.js';
import { ProxyEngine } from '../../src/engine/proxy/engine.js';
import { freePort } from '../helpers/net.js';
import { destSpec, makeEnv, packet, svcSpec } from '../helpers/rules.js';

const quiet = () => {};

async function httpBackend(name: string): Promise<{ server: HttpServer; port: number }> {
  const server = createHttpServer((req, res) => {
    let n = 0;
    req.on('data', (b: Buffer) => {
      n += b.length;
    });
    req.on('end', () => {
      const body = `${name} ${n}\n`;
      res.writeHead(200, {
        connection: req.headers.connection === 'close' ? 'close' : 'keep-alive',
        'content-length': body.length,
      });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

function fetchName(port: number, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent: false, localAddress, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => {
        body += b.toString();
      });
      res.on('end', () => resolve(body.split(' ')[0]!));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('request timed out')));
  });
}

interface Director {
  ipvs: Ipvs;
  engine: ProxyEngine;
  vport: number;
  key: ServiceSpec;
  names: Map<number, string>;
  stop(): Promise<void>;
}

/** Worker threads of the engines the current suite starts. */
let workers = 0;

const t0 = performance.now();
const clock = () => performance.now() - t0;

async function director(
  sched: string,
  backends: { name: string; port: number; w: number }[],
  over: Partial<ServiceSpec> = {},
): Promise<Director> {
  const ipvs = new Ipvs({ env: makeEnv(), now: clock() });
  const engine = new ProxyEngine(quiet, { workers });
  await engine.start(ipvs, clock);
  assert.equal(engine.workers, workers);
  const vport = await freePort();
  const key = svcSpec('127.0.0.1', vport, { schedName: sched, ...over });
  ipvs.rules.addService(key, clock());
  const names = new Map<number, string>();
  for (const b of backends) {
    ipvs.rules.addDest(key, destSpec('127.0.0.1', b.port, b.w), clock());
    names.set(b.port, b.name);
  }
  // Give the listener its turn.
  for (let i = 0; i < 50 && engine.status().interfaces.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  return { ipvs, engine, vport, key, names, stop: () => engine.stop() };
}

/** What the core's own scheduler picks for the same history (a twin rule set). */
function twinPicks(
  sched: string,
  backends: { port: number; w: number; name: string }[],
  clients: string[],
  over: Partial<ServiceSpec> = {},
): string[] {
  const rules = new Rules(lookupScheduler, makeEnv());
  const key = svcSpec('127.0.0.1', 1, { schedName: sched, ...over });
  rules.addService(key, 0);
  for (const b of backends) rules.addDest(key, destSpec('127.0.0.1', b.port, b.w), 0);
  const svc = rules.findService(key)!;
  return clients.map((c) => {
    const d = svc.sched!.schedule(packet(c, 1, '127.0.0.1', 1), 0)!;
    return backends.find((b) => b.port === d.port)!.name;
  });
}

const modes = [0, ...(process.platform === 'linux' ? [2] : [])];

for (const n of modes)
  describe(`proxy engine (${n ? `${n} epoll worker threads` : 'one thread'})`, () => {
    const backends: { name: string; port: number; w: number; server: HttpServer }[] = [];
    before(async () => {
      workers = n;
      for (const [name, w] of [
        ['A', 3],
        ['B', 2],
        ['C', 1],
      ] as const) {
        const b = await httpBackend(name);
        backends.push({ name, port: b.port, w, server: b.server });
      }
    });
    after(() => {
      for (const b of backends) b.server.close();
    });

    for (const sched of ['rr', 'wrr']) {
      it(`${sched}: the sequence of backends is the core's`, async () => {
        const d = await director(sched, backends);
        try {
          const got: string[] = [];
          for (let i = 0; i < 12; i++) got.push(await fetchName(d.vport));
          assert.deepEqual(got, twinPicks(sched, backends, new Array(12).fill('127.0.0.1')));
        } finally {
          await d.stop();
        }
      });
    }

    for (const sched of ['sh', 'mh']) {
      it(`${sched}: each client address stays on the dest the core's hash picks`, async () => {
        const d = await director(sched, backends);
        try {
          const clients = ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15', '127.0.0.16'];
          const want = twinPicks(sched, backends, clients);
          for (let round = 0; round < 2; round++) {
            const got: string[] = [];
            for (const c of clients) got.push(await fetchName(d.vport, c));
            assert.deepEqual(got, want);
          }
        } finally {
          await d.stop();
        }
      });
    }

    it('-p keeps a client on its dest across connections', async () => {
      const d = await director('rr', backends, { flags: IP_VS_SVC_F_PERSISTENT, timeout: 60 });
      try {
        const first = await fetchName(d.vport, '127.0.0.21');
        for (let i = 0; i < 4; i++) assert.equal(await fetchName(d.vport, '127.0.0.21'), first);
        assert.notEqual(await fetchName(d.vport, '127.0.0.22'), first);
      } finally {
        await d.stop();
      }
    });

    it('weight 0 drains: open connections keep their dest, new ones go elsewhere; a deleted dest gets none', async () => {
      const d = await director('rr', backends);
      try {
        const sock = connect(d.vport, '127.0.0.1');
        await new Promise<void>((r) => sock.once('connect', () => r()));
        const reply = (): Promise<string> =>
          new Promise((resolve) => {
            sock.once('data', (b: Buffer) => resolve(b.toString().trim().split('\n').pop()!.split(' ')[0]!));
            sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
          });
        const pinned = await reply();
        const port = backends.find((b) => b.name === pinned)!.port;
        d.ipvs.rules.editDest(d.key, destSpec('127.0.0.1', port, 0));
        for (let i = 0; i < 6; i++) assert.notEqual(await fetchName(d.vport), pinned);
        assert.equal(await reply(), pinned, 'the open connection still reaches its dest');
        sock.destroy();
        const other = backends.find((b) => b.name !== pinned)!;
        d.ipvs.rules.delDest(d.key, destSpec('127.0.0.1', other.port).addr, other.port, clock());
        const left = backends.find((b) => b.name !== pinned && b.name !== other.name)!.name;
        for (let i = 0; i < 4; i++) assert.equal(await fetchName(d.vport), left);
      } finally {
        await d.stop();
      }
    });

    it('counters equal what the clients sent and received', async () => {
      const d = await director('rr', backends);
      try {
        let sent = 0;
        let received = 0;
        for (let i = 0; i < 5; i++) {
          const req = `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
          const got = await new Promise<number>((resolve, reject) => {
            let bytes = 0;
            const s = connect(d.vport, '127.0.0.1', () => s.write(req));
            s.on('data', (b: Buffer) => {
              bytes += b.length;
            });
            s.on('end', () => resolve(bytes));
            s.on('error', reject);
          });
          sent += req.length;
          received += got;
        }
        await d.engine.settle();
        const st = d.ipvs.rules.findService(d.key)!.stats.snapshot();
        assert.equal(st.conns, 5n);
        assert.equal(st.inbytes, BigInt(sent));
        assert.equal(st.outbytes, BigInt(received));
      } finally {
        await d.stop();
      }
    });

    it('100 MB each way arrives intact, with half-close', async () => {
      const echo = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
      await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
      const eport = (echo.address() as AddressInfo).port;
      const d = await director('rr', [{ name: 'E', port: eport, w: 1 }]);
      try {
        const chunk = Buffer.alloc(1 << 20);
        const sentHash = createHash('sha256');
        const gotHash = createHash('sha256');
        let got = 0;
        await new Promise<void>((resolve, reject) => {
          const s = connect({ port: d.vport, host: '127.0.0.1', allowHalfOpen: true }, async () => {
            for (let i = 0; i < 100; i++) {
              for (let k = 0; k < chunk.length; k += 4096) chunk.writeUInt32BE((i * 997 + k) >>> 0, k);
              sentHash.update(chunk);
              if (!s.write(Buffer.from(chunk))) await new Promise((r) => s.once('drain', r));
            }
            s.end();
          });
          s.on('data', (b: Buffer) => {
            got += b.length;
            gotHash.update(b);
          });
          s.on('end', () => resolve());
          s.on('error', reject);
        });
        assert.equal(got, 100 << 20);
        assert.equal(gotHash.digest('hex'), sentHash.digest('hex'));
      } finally {
        await d.stop();
        echo.close();
      }
    });

    it('UDP: flows stick to their dest; with -o every datagram is scheduled', async () => {
      const echoes = await Promise.all(
        ['U1', 'U2'].map(
          (name) =>
            new Promise<{ name: string; port: number; close(): void }>((resolve) => {
              const s = createSocket('udp4');
              s.on('message', (m, r) => s.send(Buffer.from(`${name}:${m}`), r.port, r.address));
              s.bind(0, '127.0.0.1', () => resolve({ name, port: s.address().port, close: () => s.close() }));
            }),
        ),
      );
      const ask = async (vport: number, count: number) => {
        const c = createSocket('udp4');
        await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()));
        const names: string[] = [];
        for (let i = 0; i < count; i++) {
          const reply = new Promise<string>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error('no UDP reply')), 3000);
            c.once('message', (m) => {
              clearTimeout(t);
              resolve(m.toString().split(':')[0]!);
            });
          });
          c.send(`ping${i}`, vport, '127.0.0.1');
          names.push(await reply);
        }
        c.close();
        return names;
      };
      for (const ops of [false, true]) {
        const d = await director(
          'rr',
          echoes.map((e) => ({ name: e.name, port: e.port, w: 1 })),
          {
            protocol: IPPROTO_UDP,
            flags: ops ? IP_VS_SVC_F_ONEPACKET : 0,
          },
        );
        try {
          const names = await ask(d.vport, 4);
          if (ops) assert.deepEqual(names, ['U2', 'U1', 'U2', 'U1']);
          else assert.equal(new Set(names).size, 1, `one flow, one dest: ${names}`);
        } finally {
          await d.stop();
        }
      }
      for (const e of echoes) e.close();
    });

    it('PROXY protocol v1 and v2 tell the real server the client address', async () => {
      for (const version of [1, 2] as const) {
        const heads: Buffer[] = [];
        const srv = createServer((s) => {
          s.once('data', (b: Buffer) => {
            heads.push(b);
            s.end('ok');
          });
        });
        await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
        const port = (srv.address() as AddressInfo).port;
        const d = await director('rr', [{ name: 'P', port, w: 1 }]);
        d.ipvs.rules.editDest(d.key, destSpec('127.0.0.1', port, 1, 0, { proxyProtocol: version }));
        try {
          const cport = await new Promise<number>((resolve, reject) => {
            const c = connect({ port: d.vport, host: '127.0.0.1', localAddress: '127.0.0.33' }, () => c.write('hello'));
            c.on('data', () => {});
            c.on('end', () => resolve(c.localPort!));
            c.on('error', reject);
          });
          const head = heads[0]!;
          if (version === 1) {
            assert.equal(head.toString().split('\r\n')[0], `PROXY TCP4 127.0.0.33 127.0.0.1 ${cport} ${d.vport}`);
          } else {
            assert.equal(head.subarray(0, 12).toString('hex'), '0d0a0d0a000d0a515549540a');
            assert.equal(head[12], 0x21);
            assert.equal(head[13], 0x11);
            assert.equal(head.subarray(16, 20).join('.'), '127.0.0.33');
            assert.equal(head.readUInt16BE(24), cport);
            assert.equal(head.readUInt16BE(26), d.vport);
          }
        } finally {
          await d.stop();
          srv.close();
        }
      }
    });

    it('IPv6: a service on [::1] reaches a real server on [::1]', async () => {
      const srv = createHttpServer((_req, res) => res.end('v6\n'));
      await new Promise<void>((r) => srv.listen(0, '::1', () => r()));
      const port = (srv.address() as AddressInfo).port;
      const ipvs = new Ipvs({ env: makeEnv(), now: clock() });
      const engine = new ProxyEngine(quiet, { workers });
      await engine.start(ipvs, clock);
      const vport = await freePort();
      const key = svcSpec('::1', vport, { schedName: 'rr' });
      ipvs.rules.addService(key, clock());
      ipvs.rules.addDest(key, destSpec('::1', port, 1), clock());
      try {
        for (let i = 0; i < 50 && engine.status().interfaces.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
        const body = await new Promise<string>((resolve, reject) => {
          get({ host: '::1', port: vport, path: '/', agent: false }, (res) => {
            let b = '';
            res.on('data', (d: Buffer) => {
              b += d.toString();
            });
            res.on('end', () => resolve(b));
          }).on('error', reject);
        });
        assert.equal(body, 'v6\n');
        await engine.settle(); // a worker that picked the dest itself reports the conn afterwards
        let listed = 0;
        ipvs.forEachConn(clock(), (c) => {
          if (c.caddr.toString() === '::1' && c.vport === vport) listed++;
        });
        assert.equal(listed, 1, 'the conn is in the IPv6 table');
      } finally {
        await engine.stop();
        srv.close();
      }
    });

    it('a refused connect resets the client and is counted', async () => {
      const dead = await freePort();
      const d = await director('rr', [{ name: 'X', port: dead, w: 1 }]);
      try {
        await assert.rejects(fetchName(d.vport));
        await d.engine.settle();
        assert.equal(d.engine.status().drops['dest-refused'], 1);
      } finally {
        await d.stop();
      }
    });
  });
