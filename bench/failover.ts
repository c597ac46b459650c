// `npm run bench -- failover`: seed 004's DR lab with two directors (SEED004_HA, VRRPv3,
// advert_int 0.25, MASTER 100 / BACKUP 50). A client connects to the VIP in a loop; the master
// dies (processes killed, link down); the figure is the time from the kill to the first
// connection served through the backup. Measured with tsvs's VRRP as the backup, then with
// real keepalived's VRRP as the backup (`keepalived -P`, the rules still by `tsvs keepalived -C`),
// in the same run, next to keepalived's bound 3 × advert_int + skew. Traffic stays in the lab.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDown, labUp, nsName } from '../src/lab/lab.js';
import { SEED004_HA, seed004HaConf } from '../src/lab/labs.js';
import { ip, netnsUnavailable, stopPids } from '../src/lab/netns.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSVS = join(ROOT, 'bin/tsvs');
const CLIENT = join(ROOT, 'bench/failover-client.ts');
const lab = SEED004_HA;
const VIP = lab.director.vip;
const ROUNDS = Number(process.env.TSVS_BENCH_FAILOVER_ROUNDS ?? 3);
/** keepalived's bound for the backup (priority 50) at advert_int 0.25: 3 × 250 + (256 − 50) × 250 / 256. */
const BOUND_MS = 3 * 250 + ((256 - 50) * 250) / 256;
const TARGET_MS = BOUND_MS + 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Backup = 'tsvs' | 'keepalived';

function inNs(host: string, cmd: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn('ip', ['netns', 'exec', nsName(lab, host), ...cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function hasVip(host: string): Promise<boolean> {
  return (await ip(['-n', nsName(lab, host), 'addr', 'show', 'dev', 'eth1'])).includes(` ${VIP}/`);
}

/** Connections the director of `host` has scheduled so far (tsvsadm -L -n --stats, the service line). */
async function statsConns(host: string, env: NodeJS.ProcessEnv): Promise<number> {
  const p = inNs(host, [process.execPath, join(ROOT, 'bin/tsvsadm'), '-L', '-n', '--stats'], env);
  let out = '';
  p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise((r) => p.once('exit', r));
  const line = out.split('\n').find((l) => l.startsWith('TCP'));
  return line ? Number(line.split(/\s+/)[2]) : 0;
}

async function until(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(25);
  }
  throw new Error(`failover bench: timed out waiting for ${what}`);
}

async function round(backup: Backup): Promise<number> {
  const runDir = mkdtempSync(join(tmpdir(), 'tsvs-failover-run-'));
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-failover-'));
  const env = { TSVS_RUN_DIR: runDir };
  await labUp(lab, () => {}, env);
  const procs: ChildProcess[] = [];
  try {
    const c1 = join(dir, 'd1.conf');
    const c2 = join(dir, 'd2.conf');
    writeFileSync(c1, seed004HaConf('MASTER', 100));
    writeFileSync(c2, seed004HaConf('BACKUP', 50));
    procs.push(inNs('director1', [process.execPath, TSVS, 'keepalived', '-n', '-f', c1, '-p', join(dir, 'd1.pid')], env));
    if (backup === 'tsvs') {
      procs.push(inNs('director2', [process.execPath, TSVS, 'keepalived', '-n', '-f', c2, '-p', join(dir, 'd2.pid')], env));
    } else {
      procs.push(inNs('director2', [process.execPath, TSVS, 'keepalived', '-n', '-C', '-f', c2, '-p', join(dir, 'd2.pid')], env));
      procs.push(
        inNs(
          'director2',
          ['keepalived', '-n', '-P', '-f', c2, '-p', join(dir, 'k.pid'), '-r', join(dir, 'kv.pid'), '-c', join(dir, 'kc.pid')],
          env,
        ),
      );
      // What tsvs's VRRP tells its director; here the VRRP is keepalived's, so the bench says it.
      await sleep(1500);
      const tell = `import(${JSON.stringify(join(ROOT, 'dist/cli/client.js'))}).then((m) => m.request(m.targetSocket(), { op: 'vrrp-vips', addrs: [${JSON.stringify(VIP)}] }))`;
      const p = inNs('director2', [process.execPath, '-e', tell], env);
      await new Promise((r) => p.once('exit', r));
    }
    await until('director1 MASTER', async () => (await hasVip('director1')) && !(await hasVip('director2')), 15_000);
    // Connections flow through director1 before the kill.
    const client = inNs('client', [process.execPath, '--import', 'tsx', CLIENT, VIP, '80', '8000'], {});
    let out = '';
    client.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await until('the client served', async () => out.includes(' ok'), 5000);
    await sleep(500);
    // The backup must not have served anything yet, or the figure would not be a failover.
    const before = await statsConns('director2', env);
    const neigh = await ip(['-n', nsName(lab, 'client'), 'neigh', 'show', VIP]);
    if (before > 0) {
      process.stdout.write(
        `  (${backup} round: the backup had already forwarded ${before} conns before the kill; client's neighbour entry: ${neigh.trim()})\n`,
      );
    }
    // The master dies: cut off first (from then on nothing it does reaches the link), then killed.
    // Only connections started after the cut count, so none can have been served by the master.
    await ip(['-n', nsName(lab, 'director1'), 'link', 'set', 'eth1', 'down']);
    const kill = Date.now();
    const pids = (await ip(['netns', 'pids', nsName(lab, 'director1')])).split(/\s+/).filter(Boolean).map(Number);
    await stopPids(pids, 0);
    await new Promise((r) => client.once('exit', r));
    const first = out
      .split('\n')
      .map((l) => l.split(' '))
      .find(([start, , r]) => Number(start) >= kill && r === 'ok');
    if (!first) throw new Error(`failover bench (${backup}): no connection served after the kill within 8 s`);
    return Number(first[1]) - kill;
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await labDown(lab);
  }
}

export async function benchFailover(): Promise<void> {
  const why = netnsUnavailable();
  if (why) {
    process.stdout.write(`\nfailover: skipped (${why})\n`);
    return;
  }
  const res: Record<Backup, number[]> = { tsvs: [], keepalived: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const b of ['tsvs', 'keepalived'] as const) res[b].push(await round(b));
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const mt = median(res.tsvs);
  const mk = median(res.keepalived);
  process.stdout.write(`\nVRRP failover (seed 004, two directors, VRRPv3 advert_int 0.25, backup priority 50; ${ROUNDS} rounds each)\n`);
  process.stdout.write('time from killing the master to the first connection served through the backup, ms\n');
  const row = (name: string, a: number[], m: number) =>
    `${name.padEnd(22)} median ${m.toFixed(0).padStart(5)}  runs ${a.map((x) => x.toFixed(0)).join(', ')}\n`;
  process.stdout.write(row('tsvs VRRP backup', res.tsvs, mt));
  process.stdout.write(row('keepalived VRRP backup', res.keepalived, mk));
  process.stdout.write(
    `keepalived's bound 3 x advert_int + skew = ${BOUND_MS.toFixed(0)} ms; target bound + 100 = ${TARGET_MS.toFixed(0)} ms: ${mt <= TARGET_MS ? 'met' : 'MISSED'}\n`,
  );
  process.stdout.write(`ratio tsvs / keepalived (same run): ${(mt / mk).toFixed(2)}\n`);
}
