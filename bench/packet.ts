// `npm run bench -- packet`: a bounded UDP flood through a director namespace, forwarded by
// tsvs NAT, DR, TUN (ipip) and FULLNAT and the kernel's nftables DNAT in the same run. For each: the highest rate
// (binary search, 1 s trials, a lossy trial retried once) that arrives with < 1 % loss, at 64 B and 1400 B payloads,
// and the ratio to nftables. Traffic stays inside namespaces this script creates.
//
// gen (a0 10.88.1.2) ── (fa 10.88.1.1) dir (fb 10.88.2.1) ── (b0 10.88.2.2) sink
// The sink counts arrivals with nft counters at its ingress (no process in the path): the
// datagrams, and for TUN the ipip packets that carry them.

import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsUnavailable, Topology } from '../src/lab/netns.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GEN = join(ROOT, 'bench/packet-gen.ts');
const TSVSADM = join(ROOT, 'bin/tsvsadm');
const VIP = '10.88.1.100';
const RIP = '10.88.2.2';
const PORT = 9000;
const TRIAL_MS = 1000;
const FLOWS = 16;
const CPUS = availableParallelism();

type Method = 'nftables DNAT' | 'tsvs NAT' | 'tsvs DR' | 'tsvs TUN' | 'tsvs FULLNAT';

interface Ctx {
  topo: Topology;
  gen: string;
  dir: string;
  sink: string;
  genMac: string;
  dirMac: string;
  runDir: string;
}

async function setup(topo: Topology): Promise<Ctx> {
  const gen = await topo.netns('gen');
  const dir = await topo.netns('dir');
  const sink = await topo.netns('sink');
  await topo.link({ ns: gen, dev: 'a0' }, { ns: dir, dev: 'fa' });
  await topo.link({ ns: dir, dev: 'fb' }, { ns: sink, dev: 'b0' });
  await topo.addr(gen, 'a0', '10.88.1.2/24');
  await topo.addr(dir, 'fa', '10.88.1.1/24');
  await topo.addr(dir, 'fb', '10.88.2.1/24');
  await topo.addr(sink, 'b0', `${RIP}/24`);
  await topo.route(sink, ['default', 'via', '10.88.2.1']);
  await topo.sysctl(dir, 'net.ipv4.ip_forward', '1');
  // One core each: the generator runs on CPU 0 (taskset), and RPS moves the director's receive
  // processing (the kernel's forwarding for nftables, the ring fill for tsvs) to CPU 1.
  // Without it the kernel forwards inside the generator's softirq, on the generator's core.
  if (CPUS > 1) {
    execFileSync('ip', ['netns', 'exec', dir, 'sh', '-c', 'echo 2 > /sys/class/net/fa/queues/rx-0/rps_cpus']);
  }
  const nft = `table netdev sink {\n chain in {\n  type filter hook ingress device "b0" priority 0; policy accept;\n  udp dport ${PORT} counter drop\n  ip protocol 4 counter drop\n }\n}\n`;
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
  };
}

function sinkCount(c: Ctx): number {
  const out = execFileSync('ip', ['netns', 'exec', c.sink, 'nft', 'list', 'table', 'netdev', 'sink'], {
    encoding: 'utf8',
  });
  let n = 0;
  for (const m of out.matchAll(/packets (\d+)/g)) n += Number(m[1]);
  return n;
}

function adm(c: Ctx, args: string[]): void {
  execFileSync('ip', ['netns', 'exec', c.dir, process.execPath, TSVSADM, ...args], {
    env: { ...process.env, TSVS_RUN_DIR: c.runDir, TSVS_ENGINE: 'packet' },
    stdio: 'pipe',
  });
}

function nsExec(ns: string, cmd: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', input, stdio: 'pipe' });
}

/** Offered rates the generator could not reach (it shares the machine's two cores). */
let genShort = 0;

function clear(c: Ctx): void {
  try {
    nsExec(c.dir, ['nft', 'delete', 'table', 'ip', 'benchnat']);
  } catch {
    // not there
  }
  try {
    adm(c, ['-C']);
  } catch {
    // no director yet
  }
}

function use(c: Ctx, m: Method): string {
  clear(c);
  if (m === 'nftables DNAT') {
    nsExec(
      c.dir,
      ['nft', '-f', '-'],
      `table ip benchnat {\n chain pre {\n  type nat hook prerouting priority -100;\n  ip daddr 10.88.1.1 udp dport ${PORT} dnat to ${RIP}\n }\n}\n`,
    );
    return '10.88.1.1';
  }
  if (m === 'tsvs NAT') {
    adm(c, ['-A', '-u', `10.88.1.1:${PORT}`, '-s', 'rr']);
    adm(c, ['-a', '-u', `10.88.1.1:${PORT}`, '-r', `${RIP}:${PORT}`, '-m']);
    return '10.88.1.1';
  }
  if (m === 'tsvs FULLNAT') {
    adm(c, ['-A', '-u', `10.88.1.1:${PORT}`, '-s', 'rr', '--laddr', '10.88.2.1']);
    adm(c, ['-a', '-u', `10.88.1.1:${PORT}`, '-r', `${RIP}:${PORT}`, '--fullnat']);
    return '10.88.1.1';
  }
  adm(c, ['-A', '-u', `${VIP}:${PORT}`, '-s', 'rr']);
  adm(c, ['-a', '-u', `${VIP}:${PORT}`, '-r', RIP, m === 'tsvs TUN' ? '-i' : '-g']);
  return VIP;
}

