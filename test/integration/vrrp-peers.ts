// The two VRRP peers of the interop tests, each in its own namespace on one veth link: real
// keepalived (Debian's package, its own config and pid files in a temp dir) and tsvs, either as
// its VRRP alone (fixtures/vrrp-run.ts: one JSON line per change) or as `tsvs keepalived`.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Topology } from '../../src/lab/netns.js';
import { ROOT, TSVS } from './harness.js';

export function keepalivedMissing(): string | false {
  try {
    execFileSync('keepalived', ['-v'], { stdio: 'ignore' });
    return false;
  } catch {
    if (process.env.CI === 'true')
      throw new Error('CI must run the VRRP interop tests: keepalived is not installed (apt-get install keepalived)');
    return 'keepalived is not installed';
  }
}

/** Most a peer process may take to start on the shared machine (node + tsx under load: seconds). */
export const STARTUP_MS = 30_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await cond()) return performance.now() - t0;
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Wall-clock ms, comparable between processes (each process's performance.now() has its own origin). */
export const epochMs = () => performance.timeOrigin + performance.now();

export interface Opts {
  name?: string;
  state: 'MASTER' | 'BACKUP';
  priority: number;
  vip: string;
  version?: 2 | 3;
  advertInt?: number;
  pass?: string;
  nopreempt?: boolean;
  unicast?: { src: string; peer: string };
  /** global_defs' vrrp_garp_master_delay (0 unless given: no second burst). */
  garpDelay?: number;
  /** The instance's name and VRID (VI, 51 unless given). */
  instance?: string;
  vrid?: number;
  /** Extra lines inside vrrp_instance, and extra top-level blocks after and before the instances. */
  extra?: string;
  top?: string;
  /** keepalived 2.2.7 ignores a track_script naming a vrrp_script defined further down. */
  head?: string;
}

export function instanceConf(o: Opts): string {
  return `vrrp_instance ${o.instance ?? 'VI'} {
  state ${o.state}
  interface v0
  virtual_router_id ${o.vrid ?? 51}
  priority ${o.priority}
  advert_int ${o.advertInt ?? 1}
  ${o.version ? `version ${o.version}` : ''}
  ${o.nopreempt ? 'nopreempt' : ''}
  ${o.pass ? `authentication {\n    auth_type PASS\n    auth_pass ${o.pass}\n  }` : ''}
  ${o.unicast ? `unicast_src_ip ${o.unicast.src}\n  unicast_peer {\n    ${o.unicast.peer}\n  }` : ''}
  ${o.extra ?? ''}
  virtual_ipaddress {
    ${o.vip.split(' ').join('\n    ')}
  }
}
`;
}

export function conf(o: Opts, more: Opts[] = []): string {
  return `global_defs {
  router_id ${o.name ?? 'r'}
  vrrp_garp_master_delay ${o.garpDelay ?? 0}
}
${o.head ?? ''}
${instanceConf(o)}
${more.map(instanceConf).join('')}
${o.top ?? ''}
`;
}

export function hasVip(ns: string, vip: string): boolean {
  const out = execFileSync('ip', ['-n', ns, 'addr', 'show', 'dev', 'v0'], { encoding: 'utf8' });
  return out.includes(` ${vip.split('/')[0]}/`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class Keepalived {
  proc: ChildProcess;
  log = '';
  private readonly d: string;
  constructor(topo: Topology, ns: string, dir: string, text: string) {
    this.d = mkdtempSync(join(dir, 'ka-'));
    const f = join(this.d, 'keepalived.conf');
    writeFileSync(f, text);
    this.proc = topo.spawn(ns, [
      'keepalived',
      '-n',
      '-l',
      '-D',
      '-P',
      '-f',
      f,
      '-p',
      join(this.d, 'k.pid'),
      '-r',
      join(this.d, 'v.pid'),
      '-c',
      join(this.d, 'c.pid'),
    ]);
    this.proc.stdout!.on('data', (b: Buffer) => (this.log += b.toString()));
    this.proc.stderr!.on('data', (b: Buffer) => (this.log += b.toString()));
  }
  /** Writes a new configuration and reloads it (SIGHUP to the parent). */
  reload(text: string): void {
    writeFileSync(join(this.d, 'keepalived.conf'), text);
    this.proc.kill('SIGHUP');
  }
  /** The state keepalived last said it entered (of `inst` when given). */
  state(inst?: string): string | null {
    const re = inst ? new RegExp(`\\(${inst}\\) Entering (\\w+) STATE`, 'g') : /Entering (\w+) STATE/g;
    const m = [...this.log.matchAll(re)];
    return m.length ? m[m.length - 1]![1]! : null;
  }
  /** How many times keepalived entered `state`. */
  entered(state: string): number {
    return [...this.log.matchAll(new RegExp(`Entering ${state} STATE`, 'g'))].length;
  }
  /**
   * SIGKILL kills keepalived's VRRP child first: killed alone, the parent's death reaches the
   * child as SIGTERM (PR_SET_PDEATHSIG) and it shuts down cleanly, priority 0 included, which
   * is not a crash; and the child must be gone before the next test uses the VRID.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    let child = 0;
    try {
      child = Number(readFileSync(join(this.d, 'v.pid'), 'utf8').trim());
    } catch {
      // not started yet
    }
    if (signal === 'SIGKILL' && child > 0) {
      try {
        process.kill(child, 'SIGKILL');
      } catch {
        // gone
      }
    }
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    await done;
    if (child > 0) await waitFor(`keepalived's VRRP process ${child} gone`, () => !pidAlive(child), 5000);
  }
}

export interface TsvsLine {
  t?: number;
  at?: number;
  name?: string;
  state?: string;
  masterAddr?: string | null;
  effectivePriority?: number;
  started?: boolean;
  drops?: Record<string, number>;
  why?: string;
  from?: string;
  lastTransition?: { why: string } | null;
}

/** tsvs's VRRP alone (fixtures/vrrp-run.ts). */
export class Tsvs {
  proc: ChildProcess;
  lines: TsvsLine[] = [];
  err = '';
  constructor(topo: Topology, ns: string, file: string, text: string) {
    writeFileSync(file, text);
    this.proc = topo.spawn(ns, [process.execPath, '--import', 'tsx', join(ROOT, 'test/integration/fixtures/vrrp-run.ts'), file], {
      cwd: ROOT,
    });
    let buf = '';
    this.proc.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const p of parts) if (p.trim()) this.lines.push(JSON.parse(p) as TsvsLine);
    });
    this.proc.stderr!.on('data', (b: Buffer) => (this.err += b.toString()));
  }
  /**
   * Resolves once the fixture runs its instances. Starting node with tsx takes seconds on a
   * loaded machine; a test's VRRP waits count from here, so that they measure VRRP, not that.
   */
  async ready(timeoutMs = STARTUP_MS): Promise<void> {
    await waitFor('tsvs VRRP started', () => this.lines.some((l) => l.started) || this.proc.exitCode !== null, timeoutMs);
    if (this.proc.exitCode !== null) throw new Error(`tsvs VRRP exited with ${this.proc.exitCode}: ${this.err}`);
  }
  /** Transitions (lines with `from`), of instance `inst` when given. */
  transitions(inst?: string): TsvsLine[] {
    return this.lines.filter((l) => l.from !== undefined && (inst === undefined || l.name === inst));
  }
  state(inst?: string): string | null {
    const s = inst ? this.transitions(inst) : this.lines.filter((l) => l.state);
    return s.length ? s[s.length - 1]!.state! : null;
  }
  last() {
    return this.lines.filter((l) => l.state && l.from === undefined).at(-1);
  }
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    await done;
  }
}

