// Fuzzer of the director's HTTP endpoint (issue #16, "Hostile input"): the real HttpServer on
// loopback around a core with rules, sent random and mutated requests on raw sockets: bad
// request lines and methods, bodies, huge headers, random bytes, and slow partial requests
// (bounded by the server's header timeout). Clients come from many 127/8 addresses so that the
// per-client rate limit is exercised but does not refuse the whole run. Invariants: every
// answer of 4xx moved a named rejection counter; a connection closed without an answer moved
// one too (or sent nothing); the server serves /metrics throughout and keeps no socket after.

import { connect } from 'node:net';
import { staticResolver } from '../../../src/adm/resolve.js';
import { runAdm } from '../../../src/adm/run.js';
import type { DaemonStatus } from '../../../src/control/daemon.js';
import { createLog } from '../../../src/control/log.js';
import { Ipvs } from '../../../src/core/ipvs.js';
import { HTTP_HEADERS_TIMEOUT_MS, HttpServer } from '../../../src/http/server.js';
import { Observers } from '../../../src/http/observers.js';
import { FuzzFailure, mutateBytes, Rng } from './rng.js';

/** Longest a case may take: the header timeout, the server's check interval, slack. */
const CASE_LIMIT_MS = HTTP_HEADERS_TIMEOUT_MS + 5000;

const PATHS = [
  '/',
  '/metrics',
  '/api/v1/status',
  '/api/v1/services',
  '/api/v1/conns',
  '/api/v1/conns?limit=5',
  '/api/v1/conns?limit=-1',
  '/api/v1/conns?limit=abc',
  '/api/v1/history',
  '/favicon.ico',
  '/nosuch',
  '/../../etc/passwd',
  '//x',
  '/%',
  '/%zz',
  '*',
  'http://x/metrics',
  '',
];
const METHODS = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'PATCH', 'get', 'G ET', 'BREW', ''];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1', 'FOO', ''];

interface Answer {
  status: number | null;
  bytes: number;
}

