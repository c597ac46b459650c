// `tsvs realserver start|stop|status|check` argument handling. Every run in a network
// namespace finds that namespace's agent (run-dir.ts), whoever started it.

import { join } from 'node:path';
import { isRoot } from '../control/paths.js';
import { Addr } from '../core/inet.js';
import { ENVIRONMENT, UsageError, wantsHelp } from '../cli/usage.js';
import { type CheckMode, type CheckResult, checkRealserver, formatCheck, kernelTunnels } from './check.js';
import type { TunnelKind } from './decap.js';
import { readDecapCounters, runDecap, startDecap, stopDecap } from './decap-process.js';
import { loadState, realserverStart, realserverStop } from './realserver.js';
import { agentRunDir } from './run-dir.js';
import { addresses, readSysctl } from './sys.js';

const USAGE = `usage: tsvs realserver start|stop|status --vip VIP [--vip VIP …] [--dev lo]
                            [--tunnel ipip|gue|gre [--tun-port PORT]] [--json]
       tsvs realserver check --vip VIP [--mode dr|tun|nat] [--dev lo] [--dip DIP]
       tsvs realserver decap --tunnel ipip|gue|gre --vip VIP … [--tun-port PORT]
start: VIP on lo, ARP sysctls (and user-space decapsulation with --tunnel); stop undoes what
start did; status: what is configured and whether the host is ready (exit 1 if not);
check: each condition a forwarding mode needs, PASS or FAIL with its fix (exit 1 on FAIL).
State: /run/tsvs/realserver-<netns inode>/ (TSVS_RUN_DIR overrides).
`;

interface Args {
  sub: string | undefined;
  vips: Addr[];
  dev: string;
  mode: CheckMode | null;
  dip: Addr | undefined;
  tunnel: TunnelKind | null;
  tunPort: number;
  json: boolean;
  lab: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const o: Args = {
    sub: argv[0],
    vips: [],
    dev: 'lo',
    mode: null,
    dip: undefined,
    tunnel: null,
    tunPort: 0,
    json: false,
    lab: undefined,
  };
  const addr = (opt: string, s: string) => {
    const a = Addr.parse(s);
    if (!a) throw new UsageError(`${opt} ${s}: not an IPv4 or IPv6 address`);
    return a;
  };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    const need = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--vip') o.vips.push(addr(a, need()));
    else if (a === '--dev') o.dev = need();
    else if (a === '--json') o.json = true;
    else if (a === '--lab') o.lab = need();
    else if (a === '--dip') o.dip = addr(a, need());
    else if (a === '--tunnel') {
      const t = need();
      if (t !== 'ipip' && t !== 'gue' && t !== 'gre') throw new UsageError(`--tunnel ${t}: use ipip, gue or gre`);
      o.tunnel = t;
    } else if (a === '--tun-port') {
      const t = need();
      o.tunPort = Number(t);
      if (!/^\d+$/.test(t) || o.tunPort < 1 || o.tunPort > 65535) throw new UsageError(`--tun-port ${t}: a UDP port 1-65535`);
    } else if (a === '--mode') {
      const m = need();
      if (m !== 'dr' && m !== 'tun' && m !== 'nat') throw new UsageError(`--mode ${m}: use dr, tun or nat`);
      o.mode = m;
    } else throw new UsageError(`unknown option ${a}\n${USAGE}`);
  }
  if (o.tunnel === 'gue' && o.tunPort === 0) {
    throw new UsageError("--tunnel gue needs --tun-port (the dest's --tun-port on the director)");
  }
  return o;
}

function needRoot(sub: string): void {
  if (!isRoot()) {
    throw new Error(`${sub} changes this host's addresses and sysctls and needs root: run it with sudo`);
  }
}

