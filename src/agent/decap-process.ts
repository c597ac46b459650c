// The tunnel agent as a process: `realserver start --tunnel` runs `realserver decap` detached
// (its pid in the run directory), `stop` ends it with SIGTERM, `status` reads its counters.

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Addr } from '../core/inet.js';
import type { TunnelKind } from './decap.js';
import { spawnReady } from './spawn-ready.js';
import { type DecapCounters, TunnelAgent } from './tunnel-agent.js';

const BIN_TSVS = fileURLToPath(new URL('../../bin/tsvs', import.meta.url));
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 3000;

const pidFile = (dir: string) => join(dir, 'decap.pid');
const countersFile = (dir: string) => join(dir, 'decap.json');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as root; a user's `tsvs realserver status` must still see it.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function runningPid(dir: string): Promise<number | null> {
  const s = await readFile(pidFile(dir), 'utf8').catch(() => '');
  const pid = Number(s.trim());
  return pid > 0 && alive(pid) ? pid : null;
}

/** Starts the detached decapsulator unless one runs; returns what was done. */
export async function startDecap(dir: string, kind: TunnelKind, port: number, vips: Addr[]): Promise<string[]> {
  if ((await runningPid(dir)) !== null) return [];
  await mkdir(dir, { recursive: true });
  const args = [BIN_TSVS, 'realserver', 'decap', '--tunnel', kind];
  if (port) args.push('--tun-port', String(port));
  for (const v of vips) args.push('--vip', v.toString());
  const pid = await spawnReady(process.execPath, args, {
    env: { ...process.env, TSVS_RUN_DIR: dir },
    timeoutMs: START_TIMEOUT_MS,
    what: 'the tunnel agent',
  });
  await writeFile(pidFile(dir), `${pid}\n`);
  return [`tunnel decapsulation (${kind}${port ? ` on udp port ${port}` : ''}) running in user space, pid ${pid}`];
}

/** Stops the decapsulator if one runs; returns what was done. */
export async function stopDecap(dir: string): Promise<string[]> {
  const pid = await runningPid(dir);
  await rm(pidFile(dir), { force: true });
  if (pid === null) return [];
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + STOP_TIMEOUT_MS;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  await rm(countersFile(dir), { force: true });
  await rm(`${countersFile(dir)}.tmp`, { force: true });
  return [`tunnel decapsulation stopped (pid ${pid})`];
}

/** The running decapsulator's counters, or null when none runs. */
export async function readDecapCounters(dir: string): Promise<DecapCounters | null> {
  if ((await runningPid(dir)) === null) return null;
  const s = await readFile(countersFile(dir), 'utf8').catch(() => '');
  try {
    return JSON.parse(s) as DecapCounters;
  } catch {
    return null;
  }
}

/** Runs the decapsulator in the foreground until SIGTERM or SIGINT. */
export async function runDecap(dir: string, kind: TunnelKind, port: number, vips: Addr[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const v4 = new Set(vips.filter((v) => !v.isV6).map((v) => v.w0));
  const v6 = Uint32Array.from(vips.filter((v) => v.isV6).flatMap((v) => [v.w0, v.w1, v.w2, v.w3]));
  const agent = new TunnelAgent({ kind, port, vips: { v4, v6 }, countersFile: countersFile(dir) });
  agent.start();
  process.stdout.write(`ready: decapsulating ${kind}${port ? ` on udp port ${port}` : ''} for ${vips.join(', ')}\n`);
  await new Promise<void>((resolve) => {
    const done = () => {
      agent.stop();
      resolve();
    };
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
}