/** `tsvs keepalived -n -l -P` (the real command), its log parsed like keepalived's. */
export class TsvsKeepalived {
  proc: ChildProcess;
  log = '';
  constructor(
    topo: Topology,
    ns: string,
    readonly file: string,
    text: string,
    env: NodeJS.ProcessEnv,
    args: string[] = ['-P'],
  ) {
    writeFileSync(file, text);
    this.proc = topo.spawn(ns, [process.execPath, TSVS, 'keepalived', '-n', '-l', ...args, '-f', file, '-p', `${file}.pid`], {
      env: { ...process.env, ...env },
    });
    this.proc.stdout!.on('data', (b: Buffer) => (this.log += b.toString()));
    this.proc.stderr!.on('data', (b: Buffer) => (this.log += b.toString()));
  }
  /** Resolves once it has applied its configuration (see Tsvs.ready). */
  async ready(timeoutMs = STARTUP_MS): Promise<void> {
    await waitFor('tsvs keepalived started', () => /started with /.test(this.log) || this.proc.exitCode !== null, timeoutMs);
    if (this.proc.exitCode !== null) throw new Error(`tsvs keepalived exited with ${this.proc.exitCode}: ${this.log}`);
  }
  state(inst = 'VI'): string | null {
    const m = [...this.log.matchAll(new RegExp(`VRRP_Instance\\(${inst}\\) Entering (\\w+) STATE`, 'g'))];
    return m.length ? m[m.length - 1]![1]! : null;
  }
  entered(state: string): number {
    return [...this.log.matchAll(new RegExp(`Entering ${state} STATE`, 'g'))].length;
  }
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    await done;
  }
}
