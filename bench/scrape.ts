// `npm run bench -- scrape`: the cost of /metrics on a director with 1,000 services x 10 real
// servers (target: under 50 ms per scrape), against the peer `tsvsadm -L -n --stats` of the same
// director in the same run; then the forwarding rate of a real director (proxy engine, a child
// process) with one scrape a second (from a process of its own) against the same director unscraped,
// alternating phases.
// TSVS_BENCH_SCRAPE_PEER=DIR (another checkout, e.g. /work/main) adds that tree's renderer on
// its own copy of the same director as a second peer, alternating with ours in this process,
// and checks that both write the same bytes.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadAdmRunner } from '../src/control/adm-runner.js';
import type { DaemonStatus } from '../src/control/daemon.js';
import { IP_VS_CONN_F_MASQ } from '../src/core/constants.js';
import { defaultDestSpec } from '../src/core/dest.js';
import { Addr } from '../src/core/inet.js';
import { Ipvs } from '../src/core/ipvs.js';
import { STAT_CONNS, STAT_INBYTES, STAT_INPKTS } from '../src/core/stats.js';
import { collectMetricsBuffer } from '../src/http/metrics.js';
import { Observers } from '../src/http/observers.js';

export const SCRAPE_TARGET_MS = 50;
const SERVICES = 1000;
const DESTS = 10;
const RUNS = 15;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function bigDirector(): Ipvs {
  const ipvs = new Ipvs();
  for (let i = 0; i < SERVICES; i++) {
    const vip = Addr.v4((10 << 24) | (1 << 16) | i);
    const key = {
      af: 2 as const,
      protocol: 6,
      addr: vip,
      port: 80,
      fwmark: 0,
      schedName: 'wlc',
      flags: 0,
      timeout: 0,
      netmask: 0xffffffff,
      peName: '',
    };
    ipvs.rules.addService(key, 0);
    for (let j = 0; j < DESTS; j++) {
      const d = ipvs.rules.addDest(
        key,
        { ...defaultDestSpec(Addr.v4((10 << 24) | (2 << 16) | (i << 4) | j), 8080), fwd: IP_VS_CONN_F_MASQ, weight: j + 1 },
        0,
      );
      d.activeConns = i + j;
      d.stats.setRaw(STAT_CONNS, BigInt(1000 * i + j));
      d.stats.setRaw(STAT_INPKTS, BigInt(123456789 * (j + 1)));
      d.stats.setRaw(STAT_INBYTES, BigInt(98765432109 * (j + 1)));
    }
  }
  return ipvs;
}

type Render = (d: never, meta: { lastDurationSeconds: number }) => Buffer;
interface Tree {
  render: Render;
  director(): Ipvs;
  observers(): Observers;
}

/** Another checkout's renderer and bench director (loaded from its sources through tsx). */
async function peerTree(dir: string): Promise<Tree> {
  const m = (await import(join(dir, 'src/http/metrics.ts'))) as { collectMetricsBuffer: Render };
  const b = (await import(join(dir, 'bench/scrape.ts'))) as { bigDirector(): Ipvs };
  const o = (await import(join(dir, 'src/http/observers.ts'))) as { Observers: new () => Observers };
  return { render: m.collectMetricsBuffer, director: () => b.bigDirector(), observers: () => new o.Observers() };
}

/** Lines that differ between any two scrapes: the process's own figures. */
const volatile = (b: Buffer) => b.toString('latin1').replace(/\n(process_|tsvs_connection_table_bytes)[^\n]*/g, '');

