// Building, running and removing a lab: namespaces named tsvs-lab-<lab>-<host>, one bridge per
// segment in a switch namespace, the seeds' addresses and routes, a web server per real
// server, the real-server agent where the lab uses DR, and the director configured with the
// seed's ipvsadm commands through tsvsadm. `down` removes everything with the lab's prefix,
// whatever state a previous run left.

import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { agentDirOf } from '../agent/run-dir.js';
import { spawnReady } from '../agent/spawn-ready.js';
import type { LabDef } from './labs.js';
import { stateDir, stateFile } from '../control/state.js';
import { ip, stopPids } from './netns.js';

const run = promisify(execFile);
const BIN_TSVS = fileURLToPath(new URL('../../bin/tsvs', import.meta.url));
const BIN_TSVSADM = fileURLToPath(new URL('../../bin/tsvsadm', import.meta.url));
// Always the built file, whether this module runs from dist/ or from src/ under tsx.
const HTTP_SERVER = fileURLToPath(new URL('../../dist/lab/http-server.js', import.meta.url));

export type Progress = (msg: string) => void;

export function nsName(lab: LabDef, host: string): string {
  return `tsvs-lab-${lab.name}-${host}`;
}

/**
 * The real-server agent's run directory (state, tunnel agent pid and counters) of a lab host:
 * the one `tsvs realserver` finds by itself inside that namespace (agent/run-dir.ts), so that
 * an operator's `check`, `status` and `stop` there see the lab's agent. Throws when the
 * host's namespace does not exist.
 */
export function agentRunDir(lab: LabDef, host: string): string {
  // The bind mount of a named namespace has the namespace's own inode.
  return agentDirOf(String(statSync(`/run/netns/${nsName(lab, host)}`).ino));
}

function agentRunDirIfUp(lab: LabDef, host: string): string | null {
  try {
    return agentRunDir(lab, host);
  } catch {
    return null;
  }
}

function hosts(lab: LabDef): string[] {
  const s = new Set<string>();
  for (const seg of lab.segments) for (const m of seg.members) s.add(m.host);
  return [...s];
}

