// The packet bench's lab: three namespaces, the tsvs daemon of the director namespace started
// with a variant's arguments, and one generator trial. Traffic stays inside these namespaces.
//
// gen (a0 10.88.1.2) ── (fa 10.88.1.1) dir (fb 10.88.2.1) ── (b0 10.88.2.2) sink
// The sink counts arrivals with nft counters at its ingress (no process in the path): the
// datagrams, and for TUN the ipip or GUE packets that carry them.

import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DaemonStatus } from '../src/control/daemon.js';
import { request } from '../src/cli/client.js';
import type { Topology } from '../src/lab/netns.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GEN = join(ROOT, 'bench/packet-gen.ts');
const TSVS = join(ROOT, 'bin/tsvs');
const TSVSADM = join(ROOT, 'bin/tsvsadm');
export const RIP = '10.88.2.2';
export const GEN_IP = '10.88.1.2';
/** The director's address on the generator's side (on `fa`). */
export const DIR_IP = '10.88.1.1';
export const PORT = 9000;
/** The GUE variants' --tun-port: the sink counts the UDP datagrams that carry the requests. */
export const GUE_PORT = 6080;
export const CPUS = availableParallelism();
/** The generator's core and the director's (its receive path by RPS, the daemon by taskset). */
export const GEN_CPU = 0;
export const DIR_CPU = 1;
/** How long a daemon may take to answer its first ping. */
const DAEMON_START_MS = 20_000;

export interface Lab {
  topo: Topology;
  gen: string;
  dir: string;
  sink: string;
  genMac: string;
  dirMac: string;
  runDir: string;
  daemon: ChildProcess | null;
  /** The running daemon's extra arguments, joined by spaces. */
  daemonArgs: string;
}

/** The generator's flows: `count` ports of GEN_IP, or a flow space from saddr (packet-gen.ts). */
export interface TrialFlows {
  count: number;
  order?: 'seq' | 'scatter';
  saddr?: string;
  /**
   * The generator sleeps while it is ahead of its schedule instead of spinning, so that a
   * meter on its core sees what the rest of the core's time goes to (packet-cpu.ts). Frames
   * then leave in bursts (a 50 µs nap's worth); only for rates well below the generator's ceiling.
   */
  sleepy?: boolean;
}

export interface TrialResult {
  sent: number;
  got: number;
  /** Bounds of the generator's sending, CLOCK_MONOTONIC ns. */
  t0: bigint;
  t1: bigint;
}

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Builds the lab's namespaces in `topo`. `tag` names a second lab beside the first (its
 * namespaces `gen<tag>`, `dir<tag>`, `sink<tag>`; the same addresses, each lab in its own).
 */
export async function setupLab(topo: Topology, tag = ''): Promise<Lab> {
  const gen = await topo.netns(`gen${tag}`);
  const dir = await topo.netns(`dir${tag}`);
  const sink = await topo.netns(`sink${tag}`);
  await topo.link({ ns: gen, dev: 'a0' }, { ns: dir, dev: 'fa' });
  await topo.link({ ns: dir, dev: 'fb' }, { ns: sink, dev: 'b0' });
  await topo.addr(gen, 'a0', `${GEN_IP}/24`);
  await topo.addr(dir, 'fa', `${DIR_IP}/24`);
  await topo.addr(dir, 'fb', '10.88.2.1/24');
  await topo.addr(sink, 'b0', `${RIP}/24`);
  await topo.route(sink, ['default', 'via', '10.88.2.1']);
  await topo.sysctl(dir, 'net.ipv4.ip_forward', '1');
  // One core each: the generator runs on GEN_CPU (taskset), and RPS moves the director's receive
  // processing (the kernel's forwarding for nftables, the ring fill for tsvs) to DIR_CPU.
  // Without it the kernel forwards inside the generator's softirq, on the generator's core.
  if (CPUS > 1) {
    execFileSync('ip', ['netns', 'exec', dir, 'sh', '-c', `echo ${1 << DIR_CPU} > /sys/class/net/fa/queues/rx-0/rps_cpus`]);
  }
  const nft = `table netdev sink {\n chain in {\n  type filter hook ingress device "b0" priority 0; policy accept;\n  udp dport ${PORT} counter drop\n  ip protocol 4 counter drop\n  udp dport ${GUE_PORT} counter drop\n }\n}\n`;
  execFileSync('ip', ['netns', 'exec', sink, 'nft', '-f', '-'], { input: nft });
  // A permanent neighbour entry: no trial waits on ARP, for the kernel or for tsvs.
  const sinkMac = await topo.mac(sink, 'b0');
  execFileSync('ip', ['-n', dir, 'neigh', 'replace', RIP, 'lladdr', sinkMac, 'dev', 'fb', 'nud', 'permanent']);
  return {
    topo,
    gen,
    dir,
    sink,
    genMac: await topo.mac(gen, 'a0'),
    dirMac: await topo.mac(dir, 'fa'),
    runDir: mkdtempSync(join(tmpdir(), 'tsvs-bench-')),
    daemon: null,
    daemonArgs: '',
  };
}

