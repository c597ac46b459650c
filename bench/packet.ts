// `npm run bench -- packet`: a bounded UDP flood through a director namespace (packet-lab.ts),
// forwarded by each variant of packet-variants.ts: tsvs NAT, DR, TUN (ipip) and FULLNAT on the
// packet engine, and the kernel's nftables DNAT as the peer, in one run. The parts, chosen
// with TSVS_BENCH_PACKET_PARTS (comma-separated, default all):
//   rate   the zero-loss rate at 64 B and 1400 B, and the ratio to nftables (packet-rate.ts)
//   cpu    the director core's CPU per forwarded packet at a fixed rate (packet-cpu.ts)
//   table  the established-flow rate with 1,000 and 10,000,000 conns (packet-table.ts)
//   scrape the zero-loss rate while /metrics is fetched, core thread off and on (packet-scrape.ts)
//   start  a fresh director's first second at a fixed rate, warm-up on and off (packet-start.ts)
// Traffic stays inside namespaces this script creates.

import { execFileSync } from 'node:child_process';
import { netnsUnavailable, Topology } from '../src/lab/netns.js';
import { benchCpu } from './packet-cpu.js';
import { clearRules, CPUS, GEN_CPU, type Lab, setupLab, stopDaemon } from './packet-lab.js';
import { benchRates } from './packet-rate.js';
import { benchScrape } from './packet-scrape.js';
import { benchStart } from './packet-start.js';
import { benchTable } from './packet-table.js';
import { withSignalTeardown } from './signal-teardown.js';
import { selectedVariants } from './packet-variants.js';

const PARTS = ['rate', 'cpu', 'table', 'scrape', 'start'] as const;

/** Pins this process (every thread) to `cpus`, so that its housekeeping stays off the director's core. */
function pinSelf(cpus: string): void {
  execFileSync('taskset', ['-a', '-pc', cpus, String(process.pid)], { stdio: 'ignore' });
}

export async function benchPacket(): Promise<void> {
  const why = netnsUnavailable();
  if (why) {
    process.stdout.write(`\npacket: skipped (${why})\n`);
    return;
  }
  const want = (process.env.TSVS_BENCH_PACKET_PARTS ?? PARTS.join(',')).split(',').map((s) => s.trim());
  const bad = want.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (bad.length) throw new Error(`TSVS_BENCH_PACKET_PARTS: unknown part ${bad.join(', ')} (use ${PARTS.join(', ')})`);
  const variants = selectedVariants();
  const topo = new Topology();
  let l: Lab | null = null;
  if (CPUS > 1) pinSelf(String(GEN_CPU));
  try {
    await withSignalTeardown(topo, async () => {
      l = await setupLab(topo);
      if (want.includes('rate')) await benchRates(l, variants);
      if (want.includes('cpu')) await benchCpu(l, variants);
      if (want.includes('table')) await benchTable(l, variants);
      if (want.includes('scrape')) await benchScrape(l, variants);
      if (want.includes('start')) await benchStart(l, variants);
    });
  } finally {
    if (l) {
      try {
        clearRules(l);
      } catch {
        // a daemon that died has no rules left
      }
      await stopDaemon(l);
    }
    await topo.teardown();
    if (CPUS > 1) pinSelf(`0-${CPUS - 1}`);
  }
}
