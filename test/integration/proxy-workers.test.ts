// The proxy engine with its TCP connections and UDP flows in two epoll worker threads:
// scheduling stays one global decision under concurrent connections accepted by different
// workers, the core's table and counters hold every worker's connections, the core's expiry
// closes a connection in its worker, a taken port is reported, and through the daemon
// `tsvsadm -L -n --stats` and `-c` list what every worker carried.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, connect, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { IP_VS_SVC_F_ONEPACKET, IPPROTO_UDP } from '../../src/core/constants.js';
import { Ipvs } from '../../src/core/ipvs.js';
import type { ServiceSpec } from '../../src/core/service.js';
import { ProxyEngine } from '../../src/engine/proxy/engine.js';
import { freePort } from '../helpers/net.js';
import { addr, destSpec, makeEnv, makeRules, packet, svcSpec } from '../helpers/rules.js';
import { ensureBuilt, freshRunDir, inNs, TSVS, TSVSADM } from './harness.js';

const quiet = () => {};
const t0 = performance.now();
const clock = () => performance.now() - t0;

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

/** UDP echo servers that answer `<name>:<datagram>`. */
async function udpEchoes(names: string[]): Promise<{ name: string; port: number; sock: UdpSocket }[]> {
  return Promise.all(
    names.map(
      (name) =>
        new Promise<{ name: string; port: number; sock: UdpSocket }>((resolve) => {
          const sock = createSocket('udp4');
          sock.on('message', (m, r) => sock.send(Buffer.from(`${name}:${m.toString()}`), r.port, r.address));
          sock.bind(0, '127.0.0.1', () => resolve({ name, port: sock.address().port, sock }));
        }),
    ),
  );
}

