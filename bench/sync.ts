// `npm run bench -- sync` (root): sync messages and bytes per second for 50,000 new conns per
// second on a master, and the backup director's CPU to apply them. The master is a core with a
// real SyncMaster (bench/sync-master.ts) in one namespace, the backup a `tsvs daemon` with a
// backup sync daemon in another, joined by a veth pair. The peer figure is the kernel's own
// message size: the format is the kernel's, so tsvs's bytes per conn are compared with what a
// kernel master would send for the same conns.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Topology } from '../src/lab/netns.js';
import { withSignalTeardown } from './signal-teardown.js';
import { SYNC_ENTRY_V4, SYNC_HDR_V1 } from '../src/sync/constants.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RATE = Number(process.env.TSVS_BENCH_SYNC_RATE ?? 50_000);
const SECONDS = Number(process.env.TSVS_BENCH_SYNC_SECONDS ?? 5);
/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** The namespace's UDP receive-buffer drops (/proc/net/snmp, Udp: RcvbufErrors). */
function rcvbufErrors(ns: string): number {
  const snmp = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp']).toString().split('\n');
  const names = snmp.find((l) => l.startsWith('Udp: InDatagrams'))?.split(/\s+/) ?? [];
  const vals = snmp.filter((l) => l.startsWith('Udp: '))[1]?.split(/\s+/) ?? [];
  return Number(vals[names.indexOf('RcvbufErrors')] ?? 0);
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

export async function benchSync(): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stdout.write('\nsync: needs root (network namespaces); skipped\n');
    return;
  }
  const topo = new Topology();
  try {
    await withSignalTeardown(topo, async () => {
      const m = await topo.netns('sync-m');
      const b = await topo.netns('sync-b');
      await topo.link({ ns: m, dev: 'eth0' }, { ns: b, dev: 'eth0' });
      await topo.addr(m, 'eth0', '10.81.0.1/24');
      await topo.addr(b, 'eth0', '10.81.0.2/24');
      const env = { ...process.env, TSVS_RUN_DIR: `/tmp/tsvs-bench-sync-${process.pid}`, TSVS_ENGINE: 'packet' };
      const adm = (args: string[]) => execFileSync('ip', ['netns', 'exec', b, `${ROOT}bin/tsvsadm`, ...args], { env });
      adm(['-A', '-t', '10.81.0.100:80', '-s', 'rr']);
      adm(['-a', '-t', '10.81.0.100:80', '-r', '10.81.0.11', '-g']);
      adm(['-a', '-t', '10.81.0.100:80', '-r', '10.81.0.12', '-g']);
      // TSVS_BENCH_SYNC_SOCK: the backup's net.ipv4.vs.sync_sock_size (its SO_RCVBUF), before it starts.
      const sock = process.env.TSVS_BENCH_SYNC_SOCK;
      if (sock) execFileSync('ip', ['netns', 'exec', b, `${ROOT}bin/tsvs`, 'sysctl', '-w', `net.ipv4.vs.sync_sock_size=${sock}`], { env });
      adm(['--start-daemon', 'backup', '--mcast-interface', 'eth0']);
      const st = () =>
        JSON.parse(execFileSync('ip', ['netns', 'exec', b, `${ROOT}bin/tsvs`, 'status', '--json'], { env }).toString()) as {
          pid: number;
          sync: { backup?: { entries: number; created: number; messages: number } }[];
        };
      const pid = st().pid;
      const before = cpuTicks(pid);
      const child = spawn(
        'ip',
        ['netns', 'exec', m, process.execPath, '--import', 'tsx', `${ROOT}bench/sync-master.ts`, String(RATE), String(SECONDS)],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise((r) => child.on('exit', r));
      await new Promise((r) => setTimeout(r, 1000));
      const after = cpuTicks(pid);
      const master = JSON.parse(out.trim()) as {
        made: number;
        elapsed: number;
        cpuSec: number;
        conns: number;
        messages: number;
        bytes: number;
        queueDrops: number;
        sendErrors: number;
      };
      const backup = st().sync[0]?.backup;
      // A kernel master fills 1472-byte messages with 40 IPv4 entries: 8 + 40 x 36 bytes.
      const perConnKernel = (SYNC_HDR_V1 + 40 * SYNC_ENTRY_V4) / 40;
      const perConn = master.bytes / Math.max(1, master.conns);
      const rows = [
        { what: 'new conns /s offered', value: Math.round(master.made / master.elapsed) },
        { what: 'conns sent /s', value: Math.round(master.conns / master.elapsed) },
        { what: 'messages /s', value: Math.round(master.messages / master.elapsed) },
        { what: 'bytes /s', value: Math.round(master.bytes / master.elapsed) },
        { what: 'bytes per conn (tsvs)', value: perConn.toFixed(2) },
        { what: 'bytes per conn (kernel, full messages)', value: perConnKernel.toFixed(2) },
        { what: 'ratio tsvs/kernel', value: (perConn / perConnKernel).toFixed(3) },
        { what: 'queue drops / send errors', value: `${master.queueDrops} / ${master.sendErrors}` },
        { what: 'master CPU (core + sync, % of a core)', value: ((100 * master.cpuSec) / master.elapsed).toFixed(1) },
        { what: 'backup director CPU (% of a core)', value: ((100 * (after - before)) / CLK_TCK / master.elapsed).toFixed(1) },
        { what: 'backup conns received / created', value: `${backup?.entries ?? 0} / ${backup?.created ?? 0}` },
        { what: 'backup UDP receive-buffer drops', value: rcvbufErrors(b) },
      ];
      process.stdout.write(
        `\nConnection sync, ${RATE} new conns/s for ${SECONDS} s (master core + SyncMaster -> backup tsvs daemon over veth; backup sync_sock_size ${sock ?? 'default'})\n`,
      );
      const w = Math.max(...rows.map((r) => r.what.length));
      for (const r of rows) process.stdout.write(`${r.what.padEnd(w)}  ${r.value}\n`);
    });
  } finally {
    await topo.teardown();
  }
}