export async function realserverMain(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(`${USAGE}\n${ENVIRONMENT}`);
    return 0;
  }
  const a = parseArgs(argv);
  const runDir = agentRunDir();
  const opts = { vips: a.vips, dev: a.dev, stateFile: join(runDir, 'realserver.json'), owner: a.lab };
  const out = (lines: string[]) => process.stdout.write(lines.map((l) => `${l}\n`).join(''));
  switch (a.sub) {
    case 'start': {
      if (a.vips.length === 0) throw new UsageError(`start needs --vip\n${USAGE}`);
      needRoot('start');
      const done = await realserverStart(opts);
      if (a.tunnel) {
        done.push(...(await startDecap(runDir, a.tunnel, a.tunPort, a.vips)));
        const kernel = kernelTunnels();
        if (kernel.length) {
          done.push(
            `note: the kernel has ${kernel.join(', ')} loaded; with a tunnel device up it decapsulates too, and each request would arrive twice: use one or the other (tsvs realserver check --mode tun)`,
          );
        }
      }
      out(done.length ? done : ['already configured']);
      return 0;
    }
    case 'stop': {
      needRoot('stop');
      const saved = await loadState(opts.stateFile);
      // The whole agent, whoever started it: its tunnel agent, VIPs and sysctls together.
      const done = await stopDecap(runDir);
      done.push(...(await realserverStop(opts)));
      if (saved?.owner && done.length)
        done.push(`note: these were lab ${saved.owner}'s settings: tsvs lab up ${saved.owner} rebuilds the lab`);
      if (!saved && done.length === 0) {
        out([`nothing to undo: tsvs realserver start was not run in this network namespace (no ${opts.stateFile})`]);
      } else out(done.length ? done : ['nothing to undo']);
      return 0;
    }
    case 'decap': {
      if (!a.tunnel || a.vips.length === 0) throw new UsageError(`decap needs --tunnel and --vip\n${USAGE}`);
      needRoot('decap');
      await runDecap(runDir, a.tunnel, a.tunPort, a.vips);
      return 0;
    }
    case 'status':
      return status(a, opts.stateFile, runDir);
    case 'check': {
      if (a.vips.length === 0) throw new UsageError(`check needs --vip\n${USAGE}`);
      let ok = true;
      const shown = new Set<string>();
      for (const vip of a.vips) {
        const res = await checkRealserver(vip, a.mode ?? 'dr', a.dev, a.dip, runDir);
        process.stdout.write(formatCheck(res, shown));
        ok &&= res.every((r) => r.ok);
      }
      return ok ? 0 : 1;
    }
    default:
      throw new UsageError(`${a.sub === undefined ? 'which action?' : `unknown action '${a.sub}'`}\n${USAGE}`);
  }
}

/**
 * What is configured here and a verdict: the VIPs of the state file (or --vip) checked for
 * the mode in use (tun while a tunnel agent runs, else dr unless --mode says). Exit 1 when the
 * host is not ready, with each fix once.
 */
async function status(a: Args, stateFile: string, runDir: string): Promise<number> {
  const saved = await loadState(stateFile);
  const addrs = await addresses(a.dev);
  const sysctls: Record<string, string | null> = {};
  for (const n of ['arp_ignore', 'arp_announce']) {
    for (const d of ['all', a.dev]) sysctls[`net.ipv4.conf.${d}.${n}`] = await readSysctl(`net.ipv4.conf.${d}.${n}`);
  }
  const decap = await readDecapCounters(runDir);
  const vips = a.vips.length ? a.vips : (saved?.vips ?? []).map((s) => Addr.parse(s)).filter((v): v is Addr => v !== null);
  const mode: CheckMode = a.mode ?? (decap ? 'tun' : 'dr');
  const failed: CheckResult[] = [];
  for (const vip of vips) failed.push(...(await checkRealserver(vip, mode, a.dev, a.dip, runDir)).filter((r) => !r.ok));
  const ready = vips.length > 0 && failed.length === 0;
  const fixes = [...new Set(failed.map((r) => r.fix).filter((f): f is string => f !== undefined))];
  const verdict = ready
    ? `ready: ${mode === 'tun' ? 'TUN' : 'DR'} real server for ${vips.join(', ')}${saved?.owner ? ` (lab ${saved.owner})` : ''}`
    : vips.length === 0
      ? `not ready: no VIP configured here (tsvs realserver start --vip VIP)${isRoot() ? '' : '; run as root to change it'}`
      : `not ready for ${mode === 'tun' ? 'TUN' : 'DR'}: ${failed.length} problem(s)`;
  if (a.json) {
    const doc = {
      addrs: addrs.map((x) => `${x.local}/${x.prefixlen}`),
      sysctls,
      decap,
      owner: saved?.owner ?? null,
      vips: vips.map(String),
      mode,
      ready,
      problems: failed,
      fixes,
    };
    process.stdout.write(`${JSON.stringify(doc)}\n`);
    return ready ? 0 : 1;
  }
  const lines: string[] = [];
  for (const x of addrs) lines.push(`${a.dev}: ${x.local}/${x.prefixlen}`);
  for (const [k, v] of Object.entries(sysctls)) lines.push(`${k} = ${v}`);
  if (decap) {
    const drops = Object.entries(decap.drops)
      .map(([k, v]) => ` ${k}=${v}`)
      .join('');
    lines.push(
      `tunnel ${decap.tunnel}${decap.port ? ` port ${decap.port}` : ''}: received ${decap.received}, delivered ${decap.delivered}` +
        `${decap.completed ? ` (${decap.completed} merged by GRO, checksum completed)` : ''}, dropped${drops || ' 0'}`,
    );
  }
  lines.push(verdict);
  for (const r of failed) lines.push(`  ${r.what}: ${r.found}`);
  if (fixes.length) {
    lines.push(isRoot() ? 'fix:' : 'fix (as root):');
    for (const f of fixes) lines.push(`  ${f}`);
  }
  process.stdout.write(lines.map((l) => `${l}\n`).join(''));
  return ready ? 0 : 1;
}
