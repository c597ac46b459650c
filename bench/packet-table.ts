// The established-flow rate with N conns in the director's table (default 1,000 and
// 10,000,000), tsvs NAT. Each N gets a director of its own: a lab (namespaces) and a daemon,
// its UDP timeout raised so that no conn expires during the run, its table filled through real
// frames (the generator's `seq` flow space, one frame per new client address:port, passes
// repeated until the daemon counts N conns). Then rounds of the zero-loss search with frames in
// `scatter` order over the same N flows (consecutive frames hit conns far apart in the table),
// one search per N a round, while the other directors are stopped (SIGSTOP). The figure is the
// median over the rounds of largest N / smallest N, target >= 0.90: on a shared VM one N's rate
// drifted by a quarter over the minutes a 10 M fill takes (128,125 → 95,313 pps, 2026-12-07),
// so N measured one after the other compared the machine's two moments, not the two tables.
// It is measured on each receive path a director may run NAT on: the packet socket (`tsvs NAT`)
// and AF_XDP (`tsvs NAT (af_xdp native)`).
//
// Each round also meters the director core's CPU per forwarded frame at one fixed rate below
// both N's capacity (bench/cpu-meter.ts, softirq included), the same scatter order. A zero-loss
// search on the packet socket is bimodal near capacity (one trial forwards all, the next loses a
// quarter at the same rate), so its rounds' ratios spread 0.70–1.43; what the table costs a frame
// is read more steadily where nothing is lost: cost at 1,000 / cost at N is the rate ratio the
// core would allow if it were the only limit.

import { readFileSync } from 'node:fs';
import { CONN_BYTES } from '../src/core/defence.js';
import { SPACE_PORTS, spaceAddrs } from './packet-flows.js';
import { adm, CPUS, daemonStatus, DIR_CPU, type Lab, setupLab, stopDaemon, trial } from './packet-lab.js';
import { RateSearch } from './packet-rate.js';
import { envDaemonArgs, useVariant, type Variant } from './packet-variants.js';
import { textTable } from './text-table.js';
import { median } from './median.js';
import { CpuMeter } from './cpu-meter.js';

const SIZES = (process.env.TSVS_BENCH_PACKET_CONNS ?? '1000,10000000').split(',').map(Number);
/** The filling passes' highest rate (TSVS_BENCH_PREFILL_PPS). */
const PREFILL_PPS = Number(process.env.TSVS_BENCH_PREFILL_PPS ?? 150_000);
/**
 * The filling passes' rate as a share of the smallest N's zero-loss rate. A new conn costs
 * about twice an established frame, and a path offered more than it forwards forwards less
 * than its capacity (the receive softirq takes the core): at a fixed 150,000 pps on a VM whose
 * packet socket forwarded 137,500 established frames, three passes made 8.59 M of 10 M conns
 * (2026-12-07), and every search frame on a missing conn then made one, at a new conn's cost.
 */
const FILL_SHARE = 0.5;
/**
 * Rounds (one search per N each). Near the packet socket's capacity one trial forwards
 * everything and the next loses a quarter at the same rate, so one search decides little.
 */
const SEARCHES = Number(process.env.TSVS_BENCH_TABLE_SEARCHES ?? 5);
/**
 * A fill stops once this share of N is in the table: the last pass of three made 4,507 conns
 * of 10 M in 156 s (2026-12-07), and a search frame that makes one of the 0.1 % missing conns
 * costs each frame under 1 % on average.
 */
const FILL_ENOUGH = 0.999;
/** After SIGCONT, before a search: the resumed daemon's timer catches up (see pause()). */
const SETTLE_MS = 3000;
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
/**
 * The CPU trials' rate as a share of the smallest N's first zero-loss rate: below every N's
 * capacity, so that no frame is lost and the core has idle time for the meter to count. At 0.6
 * (99,375 pps, 2026-12-07) the core was 90 % busy and 3 of 5 trials at 10 M conns lost over
 * 1 %; fixed 3 s trials at 100,000 pps lost over 1 % in 41 % of them at 1,000 conns and 46 % at
 * 10 M (ring drops): that rate is at the packet socket's edge on this VM whatever the table.
 */
const CPU_SHARE = 0.5;
/** A CPU trial: 3 s of frames at half of ~120 kpps touch ~180,000 of 10 M conns, each once. */
const CPU_TRIAL_MS = 3000;
/** The core's background before a CPU trial (the resumed daemon idle, other jobs): window, quiet level, wait. */
const BG_MS = 1000;
const QUIET = 0.05;
const QUIET_WAIT_MS = 30_000;

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Row {
  conns: number;
  reached: number;
  fillS: number;
  fillPps: number;
  passes: number;
  rssMb: number;
  /** Each search's rate, in order (round k of every row ran back to back); `pps` is their median. */
  searches: number[];
  /** Searches that ended at the generator's limit, not at loss (lower bounds). */
  bound: boolean[];
  pps: number;
  /** Director core ns per forwarded frame at the fixed rate, less background, by round. */
  cpuNs: number[];
  /** The CPU trials' loss, by round (above 1 %: the rate was above this N's capacity). */
  cpuLoss: number[];
}

