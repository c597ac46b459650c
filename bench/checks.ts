// `npm run bench -- checks`: CPU of 1,000 real servers checked every second by TCP_CHECK and
// by HTTP_GET (issue #14 target: under 10 % of one core), through the real checker path
// (LvsManager, Checker, probes) against real listeners on 1,000 loopback addresses, on the epoll
// probe driver and on Node's sockets (its fallback) alternating in one run. Peers in the same
// run: the backends' process over the same window (the same exchanges' other end, and a gauge of
// the machine's load), and a bare loop doing the same connects/GETs with node:net/node:http and
// no checker machinery.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpGet } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { staticResolver } from '../src/adm/resolve.js';
import { runAdm } from '../src/adm/run.js';
import { Ipvs } from '../src/core/ipvs.js';
import { driverNote, probeDriver, resetProbeDriver } from '../src/ha/check/driver/select.js';
import { parseConfText } from '../src/ha/conf/parse.js';
import { lvsFromConf } from '../src/ha/lvs/config.js';
import { LvsManager } from '../src/ha/lvs/manager.js';

const N = 1000;
const PORT = 18080;
const WARMUP_MS = 2000;
const MEASURE_MS = 6000;
const TARGET_PCT = 10;

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds used so far by process `pid` (user + system), from /proc/PID/stat. */
function procCpuSec(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / USER_HZ;
}

