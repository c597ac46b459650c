// Building, running and removing a lab: namespaces named tsvs-lab-<lab>-<host>, one bridge per
// segment in a switch namespace, the seeds' addresses and routes, a web server per real
// server, the real-server agent where the lab uses DR, and the director configured with the
// seed's ipvsadm commands through tsvsadm. `down` removes everything with the lab's prefix,
// whatever state a previous run left.

import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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

/** The real-server agent's run directory (state, tunnel agent pid and counters) of a lab host. */
export function agentRunDir(lab: LabDef, host: string): string {
  return `/run/tsvs/lab-${lab.name}-${host}`;
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
  for (const rs of lab.realServers) await rm(agentRunDir(lab, rs.host), { recursive: true, force: true });
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
        await inNs(ns, [process.execPath, BIN_TSVS, 'realserver', 'start', '--vip', rs.agentVip, ...tun], {
          TSVS_RUN_DIR: agentRunDir(lab, rs.host),
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
