// `npm run bench -- idle`: what an idle packet director costs. A director namespace with two
// veths (to a client and a real-server namespace, one NAT service configured, no traffic) runs
// `tsvs daemon --engine packet` from this tree, then from main's build (/work/main, or
// TSVS_BENCH_PEER_ROOT; built with `npm run build`), one after the other in the same run. Each
// is measured over TSVS_BENCH_IDLE_S seconds (default 30) after a settling pause: CPU % of one
// core from /proc/PID/stat (utime + stime of the daemon, and cutime + cstime of the children it
// reaped, e.g. `ip` runs) and its resident memory from /proc/PID/status. Then the control
// socket's answer time while idle: PINGS `ping` requests, one after another, median and worst
// (a director that blocked its thread in poll() would answer only between two waits).

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from '../src/cli/client.js';
import { netnsUnavailable, Topology } from '../src/lab/netns.js';
import { withSignalTeardown } from './signal-teardown.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PEER_ROOT = process.env.TSVS_BENCH_PEER_ROOT ?? '/work/main';
const SECONDS = Number(process.env.TSVS_BENCH_IDLE_S ?? 30);
const SETTLE_MS = 3000;
const TARGET_CPU_PCT = 0.5;
const TARGET_RSS_MB = 60;
/** USER_HZ: /proc/PID/stat counts clock ticks of 1/100 s on Linux. */
const TICKS_PER_S = 100;
const PINGS = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Figures {
  build: string;
  cpuPct: number;
  childCpuPct: number;
  rssMb: number;
  anonMb: number;
  fileMb: number;
  shmemMb: number;
  pingMedianMs: number;
  pingMaxMs: number;
}

/** Answer times of PINGS control requests to the idle director, in ms, sorted. */
async function pings(runDir: string): Promise<number[]> {
  const sock = readdirSync(runDir).find((f) => f.endsWith('.sock'));
  if (!sock) throw new Error(`no control socket in ${runDir}`);
  const out: number[] = [];
  for (let i = 0; i < PINGS; i++) {
    const t = process.hrtime.bigint();
    await request(join(runDir, sock), { op: 'ping' }, 10_000);
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out.sort((a, b) => a - b);
}

function ticks(pid: number): { own: number; children: number } {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces) start at state, field 3.
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(f[i - 3]);
  return { own: n(14) + n(15), children: n(16) + n(17) };
}

function memMb(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function daemonPid(topo: Topology, ns: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const { stdout } = await topo
      .exec(ns, ['sh', '-c', 'for p in $(ip netns pids "$0"); do tr "\\0" " " < /proc/$p/cmdline; echo " $p"; done', ns])
      .catch(() => ({ stdout: '' }));
    const line = stdout.split('\n').find((l) => l.includes(' daemon '));
    if (line) return Number(line.trim().split(' ').pop());
    await sleep(100);
  }
  throw new Error(`no tsvs daemon appeared in ${ns}`);
}

async function measure(topo: Topology, ns: string, root: string, build: string): Promise<Figures> {
  const runDir = mkdtempSync(join(tmpdir(), 'tsvs-idle-'));
  const env = { ...process.env, TSVS_RUN_DIR: runDir };
  const tsvs = join(root, 'bin/tsvs');
  const adm = join(root, 'bin/tsvsadm');
  const d = topo.spawn(ns, [process.execPath, tsvs, 'daemon', '--engine', 'packet'], { env });
  d.stderr!.resume();
  d.stdout!.resume();
  try {
    const pid = await daemonPid(topo, ns);
    for (let i = 0; ; i++) {
      const ok = await topo.exec(ns, [process.execPath, tsvs, 'status'], { env }).then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (i === 100) throw new Error(`${build}: the director did not answer tsvs status`);
      await sleep(100);
    }
    await topo.exec(ns, [process.execPath, adm, '-A', '-t', '10.71.1.100:80', '-s', 'rr'], { env });
    await topo.exec(ns, [process.execPath, adm, '-a', '-t', '10.71.1.100:80', '-r', '10.71.2.2:80', '-m'], { env });
    await sleep(SETTLE_MS);
    const t0 = ticks(pid);
    const w0 = process.hrtime.bigint();
    await sleep(SECONDS * 1000);
    const t1 = ticks(pid);
    const wall = Number(process.hrtime.bigint() - w0) / 1e9;
    const pct = (t: number) => (100 * t) / TICKS_PER_S / wall;
    const p = await pings(runDir);
    return {
      pingMedianMs: p[p.length >> 1]!,
      pingMaxMs: p[p.length - 1]!,
      build,
      cpuPct: pct(t1.own - t0.own),
      childCpuPct: pct(t1.children - t0.children),
      rssMb: memMb(pid, 'VmRSS'),
      anonMb: memMb(pid, 'RssAnon'),
      fileMb: memMb(pid, 'RssFile'),
      shmemMb: memMb(pid, 'RssShmem'),
    };
  } finally {
    d.kill('SIGTERM');
    await new Promise((r) => d.once('exit', r));
    rmSync(runDir, { recursive: true, force: true });
  }
}