async function scrapeCost(): Promise<void> {
  const status: DaemonStatus = {
    engine: 'packet',
    interfaces: ['eth0'],
    unserved: [],
    drops: { no_dest: 1 },
    pid: process.pid,
    netns: '1',
    services: SERVICES,
    conns: 0,
    connTableBytes: 0,
    coreThread: false,
    maxConns: 0,
  };
  const ipvs = bigDirector();
  const d = { ipvs, now: () => 0, status: () => status, observers: new Observers() };
  const peerDir = process.env.TSVS_BENCH_SCRAPE_PEER;
  const tree = peerDir ? await peerTree(peerDir) : null;
  const pd = tree ? { ipvs: tree.director(), now: () => 0, status: () => status, observers: tree.observers() } : null;
  const meta = { lastDurationSeconds: 0 };
  if (tree && volatile(tree.render(pd as never, meta)) !== volatile(collectMetricsBuffer(d, meta))) {
    throw new Error(`the scrape of ${peerDir} and this tree's differ on the same director`);
  }
  const runAdm = await loadAdmRunner();
  const scrape: number[] = [];
  const scrapeCpu: number[] = [];
  const list: number[] = [];
  const listCpu: number[] = [];
  const peer: number[] = [];
  const peerCpu: number[] = [];
  let bytes = 0;
  let lines = 0;
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (let r = 0; r < RUNS + 3; r++) {
    // CPU time beside wall time: on a shared machine the wall clock counts other processes too.
    const u0 = cpuMs();
    const a = performance.now();
    const text = collectMetricsBuffer(d, meta);
    const b = performance.now();
    const u1 = cpuMs();
    const l = await runAdm(['-L', '-n', '--stats'], 'tsvsadm', { ipvs, now: 0, stdin: '' });
    const c = performance.now();
    const u2 = cpuMs();
    if (tree) tree.render(pd as never, meta);
    const e = performance.now();
    const u3 = cpuMs();
    if (r < 3) continue; // warm-up
    scrape.push(b - a);
    list.push(c - b);
    peer.push(e - c);
    scrapeCpu.push(u1 - u0);
    listCpu.push(u2 - u1);
    peerCpu.push(u3 - u2);
    bytes = text.length;
    if (r === 3) lines = text.toString('latin1').split('\n').length - 1;
    if (l.code !== 0) throw new Error(`tsvsadm -L failed: ${l.stderr}`);
  }
  const m = median(scrape);
  const p = median(list);
  process.stdout.write(
    `\n/metrics of ${SERVICES} services x ${DESTS} real servers (${lines} lines, ${(bytes / 1e6).toFixed(1)} MB; median of ${RUNS}; peer: tsvsadm -L -n --stats of the same director)\n`,
  );
  const mc = median(scrapeCpu);
  const pc = median(listCpu);
  process.stdout.write(
    `  wall: scrape ${m.toFixed(1)} ms, peer ${p.toFixed(1)} ms, ratio ${(m / p).toFixed(2)}; target < ${SCRAPE_TARGET_MS} ms: ${m < SCRAPE_TARGET_MS ? 'met' : 'MISSED'}\n` +
      `  CPU:  scrape ${mc.toFixed(1)} ms, peer ${pc.toFixed(1)} ms, ratio ${(mc / pc).toFixed(2)}; load average ${loadavg()[0]!.toFixed(1)} on this machine\n`,
  );
  if (tree) {
    const w = median(peer);
    const c = median(peerCpu);
    process.stdout.write(
      `  the scrape of ${peerDir} (same bytes, same run): wall ${w.toFixed(1)} ms, ratio ${(m / w).toFixed(2)}; CPU ${c.toFixed(1)} ms, ratio ${(mc / c).toFixed(2)}\n`,
    );
  }
}

// --- forwarding with and without scrapes ------------------------------------------------------

const PHASE_MS = 4000;
const CONCURRENCY = 8;

function fetchOnce(port: number, path = '/'): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('forwarded request timed out')));
  });
}

/** Requests that failed or timed out in the forwarding phases (reported, not fatal: a loaded machine has some). */
let failedRequests = 0;