/** One connection: writes `chunks` (with `gapMs` between), then half-closes unless `hold`. */
function exchange(port: number, local: string, chunks: Buffer[], gapMs: number, hold = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: local });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer and no close within ${CASE_LIMIT_MS} ms`));
    }, CASE_LIMIT_MS);
    s.on('data', (b: Buffer) => {
      if (got.length < 64) got = Buffer.concat([got, b]);
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(got.toString('latin1'));
      resolve({ status: m ? Number(m[1]) : null, bytes: got.length });
    });
    s.on('connect', async () => {
      for (const c of chunks) {
        if (s.destroyed) return;
        s.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      if (!hold && !s.destroyed) s.end();
    });
  });
}

export interface HttpFuzzResult {
  requests: number;
  statuses: Record<string, number>;
  rejected: Record<string, number>;
  served: number;
}

export async function runHttpFuzz(count: number, seed = 1): Promise<HttpFuzzResult> {
  const r = new Rng(seed);
  const ipvs = new Ipvs({ now: 0 });
  const rules = '-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 10.0.0.1:8080 -m\n-A -u [2001:db8::1]:53 -s wlc\n';
  const res = await runAdm(['-R'], 'ipvsadm', { ipvs, now: 0, stdin: rules, resolver: staticResolver({}) });
  if (res.code !== 0) throw new Error(`http fuzz: rules refused: ${res.stderr}`);
  const status = (): DaemonStatus => ({
    engine: 'packet',
    interfaces: [],
    unserved: [],
    drops: {},
    maxConns: 0,
    pid: process.pid,
    netns: '0',
    services: 2,
    conns: 0,
    connTableBytes: 0,
    coreThread: false,
  });
  const observers = new Observers();
  const log = createLog({ level: 'error', file: '/dev/null' });
  const server = new HttpServer({ host: '127.0.0.1', port: 0, director: { ipvs, now: () => 0, status, observers }, log });
  await server.listen();
  const port = server.port;
  const statuses: Record<string, number> = {};
  const rejectedTotal = () => Object.values(server.rejected).reduce((a, b) => a + b, 0);
  let client = 0;
  const local = () => `127.${1 + ((client >> 16) % 250)}.${(client >> 8) & 255}.${1 + (client & 127)}`;
  const slow: Promise<void>[] = [];

  const request = (): { chunks: Buffer[]; gap: number; slow: boolean } => {
    const line = `${r.pick(METHODS)} ${r.pick(PATHS)} ${r.pick(VERSIONS)}`;
    const headers = ['host: x'];
    switch (r.int(10)) {
      case 0:
        headers.push(`x-big: ${'a'.repeat(8192 + r.int(20_000))}`);
        break;
      case 1:
        headers.push(r.pick(['content-length: 5', 'transfer-encoding: chunked', 'content-length: -1', 'content-length: 1, 2']));
        break;
      case 2:
        headers.push(
          r.pick(['bad header', ': x', 'x:\u0000', 'a'.repeat(300) + ': 1', 'host: y', 'upgrade: websocket\r\nconnection: upgrade']),
        );
        break;
      case 3:
        for (let k = 0; k < 200; k++) headers.push(`x-h${k}: ${k}`);
        break;
      default:
    }
    if (r.chance(0.5)) headers.push('connection: close');
    let text = Buffer.from(`${line}\r\n${headers.join('\r\n')}\r\n\r\n${r.chance(0.1) ? 'hello' : ''}`, 'latin1');
    const kind = r.int(20);
    if (kind === 0) return { chunks: [Buffer.from(r.bytes(r.int(200)))], gap: 0, slow: false };
    if (kind === 1) text = Buffer.from(mutateBytes(r, new Uint8Array(text), 0));
    if (kind === 2 && slow.length < 4) {
      // slowloris: a byte at a time, never finished; the header timeout cuts it
      const at = 1 + r.int(text.length - 4);
      return { chunks: Array.from({ length: Math.min(at, 20) }, (_, k) => text.subarray(k, k + 1)), gap: 400, slow: true };
    }
    if (kind === 3) text = text.subarray(0, r.int(text.length)); // cut; the client then waits
    return { chunks: [text], gap: 0, slow: kind === 3 };
  };

  try {
    for (let i = 0; i < count; i++) {
      if (i % 30 === 0) client++;
      const q = request();
      const shown = Buffer.concat(q.chunks).toString('latin1').slice(0, 300);
      const check = async (from: string) => {
        const before = rejectedTotal();
        const servedBefore = server.served;
        let a: Answer;
        try {
          a = await exchange(port, from, q.chunks, q.gap, q.slow);
        } catch (e) {
          throw new FuzzFailure('http', seed, i, (e as Error).message, shown);
        }
        await new Promise((done) => setImmediate(done));
        statuses[String(a.status)] = (statuses[String(a.status)] ?? 0) + 1;
        const rejectedNow = rejectedTotal() - before;
        if (a.status !== null && a.status >= 400 && rejectedNow === 0)
          throw new FuzzFailure('http', seed, i, `answered ${a.status} without a rejection counted`, shown);
        const servedNow = server.served - servedBefore;
        if (a.status === null && rejectedNow === 0 && servedNow === 0 && q.chunks.some((c) => c.length > 0) && !q.slow)
          throw new FuzzFailure('http', seed, i, 'closed without an answer and without a counted reason', shown);
      };
      if (q.slow && q.gap > 0) {
        // Slow clients run beside the others (each takes the header timeout), from their own address.
        client++;
        const p = check(local()).finally(() => slow.splice(slow.indexOf(p), 1));
        slow.push(p);
      } else if (q.slow) {
        // A cut request: the client waits; the server must cut it at its header timeout.
        client++;
        const p = check(local()).finally(() => slow.splice(slow.indexOf(p), 1));
        slow.push(p);
        if (slow.length > 8) await Promise.race(slow);
      } else await check(local());
      if (i % 50 === 49) {
        client++;
        const m = await exchange(port, local(), [Buffer.from('GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')], 0);
        if (m.status !== 200) throw new FuzzFailure('http', seed, i, `/metrics answered ${m.status}`, shown);
      }
    }
    await Promise.all(slow);
  } finally {
    await server.close();
  }
  return { requests: count, statuses, rejected: { ...server.rejected }, served: server.served };
}