async function trial(c: Ctx, daddr: string, size: number, pps: number): Promise<number> {
  const before = sinkCount(c);
  const pin = CPUS > 1 ? ['taskset', '-c', '0'] : [];
  const out = nsExec(c.gen, [
    ...pin,
    process.execPath,
    '--import',
    'tsx',
    GEN,
    'a0',
    c.dirMac,
    c.genMac,
    '10.88.1.2',
    daddr,
    String(PORT),
    String(size),
    String(pps),
    String(TRIAL_MS),
    String(FLOWS),
  ]);
  const sent = (JSON.parse(out) as { txSent: number }).txSent;
  await new Promise((r) => setTimeout(r, 300));
  const got = sinkCount(c) - before;
  if (process.env.TSVS_BENCH_VERBOSE) process.stderr.write(`  ${daddr} ${size}B ${pps}pps: sent ${sent} got ${got}\n`);
  // A generator that fell short did not offer this rate: the trial says nothing about it.
  if (sent < 0.97 * pps * (TRIAL_MS / 1000)) {
    genShort = Math.max(genShort, pps);
    return 1;
  }
  return sent === 0 ? 1 : 1 - got / sent;
}

/**
 * Whether `pps` passes (< 1 % loss). A lossy trial is run once more: on this shared 2-core
 * machine one scheduling hiccup can lose a burst at any rate, and a single bad trial would
 * send the search far below the method's rate. Every method gets the same second chance.
 */
async function passes(c: Ctx, daddr: string, size: number, pps: number): Promise<boolean> {
  if ((await trial(c, daddr, size, pps)) < 0.01) return true;
  return (await trial(c, daddr, size, pps)) < 0.01;
}

/** Highest rate with < 1 % loss: doubling, then bisection. */
async function search(c: Ctx, daddr: string, size: number): Promise<number> {
  let lo = 0;
  let hi = 50_000;
  while (hi <= 3_200_000 && (await passes(c, daddr, size, hi))) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 5; i++) {
    const mid = Math.round((lo + hi) / 2);
    if (await passes(c, daddr, size, mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export async function benchPacket(): Promise<void> {
  const why = netnsUnavailable();
  if (why) {
    process.stdout.write(`\npacket: skipped (${why})\n`);
    return;
  }
  const topo = new Topology();
  let c: Ctx | null = null;
  try {
    c = await setup(topo);
    const only = process.env.TSVS_BENCH_METHODS?.split(',');
    const methods = (['nftables DNAT', 'tsvs NAT', 'tsvs DR', 'tsvs TUN', 'tsvs FULLNAT'] as Method[]).filter(
      (m) => !only || only.some((o) => m.includes(o)),
    );
    const rows: Record<string, string | number>[] = [];
    for (const size of [64, 1400]) {
      const res = new Map<Method, number>();
      for (const m of methods) {
        const daddr = use(c, m);
        await trial(c, daddr, size, 1000); // warm-up: conns, neighbours
        res.set(m, await search(c, daddr, size));
      }
      const peer = res.get('nftables DNAT') ?? 0;
      for (const m of methods) {
        const v = res.get(m)!;
        rows.push({
          payload: `${size} B`,
          method: m,
          'pps (<1% loss)': v,
          'ratio to nft': peer ? (v / peer).toFixed(2) : 'n/a',
          target: m === 'nftables DNAT' ? 'peer' : size !== 64 || !peer ? '' : v >= peer ? '>= 1.0: met' : '>= 1.0: MISSED',
        });
      }
    }
    const cols = Object.keys(rows[0]!);
    const w = cols.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
    const line = (v: string[]) => v.map((s, i) => s.padStart(w[i]!)).join('  ');
    process.stdout.write(
      `\nUDP flood through a director namespace (${FLOWS} flows, ${TRIAL_MS} ms trials, one run; generator on CPU 0, director's receive path on CPU 1 by RPS)\n`,
    );
    process.stdout.write(`${[line(cols), ...rows.map((r) => line(cols.map((k) => String(r[k]))))].join('\n')}\n`);
    if (genShort) {
      process.stdout.write(`(the generator could not offer ${genShort} pps; a rate at the generator's limit is a lower bound)\n`);
    }
  } finally {
    if (c) clear(c);
    await topo.teardown();
  }
}