export async function benchIdle(): Promise<void> {
  const why = netnsUnavailable();
  if (why) {
    process.stdout.write(`\nIdle packet director: skipped (${why})\n`);
    return;
  }
  const builds: [string, string][] = [['this tree', ROOT]];
  if (existsSync(join(PEER_ROOT, 'dist/cli/tsvs.js')) && PEER_ROOT !== ROOT) builds.push([`main (${PEER_ROOT})`, PEER_ROOT]);
  else process.stdout.write(`(no peer build at ${PEER_ROOT}/dist: run npm run build there; measuring this tree only)\n`);
  const topo = new Topology();
  const rows: Figures[] = [];
  try {
    await withSignalTeardown(topo, async () => {
      const c = await topo.netns('c');
      const d = await topo.netns('d');
      const r = await topo.netns('r');
      await topo.link({ ns: c, dev: 'c0' }, { ns: d, dev: 'd0' });
      await topo.link({ ns: r, dev: 'r0' }, { ns: d, dev: 'd1' });
      await topo.addr(c, 'c0', '10.71.1.2/24');
      await topo.addr(d, 'd0', '10.71.1.1/24');
      await topo.addr(d, 'd1', '10.71.2.1/24');
      await topo.addr(r, 'r0', '10.71.2.2/24');
      for (const [name, root] of builds) rows.push(await measure(topo, d, root, name));
    });
  } finally {
    await topo.teardown();
  }
  const base = rows[0]!;
  process.stdout.write(
    `\nIdle packet director (two veths, one NAT service, no traffic; ${SECONDS} s; /proc/PID/stat and /proc/PID/status)\n`,
  );
  const cell = (v: number) => v.toFixed(2);
  const tableRows = rows.map((f) => ({
    build: f.build,
    'CPU % of a core': cell(f.cpuPct),
    'children CPU %': cell(f.childCpuPct),
    'RSS MB': cell(f.rssMb),
    'anon MB': cell(f.anonMb),
    'file MB': cell(f.fileMb),
    'shmem MB': cell(f.shmemMb),
    'ping median ms': cell(f.pingMedianMs),
    'ping max ms': cell(f.pingMaxMs),
    'CPU vs this tree': f === base ? '1.00' : base.cpuPct > 0 ? (f.cpuPct / base.cpuPct).toFixed(1) : 'inf',
  }));
  const cols = Object.keys(tableRows[0]!);
  const width = cols.map((k) => Math.max(k.length, ...tableRows.map((row) => String(row[k as keyof typeof row]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(width[i]!)).join('  ');
  process.stdout.write(
    `${[line(cols), ...tableRows.map((row) => line(cols.map((k) => String(row[k as keyof typeof row]))))].join('\n')}\n`,
  );
  const cpuTotal = base.cpuPct + base.childCpuPct;
  process.stdout.write(
    `target (this tree): CPU < ${TARGET_CPU_PCT} % of a core: ${cpuTotal < TARGET_CPU_PCT ? 'met' : 'MISSED'}; RSS < ${TARGET_RSS_MB} MB: ${base.rssMb < TARGET_RSS_MB ? 'met' : 'MISSED'}\n`,
  );
}