/** One N's director: its own lab (namespaces), daemon and table, kept for the whole part. */
interface Table {
  lab: Lab;
  daddr: string;
  row: Row;
}

/** Starts a fresh daemon in `l` and fills its table with n conns through frames at fillPps. */
async function fill(l: Lab, v: Variant, n: number, connMemMb: number, fillPps: number): Promise<Table> {
  await stopDaemon(l);
  const daddr = await useVariant(l, { ...v, daemonArgs: [...(v.daemonArgs ?? []), '--conn-mem-max', String(connMemMb)] });
  adm(l, ['--set', '0', '0', String(UDP_TIMEOUT_S)]);
  const flows = { count: n, saddr: SPACE_SADDR };
  const t0 = Date.now();
  let reached = 0;
  let passes = 0;
  while (passes < PREFILL_PASSES && reached < FILL_ENOUGH * n) {
    passes++;
    await trial(l, daddr, SIZE, fillPps, Math.ceil((n / fillPps) * 1000), { ...flows, order: 'seq' });
    reached = (await daemonStatus(l)).conns;
    if (process.env.TSVS_BENCH_VERBOSE) process.stderr.write(`  prefill pass ${passes}: ${reached} conns\n`);
  }
  const fillS = (Date.now() - t0) / 1000;
  const rss = rssMb((await daemonStatus(l)).pid);
  return {
    lab: l,
    daddr,
    row: { conns: n, reached, fillS, fillPps, passes, rssMb: rss, searches: [], bound: [], pps: 0, cpuNs: [], cpuLoss: [] },
  };
}

/** One zero-loss search over t's N flows in `scatter` order, added to its row. */
async function search(t: Table): Promise<number> {
  const s = RateSearch.onLab(t.lab, t.daddr, SIZE, { count: t.row.conns, saddr: SPACE_SADDR, order: 'scatter' });
  const pps = await s.run();
  t.row.searches.push(pps);
  t.row.bound.push(s.generatorBound);
  t.row.pps = median(t.row.searches);
  return pps;
}

/** One fixed-rate trial over t's N flows in `scatter` order, its director core metered by m. */
async function cpuTrial(t: Table, m: CpuMeter, pps: number): Promise<void> {
  const bg = await m.background(BG_MS, QUIET, QUIET_WAIT_MS);
  const r = await trial(t.lab, t.daddr, SIZE, pps, CPU_TRIAL_MS, { count: t.row.conns, saddr: SPACE_SADDR, order: 'scatter' });
  const wall = Number(r.t1 - r.t0) / 1e9;
  const busy = (await m.busy(r.t0, r.t1)) - bg * wall;
  t.row.cpuNs.push((busy / Math.max(1, r.got)) * 1e9);
  t.row.cpuLoss.push(r.sent ? 1 - r.got / r.sent : 0);
}

/**
 * Stops (SIGSTOP) or resumes a table's daemon: the directors not being measured must not take
 * the director core's time. A resumed daemon catches up on its conn timer's ticks, which at
 * 10 M conns re-files some of them (every conn comes round once per wheel turn): SETTLE_MS.
 */
async function pause(t: Table, stop: boolean): Promise<void> {
  const d = t.lab.daemon;
  if (!d || d.exitCode !== null) throw new Error(`the ${t.row.conns}-conn table's daemon is gone`);
  d.kill(stop ? 'SIGSTOP' : 'SIGCONT');
  if (!stop) await new Promise((r) => setTimeout(r, SETTLE_MS));
}

/**
 * The variants the table part runs: NAT on each receive path (not generic XDP, not the fast
 * path's map); TSVS_BENCH_TABLE_VARIANTS (comma-separated, exact names) keeps some of them.
 */
const TABLE_VARIANTS = (process.env.TSVS_BENCH_TABLE_VARIANTS ?? 'tsvs NAT,tsvs NAT (af_xdp native)').split(',').map((s) => s.trim());

export async function benchTable(l: Lab, variants: Variant[]): Promise<void> {
  // TSVS_BENCH_DAEMON_ARGS, if any, is in every tsvs variant's name (selectedVariants).
  const extra = envDaemonArgs();
  const names = TABLE_VARIANTS.map((n) => (extra.length > 0 ? `${n} (${extra.join(' ')})` : n));
  const chosen = variants.filter((x) => names.includes(x.name));
  if (chosen.length === 0) {
    process.stdout.write('\nLarge tables: skipped (neither tsvs NAT nor tsvs NAT (af_xdp native) is selected)\n');
    return;
  }
  const most = Math.max(...SIZES);
  if (spaceAddrs(most) > SPACE_MAX_ADDRS) {
    throw new Error(
      `TSVS_BENCH_PACKET_CONNS: ${most} flows need ${spaceAddrs(most)} client addresses, the lab has ${SPACE_MAX_ADDRS} (${SPACE_MAX_ADDRS * SPACE_PORTS} flows)`,
    );
  }
  // Each N gets a lab of its own (the first is the bench's), in the bench's topology, which
  // removes them with its own.
  const labs = [l];
  for (let k = 1; k < SIZES.length; k++) labs.push(await setupLab(l.topo, String(k)));
  for (const v of chosen) await benchTableOf(labs, v);
}