const addrOf = (i: number): string => `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;

function confText(kind: 'TCP_CHECK' | 'HTTP_GET'): string {
  const check = kind === 'TCP_CHECK' ? 'TCP_CHECK {\n}' : 'HTTP_GET {\n url {\n  path /\n }\n}';
  let rs = '';
  for (let i = 0; i < N; i++) rs += `real_server ${addrOf(i)} ${PORT} {\n${check}\n}\n`;
  return `virtual_server 10.255.0.1 80 {\n delay_loop 1\n connect_timeout 2\n lb_algo rr\n protocol TCP\n${rs}}\n`;
}

/** CPU of this process over MEASURE_MS, as % of one core, while `run`'s work goes on. */
let backendsPid = 0;

/** CPU of this process over MEASURE_MS, as % of one core, while `run`'s work goes on; and of
 *  the backends' process over the same window (the peer that answers the same checks). */
async function measure(run: () => Promise<() => void>, onStart: () => void = () => {}): Promise<{ pct: number; backendsPct: number }> {
  const stop = await run();
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  onStart();
  const c0 = process.cpuUsage();
  const b0 = procCpuSec(backendsPid);
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  const c = process.cpuUsage(c0);
  const b = procCpuSec(backendsPid) - b0;
  const wall = Number(process.hrtime.bigint() - t0) / 1e3;
  stop();
  return { pct: ((c.user + c.system) / wall) * 100, backendsPct: ((b * 1e6) / wall) * 100 };
}

async function tsvsCheckers(
  kind: 'TCP_CHECK' | 'HTTP_GET',
): Promise<{ pct: number; backendsPct: number; perSec: number; failures: number }> {
  const lvs = lvsFromConf(parseConfText(confText(kind), 'bench.conf').nodes);
  if (lvs.errors.length) throw new Error(lvs.errors[0]?.text);
  const ipvs = new Ipvs();
  const resolver = staticResolver({});
  const m = new LvsManager({ run: (argv) => runAdm(argv, 'ipvsadm', { ipvs, now: 0, resolver, stdin: '' }) }, () => {});
  const countChecks = (): { t: number; f: number } => {
    let t = 0;
    let f = 0;
    for (const vs of m.status())
      for (const rs of vs.realServers)
        for (const c of rs.checkers) {
          t += c.checks;
          f += c.consecutiveFailures;
        }
    return { t, f };
  };
  let atStart = 0;
  let atEnd = 0;
  let failures = 0;
  const r = await measure(
    async () => {
      await m.apply(lvs.config);
      return () => {
        ({ t: atEnd, f: failures } = countChecks());
        void m.shutdown();
      };
    },
    () => {
      atStart = countChecks().t;
    },
  );
  return { pct: r.pct, backendsPct: r.backendsPct, perSec: Math.round(((atEnd - atStart) * 1000) / MEASURE_MS), failures };
}

async function bareLoop(kind: 'TCP_CHECK' | 'HTTP_GET'): Promise<{ pct: number }> {
  const timers: NodeJS.Timeout[] = [];
  const once = (i: number): void => {
    if (kind === 'TCP_CHECK') {
      const s = connect(PORT, addrOf(i));
      s.once('connect', () => s.destroy());
      s.once('error', () => s.destroy());
    } else {
      const q = httpGet({ host: addrOf(i), port: PORT, path: '/', agent: false }, (res) => res.resume());
      q.once('error', () => q.destroy());
      q.end();
    }
  };
  const r = await measure(async () => {
    for (let i = 0; i < N; i++) {
      const t = setTimeout(
        () => {
          once(i);
          timers.push(setInterval(() => once(i), 1000));
        },
        Math.floor((i * 1000) / N),
      );
      timers.push(t);
    }
    return () => timers.forEach((t) => clearTimeout(t));
  });
  return { pct: r.pct };
}

/** Runs `fn` with TCP_CHECK and HTTP_GET on the given sockets (driver/select.ts). */
async function withSockets<T>(sockets: 'epoll' | 'node', fn: () => Promise<T>): Promise<T> {
  const before = process.env.TSVS_CHECK_SOCKETS;
  process.env.TSVS_CHECK_SOCKETS = sockets;
  resetProbeDriver();
  if (sockets === 'epoll' && !probeDriver()) throw new Error(`bench checks: ${driverNote()}`);
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.TSVS_CHECK_SOCKETS;
    else process.env.TSVS_CHECK_SOCKETS = before;
    resetProbeDriver();
  }
}

export async function benchChecks(): Promise<void> {
  const file = fileURLToPath(new URL('./checks-backends.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', file, String(N), String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
  backendsPid = child.pid ?? 0;
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`backends exited with ${c}`)));
  });
  const rows: Record<string, string | number>[] = [];
  try {
    for (const kind of ['TCP_CHECK', 'HTTP_GET'] as const) {
      // The same checkers on the epoll probe driver and on Node's sockets (its fallback, and
      // main's path before the driver), alternating in one run, then the bare loop.
      const epoll = await withSockets('epoll', () => tsvsCheckers(kind));
      const node = await withSockets('node', () => tsvsCheckers(kind));
      const peer = await bareLoop(kind);
      for (const [sockets, t] of [
        ['epoll driver', epoll],
        ['Node sockets', node],
      ] as const) {
        rows.push({
          checker: kind,
          sockets,
          'real servers': N,
          'checks/s measured': t.perSec,
          'tsvs CPU % of a core': t.pct.toFixed(1),
          'backends CPU %': t.backendsPct.toFixed(1),
          'ratio tsvs/backends': (t.pct / t.backendsPct).toFixed(2),
          'ratio tsvs/Node sockets': (t.pct / node.pct).toFixed(2),
          'bare loop CPU %': peer.pct.toFixed(1),
          'ratio tsvs/bare': (t.pct / peer.pct).toFixed(2),
          'failed checks': t.failures,
          target: t.pct < TARGET_PCT ? `< ${TARGET_PCT} %: met` : `< ${TARGET_PCT} %: MISSED`,
        });
      }
    }
  } finally {
    child.kill();
  }
  const cols = Object.keys(rows[0] ?? {});
  process.stdout.write(
    `checks: ${N} real servers, delay_loop 1 s, ${MEASURE_MS / 1000} s measured after ${WARMUP_MS / 1000} s warm-up; real HTTP listeners on 127.1.x.y:${PORT} in another process\n`,
  );
  for (const r of rows) process.stdout.write(`${cols.map((c) => `${c}: ${r[c]}`).join(', ')}\n`);
}
