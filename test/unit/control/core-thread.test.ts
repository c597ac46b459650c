// The director's core on a thread of its own (control/core-thread.ts), with the proxy engine so
// that it runs without root: real HTTP and UDP traffic on loopback through the director, every
// command over the real control socket, and the HTTP endpoint reading the daemon thread's copy.
// Each command's bytes must be those of a director whose core runs on the daemon's thread.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, get, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONN_LIST_CHUNK } from '../../../src/adm/conns.js';
import { request } from '../../../src/cli/client.js';
import { type DaemonHandle, type DaemonStatus, startDaemon } from '../../../src/control/daemon.js';
import { type AdmReply, encodeFrame, FrameReader, isReplyPart } from '../../../src/control/protocol.js';
import { freePort } from '../../helpers/net.js';

/** UDP conns enough for five parts of -L -c, so that a reader who leaves after the first is seen leaving. */
const UDP_CONNS = 4 * CONN_LIST_CHUNK + 100;

function adm(sock: string, ...argv: string[]): Promise<AdmReply> {
  return request(sock, { op: 'adm', argv, argv0: 'ipvsadm', stdin: '' }, 10_000) as Promise<AdmReply>;
}

function httpGet(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => {
        body += b.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('request timed out')));
  });
}

/** One datagram from each of `n` sockets, all open at once (a closed one's port could come back): n UDP conns. */
async function udpConns(port: number, n: number): Promise<void> {
  const socks = Array.from({ length: n }, () => createSocket('udp4'));
  try {
    for (let i = 0; i < n; i += 20) {
      await Promise.all(
        socks
          .slice(i, i + 20)
          .map((s) => new Promise<void>((resolve, reject) => s.send('x', port, '127.0.0.1', (e) => (e ? reject(e) : resolve())))),
      );
      // Paced so that the director's socket buffer never overflows.
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    for (const s of socks) s.close();
  }
}

describe('daemon: the core on a thread of its own', () => {
  let dir = '';
  let backend: Server;
  let bport = 0;
  let uport = 0;
  let vport = 0;
  let pport = 0;
  let d: DaemonHandle;
  let plain: DaemonHandle;
  let plainDir = '';
  const lines: string[] = [];
  const udp = createSocket('udp4');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsvs-core-thread-'));
    plainDir = mkdtempSync(join(tmpdir(), 'tsvs-core-plain-'));
    backend = createHttpServer((_req, res) => res.end('backend\n'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
    bport = (backend.address() as AddressInfo).port;
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    uport = udp.address().port;
    vport = await freePort();
    pport = await freePort();
    d = await startDaemon({
      engine: 'proxy',
      runDir: dir,
      log: (m) => lines.push(m),
      watchNamespace: false,
      coreThread: true,
      http: '127.0.0.1:0',
    });
    plain = await startDaemon({ engine: 'proxy', runDir: plainDir, log: () => {}, watchNamespace: false });
  });

  after(async () => {
    await d?.stop();
    await plain?.stop();
    backend?.close();
    udp.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(plainDir, { recursive: true, force: true });
  });

  it('takes rules, answers with the same bytes as a director on one thread, and forwards', async () => {
    // The director on one thread serves its own VIP port (two UDP sockets on one port would
    // share its datagrams); its answers are compared with that port's number swapped.
    const rules = (port: number) => [
      ['-A', '-t', `127.0.0.1:${port}`, '-s', 'wrr'],
      ['-a', '-t', `127.0.0.1:${port}`, '-r', `127.0.0.1:${bport}`, '-m', '-w', '3'],
      ['-A', '-u', `127.0.0.1:${port}`, '-s', 'rr'],
      ['-a', '-u', `127.0.0.1:${port}`, '-r', `127.0.0.1:${uport}`, '-m'],
      // refused the same way on both, and changes nothing
      ['-a', '-t', '127.0.0.1:1', '-r', '127.0.0.1:2', '-m'],
    ];
    const mine = rules(vport);
    const theirs = rules(pport);
    for (let i = 0; i < mine.length; i++) {
      assert.deepEqual(await adm(d.socket, ...mine[i]!), await adm(plain.socket, ...theirs[i]!), mine[i]!.join(' '));
    }
    assert.equal((await adm(d.socket, '-a', '-t', '127.0.0.1:1', '-r', '127.0.0.1:2', '-m')).code, 255);
    // The daemon thread's copy of the rules follows.
    assert.equal(d.ipvs.rules.serviceCount, 2);
    const same = async (...argv: string[]) =>
      assert.equal((await adm(d.socket, ...argv)).stdout, (await adm(plain.socket, ...argv)).stdout.replaceAll(`:${pport}`, `:${vport}`));
    await same('-L', '-n');
    for (let i = 0; i < 3; i++) assert.deepEqual(await httpGet(vport), { status: 200, body: 'backend\n' });
    await udpConns(vport, UDP_CONNS);
    const counted = new RegExp(`UDP  127\\.0\\.0\\.1:${vport}\\s+${UDP_CONNS} `);
    let stats = await adm(d.socket, '-L', '-n', '--stats');
    for (let i = 0; i < 100 && !counted.test(stats.stdout); i++) {
      await new Promise((r) => setTimeout(r, 20));
      stats = await adm(d.socket, '-L', '-n', '--stats');
    }
    assert.match(stats.stdout, counted);
    assert.match(stats.stdout, new RegExp(`TCP  127\\.0\\.0\\.1:${vport}\\s+3 `));
    await same('-S', '-n');
  });

  it('lists the conns of the core thread in parts, and stops a listing whose reader leaves', async () => {
    const whole = await adm(d.socket, '-L', '-c', '-n');
    assert.equal(whole.code, 0);
    const rows = whole.stdout.split('\n').filter((l) => l.startsWith('UDP '));
    assert.equal(rows.length, UDP_CONNS);
    // A raw client reads the parts as they come, then goes away after the first.
    const parts: string[] = [];
    await new Promise<void>((resolve) => {
      const s = connect(d.socket);
      const reader = new FrameReader();
      s.on('connect', () => s.write(encodeFrame({ op: 'adm', argv: ['-L', '-c', '-n'], argv0: 'ipvsadm', stdin: '' })));
      s.on('data', (b: Buffer) => {
        for (let t = reader.push(b); t !== null; t = reader.next()) {
          const v: unknown = JSON.parse(t);
          if (isReplyPart(v)) parts.push(v.part);
          if (parts.length === 1) {
            s.destroy();
            resolve();
          }
        }
      });
      s.on('error', () => undefined);
    });
    assert.ok(parts[0]!.split('\n').length <= CONN_LIST_CHUNK + 4, 'a part is at most one chunk');
    // The next command is answered; the listing that lost its reader is counted.
    assert.equal((await adm(d.socket, '-L', '-n')).code, 0);
    let st = (await request(d.socket, { op: 'status' }, 5000)) as DaemonStatus;
    for (let i = 0; i < 50 && !st.drops.control_closed_mid_reply; i++) {
      await new Promise((r) => setTimeout(r, 20));
      st = (await request(d.socket, { op: 'status' }, 5000)) as DaemonStatus;
    }
    assert.equal(st.drops.control_closed_mid_reply, 1);
    assert.equal(st.coreThread, true);
    assert.equal(st.services, 2);
    assert.ok(st.conns >= UDP_CONNS, `conns ${st.conns}`);
  });

  it('serves /metrics and the API from the copy, with the core thread counters', async () => {
    const url = d.httpUrl!;
    const port = Number(new URL(url).port);
    const m = await httpGet(port, '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.body, new RegExp(`\\ntsvs_service_connections_total\\{[^}]*service="-t 127\\.0\\.0\\.1:${vport}"[^}]*\\} 3\\n`));
    assert.match(
      m.body,
      new RegExp(`\\ntsvs_service_connections_total\\{[^}]*service="-u 127\\.0\\.0\\.1:${vport}"[^}]*\\} ${UDP_CONNS}\\n`),
    );
    const conns = Number(/\ntsvs_connections (\d+)/.exec(m.body)?.[1]);
    assert.ok(conns >= UDP_CONNS, `tsvs_connections ${conns}`);
    assert.match(m.body, /\ntsvs_connection_table_bytes [1-9]\d*\n/);
    const svcs = JSON.parse((await httpGet(port, '/api/v1/services')).body) as {
      services: { rule: string; stats: { conns: number }; dests: { activeConns: number; inactConns: number }[] }[];
    };
    const u = svcs.services.find((s) => s.rule === `-u 127.0.0.1:${vport}`)!;
    assert.equal(u.stats.conns, UDP_CONNS);
    assert.equal(u.dests[0]!.activeConns + u.dests[0]!.inactConns, UDP_CONNS);
    const list = JSON.parse((await httpGet(port, '/api/v1/conns?limit=10')).body) as {
      total: number;
      truncated: boolean;
      conns: unknown[];
    };
    assert.equal(list.conns.length, 10);
    assert.equal(list.truncated, true);
    assert.ok(list.total >= UDP_CONNS);
    const st = JSON.parse((await httpGet(port, '/api/v1/status')).body) as { coreThread: boolean; services: number };
    assert.deepEqual([st.coreThread, st.services], [true, 2]);
    // The copy as the handle shows it, once settled.
    await d.settle();
    const svc = d.ipvs.rules.services().find((s) => s.protocol === 17)!;
    assert.equal(Number(svc.stats.value(0)), UDP_CONNS);
  });

  it('runs sysctl and vrrp-vips on the core thread', async () => {
    const w = (await request(d.socket, { op: 'sysctl', argv: ['-w', 'net.ipv4.vs.expire_nodest_conn=1'] }, 5000)) as AdmReply;
    assert.deepEqual(w, { stdout: 'net.ipv4.vs.expire_nodest_conn = 1\n', stderr: '', code: 0 });
    const r = (await request(d.socket, { op: 'sysctl', argv: ['net.ipv4.vs.expire_nodest_conn'] }, 5000)) as AdmReply;
    assert.equal(r.stdout, 'net.ipv4.vs.expire_nodest_conn = 1\n');
    const bad = (await request(d.socket, { op: 'sysctl', argv: ['-w', 'net.ipv4.vs.nope=1'] }, 5000)) as AdmReply;
    const plainBad = (await request(plain.socket, { op: 'sysctl', argv: ['-w', 'net.ipv4.vs.nope=1'] }, 5000)) as AdmReply;
    assert.deepEqual(bad, plainBad);
    assert.deepEqual(await request(d.socket, { op: 'vrrp-vips', addrs: ['192.0.2.7'] }, 5000), { ok: true, pid: process.pid });
  });

  it('fails to start with the reason when the rules cannot be restored', async () => {
    const bad = join(dir, 'bad.rules');
    writeFileSync(bad, '-A -t 127.0.0.1:80 -s nosuch\n');
    const other = mkdtempSync(join(tmpdir(), 'tsvs-core-bad-'));
    try {
      await assert.rejects(
        startDaemon({ engine: 'proxy', runDir: other, rulesFile: bad, log: () => {}, watchNamespace: false, coreThread: true }),
        /rules file .*bad\.rules was not restored \(exit 255\): Scheduler or persistence engine not found/,
      );
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