async function inNs(ns: string, cmd: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout } = await run('ip', ['netns', 'exec', ns, ...cmd], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${ns}: ${cmd.join(' ')}: ${(err.stderr || err.stdout || err.message).trim()}`);
  }
}

export async function labNamespaces(lab: LabDef): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  const prefix = `tsvs-lab-${lab.name}-`;
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(prefix));
}

/** Removes every namespace of the lab and the processes inside. */
export async function labDown(lab: LabDef, progress: Progress = () => {}): Promise<void> {
  const agentDirs = lab.realServers.map((rs) => agentRunDirIfUp(lab, rs.host));
  for (const ns of await labNamespaces(lab)) {
    const pids = (await ip(['netns', 'pids', ns]).catch(() => '')).split(/\s+/).filter(Boolean);
    await stopPids(pids.map(Number));
    await ip(['netns', 'del', ns]).catch(() => undefined);
    progress(`removed ${ns}`);
  }
  // A director's saved rules belong to its namespace (control/state.ts): gone with it, even
  // when a crashed director could not remove them itself.
  for (const h of hosts(lab)) {
    const rules = stateFile(stateDir(undefined), `netns-${nsName(lab, h)}`);
    await rm(rules, { force: true });
    await rm(rules.replace(/\.rules$/, '.sysctl'), { force: true });
  }
  for (const d of agentDirs) if (d) await rm(d, { recursive: true, force: true });
}

export interface LabUpOptions {
  /**
   * Run the real-server agent on DR real servers (default). Without it the VIP is put on lo
   * with the ARP settings left as they are: the ARP problem of seeds 000/001/004.
   */
  agent?: boolean;
}

/** Builds the lab; on any failure everything built so far is removed. */
export async function labUp(
  lab: LabDef,
  progress: Progress = () => {},
  env: NodeJS.ProcessEnv = {},
  opts: LabUpOptions = {},
): Promise<void> {
  await labDown(lab);
  try {
    const sw = nsName(lab, 'sw');
    await ip(['netns', 'add', sw]);
    // A switch forwards frames without looking at IP; with br_netfilter loaded the bridge
    // would validate (and drop) IPv4 headers itself. Per namespace since Linux 5.3.
    for (const k of ['iptables', 'ip6tables', 'arptables']) {
      await inNs(sw, ['sysctl', '-qw', `net.bridge.bridge-nf-call-${k}=0`]).catch(() => undefined);
    }
    for (const h of hosts(lab)) {
      const ns = nsName(lab, h);
      await ip(['netns', 'add', ns]);
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      progress(`host ${h} (${ns})`);
    }
    let port = 0;
    for (const seg of lab.segments) {
      const br = `br-${seg.name}`.slice(0, 15);
      await ip(['-n', sw, 'link', 'add', br, 'type', 'bridge']);
      await ip(['-n', sw, 'link', 'set', br, 'up']);
      for (const m of seg.members) {
        const ns = nsName(lab, m.host);
        const peer = `p${port++}`;
        await ip(['link', 'add', m.dev, 'netns', ns, 'type', 'veth', 'peer', 'name', peer, 'netns', sw]);
        await ip(['-n', sw, 'link', 'set', peer, 'master', br]);
        await ip(['-n', sw, 'link', 'set', peer, 'up']);
        // IPv6 addresses skip duplicate detection: a lab's addresses are unique by construction.
        for (const a of m.addrs) await ip(['-n', ns, 'addr', 'add', a, 'dev', m.dev, ...(a.includes(':') ? ['nodad'] : [])]);
        await ip(['-n', ns, 'link', 'set', m.dev, 'up']);
      }
      progress(`segment ${seg.name}: ${seg.members.map((m) => `${m.host}/${m.dev}`).join(', ')}`);
    }
    for (const r of lab.routes) await ip(['-n', nsName(lab, r.host), 'route', 'add', ...r.args]);
    for (const f of lab.forwarders) {
      await inNs(nsName(lab, f), ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    }
    for (const rs of lab.realServers) {
      const ns = nsName(lab, rs.host);
      if (rs.agentVip && opts.agent === false) {
        await ip(['-n', ns, 'addr', 'add', `${rs.agentVip}/32`, 'dev', 'lo']);
      } else if (rs.agentVip) {
        const tun = rs.tunnel ? ['--tunnel', rs.tunnel.kind, ...(rs.tunnel.port ? ['--tun-port', String(rs.tunnel.port)] : [])] : [];
        // No TSVS_RUN_DIR: the agent keeps its state where `tsvs realserver` run by hand in
        // this namespace looks (see agentRunDir), marked as the lab's.
        await inNs(ns, [process.execPath, BIN_TSVS, 'realserver', 'start', '--vip', rs.agentVip, '--lab', lab.name, ...tun], {
          TSVS_RUN_DIR: '',
        });
      }
      await startDetached(ns, [process.execPath, HTTP_SERVER, rs.host, String(rs.port)]);
      progress(
        `real server ${rs.host}: web server on :${rs.port}${rs.agentVip ? `, VIP ${rs.agentVip} on lo` : ''}${rs.tunnel ? `, ${rs.tunnel.kind} decapsulation` : ''}`,
      );
    }
    const d = lab.director;
    const dns = nsName(lab, d.host);
    if (d.vipDev) {
      const v6 = d.vip.includes(':');
      const plen = d.vipDev === 'lo' ? (v6 ? 128 : 32) : v6 ? 64 : 24;
      await ip(['-n', dns, 'addr', 'add', `${d.vip}/${plen}`, 'dev', d.vipDev, ...(v6 ? ['nodad'] : [])]).catch(() => undefined);
    }
    for (const c of d.commands) await inNs(dns, [process.execPath, BIN_TSVSADM, ...c], env);
    progress(`director ${d.host}: ${d.commands.length} ipvsadm commands`);
  } catch (e) {
    await labDown(lab);
    throw e;
  }
}

async function startDetached(ns: string, cmd: string[]): Promise<void> {
  await spawnReady('ip', ['netns', 'exec', ns, ...cmd], { what: `${ns}: ${cmd.join(' ')}` });
}

export interface RunResult {
  counts: Record<string, number>;
  failures: number;
  stats: string;
}

/** Sends `n` requests from the client with curl; returns who answered and the director's stats. */
export async function labRun(lab: LabDef, n: number, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const counts: Record<string, number> = {};
  let failures = 0;
  const cns = nsName(lab, lab.client.host);
  for (let i = 0; i < n; i++) {
    try {
      const body = await inNs(cns, ['curl', '-s', '--max-time', '3', lab.client.url]);
      const name = body.trim();
      counts[name] = (counts[name] ?? 0) + 1;
    } catch {
      failures++;
    }
  }
  const stats = await inNs(nsName(lab, lab.director.host), [process.execPath, BIN_TSVSADM, '-L', '-n', '--stats'], env);
  return { counts, failures, stats };
}

export interface LabHealth {
  /** 'down': no namespace of the lab; 'partial': some missing; 'up': all there. */
  state: 'down' | 'partial' | 'up';
  /** What works, one line each. */
  facts: string[];
  /** What does not, one line each; empty when healthy. */
  problems: string[];
}

/**
 * Whether the lab is up and healthy: every namespace there, the director answering with its
 * rules all served, every real server's web server answering with its name and, where the lab
 * runs the agent, `tsvs realserver status` ready. Sends no traffic through the director.
 */
export async function labHealth(lab: LabDef, env: NodeJS.ProcessEnv = {}): Promise<LabHealth> {
  const want = [nsName(lab, 'sw'), ...hosts(lab).map((h) => nsName(lab, h))];
  const have = new Set(await labNamespaces(lab));
  const missing = want.filter((n) => !have.has(n));
  if (missing.length === want.length) return { state: 'down', facts: [], problems: [] };
  const facts: string[] = [];
  const problems: string[] = missing.map((n) => `namespace ${n} is missing`);
  if (missing.length) return { state: 'partial', facts, problems };
  facts.push(`${want.length} namespaces`);
  const dns = nsName(lab, lab.director.host);
  const d = await capture(dns, [process.execPath, BIN_TSVS, 'status', '--json'], env);
  if (d.code !== 0) problems.push(`director ${lab.director.host}: ${d.stderr.trim() || `tsvs status exited ${d.code}`}`);
  else {
    const st = JSON.parse(d.stdout) as { engine: string; services: number; unserved: { rule: string; reason: string }[] };
    if (st.services === 0) problems.push(`director ${lab.director.host}: no service configured`);
    for (const u of st.unserved) problems.push(`director ${lab.director.host}: ${u.rule} not served: ${u.reason}`);
    if (st.services > 0 && st.unserved.length === 0) {
      facts.push(`director ${lab.director.host}: engine ${st.engine}, ${st.services} service(s), all served`);
    }
  }
  for (const rs of lab.realServers) {
    const ns = nsName(lab, rs.host);
    const body = await inNs(ns, ['curl', '-s', '--max-time', '2', `http://127.0.0.1:${rs.port}/`]).catch(() => '');
    if (body.trim() === rs.host) facts.push(`${rs.host}: web server answers on :${rs.port}`);
    else problems.push(`${rs.host}: the web server on :${rs.port} does not answer`);
    if (!rs.agentVip) continue;
    const r = await capture(ns, [process.execPath, BIN_TSVS, 'realserver', 'status', '--json'], { TSVS_RUN_DIR: '' });
    if (r.code === 0) facts.push(`${rs.host}: real-server agent ready (VIP ${rs.agentVip})`);
    else {
      let why = r.stderr.trim();
      try {
        const st = JSON.parse(r.stdout) as { vips: string[]; problems: { what: string; found: string }[] };
        why = st.vips.length ? st.problems.map((p) => `${p.what}: ${p.found}`).join('; ') : 'no VIP configured';
      } catch {
        // not JSON: stderr says why
      }
      problems.push(`${rs.host}: real-server agent not ready: ${why}`);
    }
  }
  return { state: 'up', facts, problems };
}

/** Runs a command in a namespace and returns its exit code and output, whatever the code. */
async function capture(ns: string, cmd: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('ip', ['netns', 'exec', ns, ...cmd], { env: { ...process.env, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? err.message };
  }
}