/**
 * Runs fa's receive NAPI in a kernel thread on DIR_CPU (`on`), as a NIC's interrupt would run
 * it on the director's core, or back in the softirq of whoever sends (veth's default: the
 * generator's core). RPS moves the kernel's forwarding to DIR_CPU, but native XDP runs before
 * RPS, so without this the XDP fast path would forward on the generator's core and the rate
 * would measure the generator. veth creates the NAPI (and so the thread) when XDP is attached:
 * call with `on` after the daemon started.
 */
export function napiOnDirector(l: Lab, on: boolean): void {
  if (CPUS < 2) return;
  const file = '/sys/class/net/fa/threaded';
  const cur = execFileSync('ip', ['netns', 'exec', l.dir, 'cat', file], { encoding: 'utf8' }).trim();
  if (!on) {
    // Without a NAPI (no XDP program left on fa) the kernel refuses the write (EIO), and there
    // is no thread to put back: the flag then only waits for the next NAPI.
    if (cur !== '0') execFileSync('ip', ['netns', 'exec', l.dir, 'sh', '-c', `echo 0 > ${file} 2>/dev/null || true`]);
    return;
  }
  execFileSync('ip', ['netns', 'exec', l.dir, 'sh', '-c', `echo 1 > ${file}`]);
  // The thread is napi/<device name>-<napi id>; the bench's lab is the only one with an fa.
  const pids = execFileSync('sh', ['-c', "pgrep '^napi/fa-' || true"], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
  if (pids.length === 0) throw new Error(`no napi/fa-* thread after threaded NAPI was set on fa in ${l.dir}`);
  for (const pid of pids) execFileSync('taskset', ['-pc', String(DIR_CPU), pid], { stdio: 'ignore' });
}

export function nsExec(ns: string, cmd: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', input, stdio: 'pipe' });
}

export function sinkCount(l: Lab): number {
  const out = nsExec(l.sink, ['nft', 'list', 'table', 'netdev', 'sink']);
  let n = 0;
  for (const m of out.matchAll(/packets (\d+)/g)) n += Number(m[1]);
  return n;
}

/** `tsvsadm ARGS` in the director namespace; `input` is its stdin (for -R). */
export function adm(l: Lab, args: string[], input?: string): void {
  if (!l.daemon) throw new Error(`tsvsadm ${args.join(' ')}: no daemon started (startDaemon first)`);
  execFileSync('ip', ['netns', 'exec', l.dir, process.execPath, TSVSADM, ...args], {
    env: { ...process.env, TSVS_RUN_DIR: l.runDir },
    stdio: 'pipe',
    input,
  });
}

function socket(l: Lab): string {
  const sock = readdirSync(l.runDir).find((f) => f.endsWith('.sock'));
  if (!sock) throw new Error(`no control socket in ${l.runDir}`);
  return join(l.runDir, sock);
}

export async function daemonStatus(l: Lab): Promise<DaemonStatus> {
  return request<DaemonStatus>(socket(l), { op: 'status' }, 30_000);
}

/**
 * Runs `tsvs daemon --engine packet ...args` in the director namespace, pinned to DIR_CPU,
 * unless one runs with the same arguments already; a daemon with others is stopped first.
 */
export async function startDaemon(l: Lab, args: string[]): Promise<void> {
  if (l.daemon && l.daemonArgs === args.join(' ')) return;
  await stopDaemon(l);
  const pin = CPUS > 1 ? ['taskset', '-c', String(DIR_CPU)] : [];
  // Its log goes to a file: a pipe the bench did not drain while it waits on a trial would
  // block the daemon's writes.
  const logFile = join(l.runDir, 'daemon.log');
  const out = openSync(logFile, 'a');
  const d = l.topo.spawn(l.dir, [...pin, process.execPath, TSVS, 'daemon', '--engine', 'packet', ...args], {
    env: { ...process.env, TSVS_RUN_DIR: l.runDir },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const log = () => readFileSync(logFile, 'utf8').slice(-2000);
  l.daemon = d;
  l.daemonArgs = args.join(' ');
  const deadline = Date.now() + DAEMON_START_MS;
  for (;;) {
    if (d.exitCode !== null) throw new Error(`tsvs daemon ${l.daemonArgs} exited with ${d.exitCode}: ${log()}`);
    try {
      await request(socket(l), { op: 'ping' }, 2000);
      return;
    } catch (e) {
      if (Date.now() > deadline)
        throw new Error(`tsvs daemon ${l.daemonArgs} did not answer within ${DAEMON_START_MS} ms: ${String(e)} ${log()}`);
      await sleep(100);
    }
  }
}

/** Stops the daemon (its packet rings would copy every frame, even nftables' ones). */
export async function stopDaemon(l: Lab): Promise<void> {
  const d = l.daemon;
  if (!d) return;
  l.daemon = null;
  if (d.exitCode === null) {
    const exited = new Promise((r) => d.once('exit', r));
    d.kill('SIGTERM');
    await exited;
  }
}

/** Removes nftables' rules and tsvs's services, if any. */
export function clearRules(l: Lab): void {
  try {
    nsExec(l.dir, ['nft', 'delete', 'table', 'ip', 'benchnat']);
  } catch {
    // not there
  }
  if (l.daemon) adm(l, ['-C']);
}

/**
 * One generator run of `ms` from GEN_IP (or a flow space, see packet-gen.ts) to daddr:PORT,
 * then a pause for the last frames to arrive. `got`: what the sink counted meanwhile.
 */
export async function trial(l: Lab, daddr: string, size: number, pps: number, ms: number, flows: TrialFlows): Promise<TrialResult> {
  const before = sinkCount(l);
  const pin = CPUS > 1 ? ['taskset', '-c', String(GEN_CPU)] : [];
  const args = [l.dirMac, l.genMac, flows.saddr ?? GEN_IP, daddr, String(PORT), String(size), String(pps), String(ms)];
  const { stdout } = await run(
    'ip',
    [
      'netns',
      'exec',
      l.gen,
      ...pin,
      process.execPath,
      '--import',
      'tsx',
      GEN,
      'a0',
      ...args,
      String(flows.count),
      ...(flows.order ? [flows.order] : []),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, TSVS_BENCH_GEN_SLEEPY: flows.sleepy ? '1' : '0' } },
  );
  const r = JSON.parse(stdout) as { txSent: number; t0: string; t1: string };
  await sleep(300);
  const got = sinkCount(l) - before;
  if (process.env.TSVS_BENCH_VERBOSE) process.stderr.write(`  ${daddr} ${size}B ${pps}pps: sent ${r.txSent} got ${got}\n`);
  return { sent: r.txSent, got, t0: BigInt(r.t0), t1: BigInt(r.t1) };
}