async function benchTableOf(labs: Lab[], v: Variant): Promise<void> {
  const most = Math.max(...SIZES);
  // The daemon's bound counts CONN_BYTES a conn (defence.ts); a tenth more keeps it out of the way.
  const connMemMb = Math.ceil((most * CONN_BYTES * 1.1) / 2 ** 20);
  const tables: Table[] = [];
  // No daemon of this variant runs yet: the spinner calibrates on a quiet core.
  const meter = CPUS > 1 ? new CpuMeter(DIR_CPU) : null;
  let cpuPps = 0;
  /** The round's CPU trial of t, once the first N's first search has set the rate. */
  const cpu = async (t: Table) => {
    if (meter) await cpuTrial(t, meter, cpuPps);
  };
  try {
    if (meter) {
      await meter.start();
      await meter.calibrate();
    }
    for (let k = 0; k < SIZES.length; k++) {
      const lab = labs[k]!;
      // The smallest N fills with n frames, whatever the rate; the others at a share of its rate.
      const fillPps = k === 0 ? PREFILL_PPS : Math.min(PREFILL_PPS, Math.round(FILL_SHARE * tables[0]!.row.pps));
      const t = await fill(lab, v, SIZES[k]!, connMemMb, fillPps);
      tables.push(t);
      await search(t); // the first round, which also sets the next N's fill rate
      if (k === 0) cpuPps = Math.round(CPU_SHARE * t.row.pps);
      await cpu(t);
      await pause(t, true);
    }
    for (let round = 1; round < SEARCHES; round++) {
      for (const t of tables) {
        await pause(t, false);
        await search(t);
        await cpu(t);
        await pause(t, true);
      }
    }
  } finally {
    meter?.stop();
    for (const t of tables) {
      t.lab.daemon?.kill('SIGCONT');
      await stopDaemon(t.lab);
    }
  }
  report(
    v,
    tables.map((t) => t.row),
    connMemMb,
    cpuPps,
  );
}

function report(v: Variant, rows: Row[], connMemMb: number, cpuPps: number): void {
  const base = rows[0]!;
  const last = rows[rows.length - 1]!;
  // Round k of the two sizes ran minutes apart at most: their ratio leaves out the machine's drift.
  const paired = median(last.searches.map((x, k) => x / base.searches[k]!));
  process.stdout.write(
    `\nLarge tables: ${v.name}, established flows (${SIZE} B, frames in stride order over all N flows; each N on a director of its own, table filled through it at ${FILL_SHARE} of the first N's rate; ${SEARCHES} rounds of one search per N, the directors not searched stopped; >=: the generator's limit; --conn-mem-max ${connMemMb})\n`,
  );
  process.stdout.write(
    textTable(
      rows.map((r) => ({
        'conns wanted': r.conns,
        'conns in table': r.reached,
        'fill s': r.fillS.toFixed(0),
        'fill pps': r.fillPps,
        passes: r.passes,
        'daemon RSS MB': r.rssMb.toFixed(0),
        'searches by round': r.searches.map((x, k) => (r.bound[k] ? `>=${x}` : String(x))).join(' '),
        'median pps (<1% loss)': r.pps,
        'vs first': base.pps ? (r.pps / base.pps).toFixed(2) : 'n/a',
        [`CPU ns/frame at ${cpuPps} pps by round`]: r.cpuNs.map((x, k) => `${x.toFixed(0)}${r.cpuLoss[k]! > 0.01 ? '!' : ''}`).join(' '),
      })),
    ),
  );
  if (base.cpuNs.length > 0 && last.cpuNs.length === base.cpuNs.length) {
    const cost = median(last.cpuNs.map((x, k) => base.cpuNs[k]! / x));
    const lossy = [base, last].some((r) => r.cpuLoss.some((x) => x > 0.01));
    process.stdout.write(
      `CPU per frame at ${cpuPps} pps, ${base.conns} / ${last.conns} (the rate ratio the director core allows): ${cost.toFixed(3)}, the median of the rounds' ratios (${median(base.cpuNs).toFixed(0)} and ${median(last.cpuNs).toFixed(0)} ns)${lossy ? "; !: a trial lost more than 1 %, its rate was above that N's capacity" : ''}\n`,
    );
  }
  const bound = [base, last].some((r) => r.bound.some(Boolean));
  process.stdout.write(
    `ratio ${last.conns} / ${base.conns}: ${paired.toFixed(3)}, the median of the rounds' ratios (of the medians: ${(last.pps / base.pps).toFixed(3)}); target >= ${TARGET}: ${paired >= TARGET ? 'met' : 'MISSED'}${bound ? "; some searches ended at the generator's limit, so their rates are lower bounds" : ''}${last.reached < last.conns ? `; the table reached ${last.reached} conns, not ${last.conns}` : ''}\n`,
  );
}
