// The established-flow rate with N conns in the director's table (default 1,000 and
// 10,000,000), tsvs NAT: a fresh daemon per N, its UDP timeout raised so that no conn expires
// during the run, the table filled through real frames (the generator's `seq` flow space, one
// frame per new client address:port, passes repeated until the daemon counts N conns), then the
// zero-loss search with frames in `scatter` order over the same N flows, so that consecutive
// frames hit conns far apart in the table. The figure is the ratio of the largest N to the
// smallest, target >= 0.90. It is measured on each receive path a director may run NAT on: the
// packet socket (`tsvs NAT`) and AF_XDP (`tsvs NAT (af_xdp native)`), each in its own table.

import { readFileSync } from 'node:fs';
import { CONN_BYTES } from '../src/core/defence.js';
import { SPACE_PORTS, spaceAddrs } from './packet-flows.js';
import { adm, daemonStatus, type Lab, stopDaemon, trial } from './packet-lab.js';
import { RateSearch } from './packet-rate.js';
import { envDaemonArgs, useVariant, type Variant } from './packet-variants.js';
import { textTable } from './text-table.js';

const SIZES = (process.env.TSVS_BENCH_PACKET_CONNS ?? '1000,10000000').split(',').map(Number);
/** Rate of the filling passes: below the engine's new-conn rate, so that most frames make a conn. */
const PREFILL_PPS = Number(process.env.TSVS_BENCH_PREFILL_PPS ?? 150_000);
/** Passes over the flow space before giving up on reaching N (a pass re-sends every flow). */
const PREFILL_PASSES = 3;
/** UDP timeout during the run, s: longer than any prefill and search. */
const UDP_TIMEOUT_S = 3600;
/** The flow space's first client address (the rate bench's flows come from 10.88.1.2). */
const SPACE_SADDR = '10.88.1.10';
/** Client addresses the generator's /24 has left from SPACE_SADDR on. */
const SPACE_MAX_ADDRS = 240;
const SIZE = 64;
const TARGET = 0.9;

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Row {
  conns: number;
  reached: number;
  fillS: number;
  passes: number;
  rssMb: number;
  pps: number;
}

async function measure(l: Lab, v: Variant, n: number, connMemMb: number): Promise<Row> {
  await stopDaemon(l); // a fresh table
  const daddr = await useVariant(l, { ...v, daemonArgs: [...(v.daemonArgs ?? []), '--conn-mem-max', String(connMemMb)] });
  adm(l, ['--set', '0', '0', String(UDP_TIMEOUT_S)]);
  const flows = { count: n, saddr: SPACE_SADDR };
  const t0 = Date.now();
  let reached = 0;
  let passes = 0;
  while (passes < PREFILL_PASSES && reached < n) {
    passes++;
    await trial(l, daddr, SIZE, PREFILL_PPS, Math.ceil((n / PREFILL_PPS) * 1000), { ...flows, order: 'seq' });
    reached = (await daemonStatus(l)).conns;
    if (process.env.TSVS_BENCH_VERBOSE) process.stderr.write(`  prefill pass ${passes}: ${reached} conns\n`);
  }
  const fillS = (Date.now() - t0) / 1000;
  const st = await daemonStatus(l);
  const rss = rssMb(st.pid);
  const pps = await RateSearch.onLab(l, daddr, SIZE, { ...flows, order: 'scatter' }).run();
  return { conns: n, reached, fillS, passes, rssMb: rss, pps };
}

/** The variants the table part runs: NAT on each receive path (not generic XDP, not the fast path's map). */
const TABLE_VARIANTS = ['tsvs NAT', 'tsvs NAT (af_xdp native)'];

export async function benchTable(l: Lab, variants: Variant[]): Promise<void> {
  // TSVS_BENCH_DAEMON_ARGS, if any, is in every tsvs variant's name (selectedVariants).
  const extra = envDaemonArgs();
  const names = TABLE_VARIANTS.map((n) => (extra.length > 0 ? `${n} (${extra.join(' ')})` : n));
  const chosen = variants.filter((x) => names.includes(x.name));
  if (chosen.length === 0) {
    process.stdout.write('\nLarge tables: skipped (neither tsvs NAT nor tsvs NAT (af_xdp native) is selected)\n');
    return;
  }
  for (const v of chosen) await benchTableOf(l, v);
}

async function benchTableOf(l: Lab, v: Variant): Promise<void> {
  const most = Math.max(...SIZES);
  if (spaceAddrs(most) > SPACE_MAX_ADDRS) {
    throw new Error(
      `TSVS_BENCH_PACKET_CONNS: ${most} flows need ${spaceAddrs(most)} client addresses, the lab has ${SPACE_MAX_ADDRS} (${SPACE_MAX_ADDRS * SPACE_PORTS} flows)`,
    );
  }
  // The daemon's bound counts CONN_BYTES a conn (defence.ts); a tenth more keeps it out of the way.
  const connMemMb = Math.ceil((most * CONN_BYTES * 1.1) / 2 ** 20);
  const rows: Row[] = [];
  for (const n of SIZES) rows.push(await measure(l, v, n, connMemMb));
  await stopDaemon(l);
  const base = rows[0]!;
  const last = rows[rows.length - 1]!;
  process.stdout.write(
    `\nLarge tables: ${v.name}, established flows (${SIZE} B, frames in stride order over all N flows; table filled at ${PREFILL_PPS} pps through the director; --conn-mem-max ${connMemMb})\n`,
  );
  process.stdout.write(
    textTable(
      rows.map((r) => ({
        'conns wanted': r.conns,
        'conns in table': r.reached,
        'fill s': r.fillS.toFixed(0),
        passes: r.passes,
        'daemon RSS MB': r.rssMb.toFixed(0),
        'pps (<1% loss)': r.pps,
        'vs first': base.pps ? (r.pps / base.pps).toFixed(2) : 'n/a',
      })),
    ),
  );
  const ratio = base.pps ? last.pps / base.pps : 0;
  process.stdout.write(
    `ratio ${last.conns} / ${base.conns}: ${ratio.toFixed(2)} (target >= ${TARGET}: ${ratio >= TARGET ? 'met' : 'MISSED'})${last.reached < last.conns ? `; the table reached ${last.reached} conns, not ${last.conns}` : ''}\n`,
  );
}