/** A UDP client on `localAddress`: ask() sends one datagram and resolves with the reply. */
async function udpClient(localAddress: string): Promise<{ ask(port: number, msg: string): Promise<string>; close(): void }> {
  const c = createSocket('udp4');
  await new Promise<void>((r) => c.bind(0, localAddress, () => r()));
  return {
    ask: (port, msg) =>
      new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no UDP reply to ${msg}`)), 5000);
        c.once('message', (m) => {
          clearTimeout(t);
          resolve(m.toString());
        });
        c.send(msg, port, '127.0.0.1');
      }),
    close: () => c.close(),
  };
}

const platformOk = process.platform === 'linux' ? false : 'worker threads share ports through SO_REUSEPORT on Linux';

{
  describe('proxy engine, 2 epoll worker threads', { skip: platformOk }, () => {
    const backends: { name: string; port: number; server: HttpServer }[] = [];
    before(async () => {
      for (const name of ['A', 'B', 'C']) backends.push({ name, ...(await httpBackend(name)) });
    });
    after(() => {
      for (const b of backends) b.server.close();
    });

    async function director(sched: string, weights: number[], over: Partial<ServiceSpec> = {}) {
      const ipvs = new Ipvs({ env: makeEnv(), now: clock() });
      const engine = new ProxyEngine(quiet, { workers: 2 });
      await engine.start(ipvs, clock);
      assert.equal(engine.workers, 2);
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
        assert.deepEqual(
          names,
          Array.from({ length: 30 }, (_, k) => names[k % 3]),
        );
        // The kernel spreads the 30 client ports over both workers' sockets (all on one: 2^-29).
        assert.ok(
          d.engine.workerConns().every((n) => n > 0),
          `both workers accepted: ${d.engine.workerConns()}`,
        );
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
          assert.equal(
            perWorker.reduce((a, b) => a + b, 0),
            60,
          );
          assert.ok(
            perWorker.every((n) => n > 0),
            `both workers accepted connections: ${perWorker}`,
          );
          // Epoll workers pick rr and wrr dests themselves, from the scheduler's plan.
          assert.equal(
            d.engine.workerPicked().reduce((a, b) => a + b, 0),
            60,
          );
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

    it('rule changes between connections: every pick is the one the core would make, plans or not', async () => {
      const extra = await httpBackend('D');
      const d = await director('rr', [1, 1, 1]);
      // The oracle: the same rules in a core of its own, which schedules every connection.
      const oracle = makeRules();
      const okey = svcSpec('192.0.2.1', 80, { schedName: 'rr' });
      oracle.addService(okey, 0);
      for (const b of backends) oracle.addDest(okey, destSpec('127.0.0.1', b.port, 1), 0);
      const names = new Map([...backends.map((b) => [b.port, b.name] as const), [extra.port, 'D']]);
      const p = packet('192.168.1.100', 40000, '192.0.2.1', 80);
      const both = (f: (r: typeof oracle, key: ServiceSpec) => void) => {
        f(d.ipvs.rules, d.key);
        f(oracle, okey);
      };
      const [A, B, C] = backends.map((b) => b.port);
      const steps: [string, (r: typeof oracle, key: ServiceSpec) => void][] = [
        ['start', () => {}],
        ['add D', (r, k) => r.addDest(k, destSpec('127.0.0.1', extra.port, 1), clock())],
        ['B weight 0', (r, k) => r.editDest(k, destSpec('127.0.0.1', B!, 0))],
        ['delete C', (r, k) => r.delDest(k, addr('127.0.0.1'), C!, clock())],
        ['wrr', (r, k) => r.editService({ ...k, schedName: 'wrr' }, clock())],
        [
          'A weight 3, B weight 2',
          (r, k) => {
            r.editDest(k, destSpec('127.0.0.1', A!, 3));
            r.editDest(k, destSpec('127.0.0.1', B!, 2));
          },
        ],
        ['add C weight 2', (r, k) => r.addDest(k, destSpec('127.0.0.1', C!, 2), clock())],
        ['rr again', (r, k) => r.editService({ ...k, schedName: 'rr' }, clock())],
      ];
      try {
        for (const [what, change] of steps) {
          both(change);
          const want: string[] = [];
          const got: string[] = [];
          for (let k = 0; k < 7; k++) {
            want.push(names.get(oracle.findService(okey)!.sched!.schedule(p, 0)!.port)!);
            got.push((await fetchName(d.vport)).name);
          }
          assert.equal(got.join(' '), want.join(' '), `after ${what}`);
        }
        const picked = d.engine.workerPicked().reduce((a, b) => a + b, 0);
        assert.ok(picked >= 40, `the workers picked most dests themselves: ${picked} of 56`);
      } finally {
        await d.engine.stop();
        extra.server.close();
      }
    });

    it('a real server that answers and closes at once: the client gets every byte, then EOF, and the conn leaves ESTABLISHED', async () => {
      // One segment, several, and more than the worker reads at a time (256 KiB): the FIN is
      // already queued behind the data when the worker reads, whatever the size.
      const sizes = [5, 70_000, 300_000];
      const answer = Buffer.alloc(300_000);
      for (let i = 0; i < answer.length; i++) answer[i] = (i * 7 + 3) & 0xff;
      const closer = createServer((s) => {
        s.once('data', (d) => s.end(answer.subarray(0, Number(d.toString()))));
        s.on('error', () => {});
      });
      await new Promise<void>((r) => closer.listen(0, '127.0.0.1', () => r()));
      const ipvs = new Ipvs({ env: makeEnv(), now: clock() });
      const engine = new ProxyEngine(quiet, { workers: 2 });
      await engine.start(ipvs, clock);
      try {
        const vport = await freePort();
        const key = svcSpec('127.0.0.1', vport, { schedName: 'rr' });
        ipvs.rules.addService(key, clock());
        ipvs.rules.addDest(key, destSpec('127.0.0.1', (closer.address() as AddressInfo).port, 1), clock());
        for (const size of sizes) {
          const got = await new Promise<Buffer>((resolve, reject) => {
            const parts: Buffer[] = [];
            const s = connect({ port: vport, host: '127.0.0.1' }, () => s.write(String(size)));
            s.on('data', (d: Buffer) => parts.push(d));
            s.on('end', () => {
              resolve(Buffer.concat(parts));
              s.end();
            });
            s.on('error', reject);
          });
          assert.equal(got.length, size);
          assert.ok(got.equals(answer.subarray(0, size)), `the ${size} bytes arrive intact`);
        }
        await new Promise((r) => setTimeout(r, 50));
        await engine.settle();
        const states: string[] = [];
        ipvs.forEachConn(clock(), (c) => {
          if (c.vport === vport) states.push(c.state);
        });
        assert.equal(states.length, sizes.length);
        assert.ok(!states.includes('ESTABLISHED'), `every conn saw both FINs: ${states.join(' ')}`);
        const st = ipvs.rules.findService(key)!.stats.snapshot();
        assert.equal(st.outbytes, BigInt(sizes.reduce((a, b) => a + b, 0)));
      } finally {
        await engine.stop();
        closer.close();
      }
    });

    it('a worker that dies is replaced: its connections are closed, the service goes on on both workers', async () => {
      const logs: string[] = [];
      const ipvs = new Ipvs({ env: makeEnv(), now: clock() });
      const engine = new ProxyEngine((m) => logs.push(m), { workers: 2 });
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
        // A worker reports what it accepted through its outbox: settle (a round trip behind
        // those reports) before reading the per-worker counts, or worker 0 may not have told yet.
        await engine.settle();
        const onWorker0 = engine.workerConns()[0]!;
        const dest = () => ipvs.rules.findService(key)!.dests[0]!;
        assert.equal(dest().activeConns, 10);
        await engine.killWorker(0);
        for (let i = 0; i < 100 && clients.filter((c) => c.closed).length < onWorker0; i++) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(clients.filter((c) => c.closed).length, onWorker0, "exactly the dead worker's connections are closed");
        assert.ok(
          logs.some((l) => l.includes('worker 0 exited') && l.includes('a new worker takes its place')),
          logs.join('\n'),
        );
        assert.equal(dest().activeConns, 10 - onWorker0, 'the core saw them reset');
        await engine.settle(); // the new worker is up and has its listening socket
        ipvs.rules.editDest(key, destSpec('127.0.0.1', hport, 0));
        ipvs.rules.addDest(key, destSpec('127.0.0.1', backends[0]!.port, 1), clock());
        for (let k = 0; k < 30; k++) assert.equal((await fetchName(vport)).name, 'A');
        assert.ok(
          engine.workerConns().every((n) => n > 0),
          `both workers accept again: ${engine.workerConns()}`,
        );
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
      const engine = new ProxyEngine(quiet, { workers: 2 });
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

    describe('UDP', () => {
      let echoes: { name: string; port: number; sock: UdpSocket }[] = [];
      before(async () => {
        echoes = await udpEchoes(['U1', 'U2']);
      });
      after(() => {
        for (const e of echoes) e.sock.close();
      });

      async function udpDirector(flags = 0) {
        const ipvs = new Ipvs({ env: makeEnv(), now: clock() });
        const engine = new ProxyEngine(quiet, { workers: 2 });
        await engine.start(ipvs, clock);
        const vport = await freePort();
        const key = svcSpec('127.0.0.1', vport, { schedName: 'rr', protocol: IPPROTO_UDP, flags });
        ipvs.rules.addService(key, clock());
        for (const e of echoes) ipvs.rules.addDest(key, destSpec('127.0.0.1', e.port, 1), clock());
        assert.deepEqual(engine.status().interfaces, [`udp 127.0.0.1:${vport}`]);
        return { ipvs, engine, vport, key };
      }

      it('16 clients: each flow stays on its dest; counters and the conn table are exact', async () => {
        const d = await udpDirector();
        try {
          const clients = await Promise.all(Array.from({ length: 16 }, (_, k) => udpClient(`127.0.4.${k + 1}`)));
          let inBytes = 0;
          let outBytes = 0;
          const seen = await Promise.all(
            clients.map(async (c, k) => {
              const names = new Set<string>();
              for (let i = 0; i < 4; i++) {
                const msg = `c${k}-${i}`;
                const reply = await c.ask(d.vport, msg);
                inBytes += msg.length;
                outBytes += reply.length;
                assert.equal(reply.split(':')[1], msg);
                names.add(reply.split(':')[0]!);
              }
              return [...names];
            }),
          );
          for (const c of clients) c.close();
          for (const names of seen) assert.equal(names.length, 1, `one flow, one dest: ${names}`);
          const per = seen.reduce<Record<string, number>>((m, [n]) => ({ ...m, [n!]: (m[n!] ?? 0) + 1 }), {});
          assert.deepEqual(per, { U1: 8, U2: 8 }, 'rr over 16 new flows');
          const flows = d.engine.workerFlows();
          assert.equal(
            flows.reduce((a, b) => a + b, 0),
            16,
          );
          assert.ok(
            flows.every((n) => n > 0),
            `both workers served flows: ${flows}`,
          );
          await d.engine.settle();
          const st = d.ipvs.rules.findService(d.key)!.stats.snapshot();
          assert.equal(st.conns, 16n);
          assert.equal(st.inpkts, 64n);
          assert.equal(st.outpkts, 64n);
          assert.equal(st.inbytes, BigInt(inBytes));
          assert.equal(st.outbytes, BigInt(outBytes));
          let listed = 0;
          d.ipvs.forEachConn(clock(), (c) => {
            if (c.vport === d.vport) listed++;
          });
          assert.equal(listed, 16, 'one conn per flow');
        } finally {
          await d.engine.stop();
        }
      });

      it('-o schedules every datagram', async () => {
        const d = await udpDirector(IP_VS_SVC_F_ONEPACKET);
        try {
          const c = await udpClient('127.0.4.100');
          const names: string[] = [];
          for (let i = 0; i < 8; i++) names.push((await c.ask(d.vport, `p${i}`)).split(':')[0]!);
          c.close();
          assert.deepEqual(names, ['U2', 'U1', 'U2', 'U1', 'U2', 'U1', 'U2', 'U1']);
          await d.engine.settle();
          const st = d.ipvs.rules.findService(d.key)!.stats.snapshot();
          assert.equal(st.conns, 8n);
          assert.equal(st.inpkts, 8n);
        } finally {
          await d.engine.stop();
        }
      });

      it("deleting a dest drops its flows' datagrams, as the kernel does; new flows go elsewhere", async () => {
        const d = await udpDirector();
        try {
          const c1 = await udpClient('127.0.4.101');
          const first = (await c1.ask(d.vport, 'a')).split(':')[0]!;
          assert.equal((await c1.ask(d.vport, 'b')).split(':')[0], first);
          const gone = echoes.find((e) => e.name === first)!;
          const other = echoes.find((e) => e.name !== first)!;
          d.ipvs.rules.delDest(d.key, destSpec('127.0.0.1', gone.port).addr, gone.port, clock());
          const replies: string[] = [];
          c1.ask(d.vport, 'c').then(
            (r) => replies.push(r),
            () => {},
          );
          for (let i = 0; i < 200 && d.engine.status().drops['not-for-service'] === undefined; i++) {
            await d.engine.settle();
            await new Promise((r) => setTimeout(r, 10));
          }
          assert.equal(d.engine.status().drops['not-for-service'], 1, 'the datagram was dropped by the core');
          const c2 = await udpClient('127.0.4.102');
          assert.equal((await c2.ask(d.vport, 'd')).split(':')[0], other.name);
          c2.close();
          c1.close();
          assert.deepEqual(replies, []);
        } finally {
          await d.engine.stop();
        }
      });

      it("the core's UDP timeout ends a flow: its next datagram is scheduled again", async () => {
        const d = await udpDirector();
        d.ipvs.rules.setTimeouts({ tcp: 0, tcpfin: 0, udp: 1 });
        const ticker = setInterval(() => d.ipvs.tick(clock()), 100);
        try {
          const c = await udpClient('127.0.4.103');
          const first = (await c.ask(d.vport, 'a')).split(':')[0]!;
          const count = () => {
            let n = 0;
            d.ipvs.forEachConn(clock(), (v) => {
              if (v.vport === d.vport) n++;
            });
            return n;
          };
          await d.engine.settle();
          assert.equal(count(), 1);
          for (let i = 0; i < 100 && count() > 0; i++) await new Promise((r) => setTimeout(r, 50));
          assert.equal(count(), 0, 'the conn expired');
          const second = (await c.ask(d.vport, 'b')).split(':')[0]!;
          c.close();
          assert.notEqual(second, first, 'rr: the new conn goes to the other dest');
          await d.engine.settle();
          assert.equal(d.ipvs.rules.findService(d.key)!.stats.snapshot().conns, 2n);
        } finally {
          clearInterval(ticker);
          await d.engine.stop();
        }
      });
    });
  });
}

describe('the daemon with proxy workers: tsvsadm lists what every worker carried', { skip: platformOk }, () => {
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
      assert.match(status.stdout, /TCP and UDP served by 2 worker threads/);
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
      assert.equal(
        Number(inbytes),
        got.reduce((a, g) => a + g.sent, 0),
      );
      assert.equal(
        Number(outbytes),
        got.reduce((a, g) => a + g.got, 0),
      );
      const conns2 = await adm('-L', '-n', '-c');
      assert.equal(conns2.stdout.split('\n').filter((l) => l.includes(vip)).length, 40, conns2.stdout);
      // UDP: the flows served by the workers are the core's conns, listed by -c.
      const echoes = await udpEchoes(['U1', 'U2']);
      try {
        const uport = await freePort();
        const uvip = `127.0.0.1:${uport}`;
        assert.equal((await adm('-A', '-u', uvip, '-s', 'rr')).code, 0);
        for (const e of echoes) assert.equal((await adm('-a', '-u', uvip, '-r', `127.0.0.1:${e.port}`, '-m')).code, 0);
        const clients = await Promise.all(Array.from({ length: 6 }, (_, k) => udpClient(`127.0.5.${k + 1}`)));
        for (const c of clients) for (let i = 0; i < 2; i++) await c.ask(uport, `x${i}`);
        for (const c of clients) c.close();
        const ustats = await adm('-L', '-n', '--stats', '--exact');
        const uline = ustats.stdout.split('\n').find((l) => l.startsWith(`UDP  ${uvip}`));
        assert.ok(uline, ustats.stdout);
        const [, , uconns, inpkts] = uline.trim().split(/\s+/);
        assert.equal(Number(uconns), 6);
        assert.equal(Number(inpkts), 12);
        const listed = await adm('-L', '-n', '-c');
        assert.equal(listed.stdout.split('\n').filter((l) => l.startsWith('UDP') && l.includes(uvip)).length, 6, listed.stdout);
      } finally {
        for (const e of echoes) e.sock.close();
      }
    } finally {
      await inNs(null, [TSVS, 'daemon', 'stop'], { env });
      await new Promise<void>((r) => {
        if (daemon.exitCode !== null) r();
        else daemon.once('exit', () => r());
      });
    }
  });
});