async function load(port: number, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let n = 0;
  const worker = async () => {
    while (performance.now() < end) {
      try {
        await fetchOnce(port);
        n++;
      } catch {
        failedRequests++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return n / (ms / 1000);
}

/** One GET of /metrics a second on port argv[1], until killed; prints ms per scrape or 'fail'. */
const SCRAPER = `
const { get } = require('node:http');
const port = Number(process.argv[1]);
const once = () => {
  const a = performance.now();
  const done = (ok) => { process.stdout.write(ok ? (performance.now() - a).toFixed(1) + '\\n' : 'fail\\n'); setTimeout(once, 1000); };
  const req = get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => { res.resume(); res.on('end', () => done(true)); });
  req.on('error', () => done(false));
  req.setTimeout(5000, () => req.destroy(new Error('timeout')));
};
once();
`;

async function forwarding(): Promise<void> {
  const backend: Server = createServer((_q, res) => {
    res.writeHead(200, { connection: 'close', 'content-length': 3 });
    res.end('ok\n');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  const bport = (backend.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-bench-scrape-'));
  const vip = 20000 + (process.pid % 20000);
  const http = vip + 1;
  const lines = [`-A -t 127.0.0.1:${vip} -s rr`, `-a -t 127.0.0.1:${vip} -r 127.0.0.1:${bport} -m`];
  // The big part as fwmark services: listed and scraped like any, no listener sockets needed.
  for (let i = 1; i <= SERVICES; i++) {
    lines.push(`-A -f ${i} -s wlc`);
    for (let j = 0; j < DESTS; j++) lines.push(`-a -f ${i} -r 10.2.${i >> 4}.${((i & 15) << 4) | j}:8080 -g -w ${j + 1}`);
  }
  writeFileSync(join(dir, 'rules'), `${lines.join('\n')}\n`);
  const bin = fileURLToPath(new URL('../bin/tsvs', import.meta.url));
  const child = spawn(
    process.execPath,
    [bin, 'daemon', '--engine', 'proxy', '--rules', join(dir, 'rules'), '--http', `127.0.0.1:${http}`, '--log-level', 'error'],
    { env: { ...process.env, TSVS_RUN_DIR: dir }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    const up = performance.now() + 30_000;
    for (;;) {
      try {
        await fetchOnce(http);
        break;
      } catch {
        if (performance.now() > up) throw new Error('the bench director did not start within 30 s');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const scrapeMs: number[] = [];
    const withOut: number[] = [];
    const withScrape: number[] = [];
    await load(vip, 1000); // warm-up
    for (let round = 0; round < 2; round++) {
      withOut.push(await load(vip, PHASE_MS));
      // The scraper is a process of its own, so that reading 13 MB a second does not take
      // CPU from the load generator's process (it prints each scrape's ms, or 'fail').
      const scraper = spawn(process.execPath, ['-e', SCRAPER, String(http)], { stdio: ['ignore', 'pipe', 'inherit'] });
      scraper.stdout.on('data', (b: Buffer) => {
        for (const l of b.toString().split('\n').filter(Boolean)) {
          if (l === 'fail') failedRequests++;
          else scrapeMs.push(Number(l));
        }
      });
      withScrape.push(await load(vip, PHASE_MS));
      scraper.kill('SIGTERM');
      await new Promise((r) => scraper.once('exit', r));
    }
    const a = median(withOut);
    const b = median(withScrape);
    process.stdout.write(
      `\nForwarding through the proxy engine (HTTP/1.1 requests, new connection each, ${CONCURRENCY} clients, ${PHASE_MS / 1000} s phases, alternating)\n`,
    );
    process.stdout.write(
      `  without scrapes ${a.toFixed(0)} req/s, with 1 scrape/s of /metrics ${b.toFixed(0)} req/s, ratio ${(b / a).toFixed(2)}\n`,
    );
    process.stdout.write(
      `  /metrics end to end over HTTP (${SERVICES + 1} services): median ${scrapeMs.length ? `${median(scrapeMs).toFixed(1)} ms` : 'none completed'}\n`,
    );
    process.stdout.write(`  failed or timed-out requests (5 s): ${failedRequests}; load average ${loadavg()[0]!.toFixed(1)}\n`);
    process.stdout.write(
      `  phases: without ${withOut.map((x) => x.toFixed(0)).join(', ')}; with ${withScrape.map((x) => x.toFixed(0)).join(', ')}\n`,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchScrape(): Promise<void> {
  await scrapeCost();
  // TSVS_BENCH_FORWARDING=0 skips the forwarding phases (about 20 s).
  if (process.env.TSVS_BENCH_FORWARDING !== '0') await forwarding();
}
