// The packet bench's `start` part: what a director loses in its first second when traffic
// comes at once, as it does to a backup director taking over a VIP or to one its supervisor
// restarted. Each round starts a fresh daemon (its NAT service set, no frame forwarded yet), then
// offers a fixed rate over FLOWS new flows for one second, and again for the next second. Rounds
// alternate the warm-up of the forwarding path (warmup.ts) on and off (TSVS_WARMUP), ROUNDS each;
// the table gives each mode's median. The rate is about half of what each receive path forwards
// without loss once warm on this machine kind, so that what is lost is the start's doing.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Lab, stopDaemon, trial } from './packet-lab.js';
import { useVariant, type Variant } from './packet-variants.js';
import { textTable } from './text-table.js';

/** Rounds per mode, alternating: the first second varies a lot from one start to the next. */
const ROUNDS = 5;
const SIZE = 64;
/** New flows, each a conn to make: a director taking over meets new conns, not only known ones. */
const FLOWS = 1000;
const TRIAL_MS = 1000;
/** Receive paths and their offered rates (2026-12-07, warm: 109-160 k and >= 244 k pps zero-loss). */
const START_VARIANTS: Record<string, number> = { 'tsvs NAT': 60_000, 'tsvs NAT (af_xdp native)': 120_000 };

interface Round {
  first: number;
  next: number;
  warmupMs: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

/** The warm-up's time from the daemon's log (its last start), or NaN when it did not run. */
function warmupMs(l: Lab): number {
  const log = readFileSync(join(l.runDir, 'daemon.log'), 'utf8');
  const all = [...log.matchAll(/compiled the forwarding path on \d+ synthetic frames in (\d+) ms/g)];
  return all.length ? Number(all[all.length - 1]![1]) : NaN;
}

async function round(l: Lab, v: Variant, pps: number, warmup: 'on' | 'off', saddr: string): Promise<Round> {
  await stopDaemon(l);
  const before = process.env.TSVS_WARMUP;
  process.env.TSVS_WARMUP = warmup;
  let daddr: string;
  try {
    daddr = await useVariant(l, v);
  } finally {
    if (before === undefined) delete process.env.TSVS_WARMUP;
    else process.env.TSVS_WARMUP = before;
  }
  const loss = (r: { sent: number; got: number }) => (r.sent === 0 ? 1 : 1 - r.got / r.sent);
  const flows = { count: FLOWS, saddr, order: 'scatter' as const };
  const first = loss(await trial(l, daddr, SIZE, pps, TRIAL_MS, flows));
  const next = loss(await trial(l, daddr, SIZE, pps, TRIAL_MS, flows));
  return { first, next, warmupMs: warmup === 'on' ? warmupMs(l) : NaN };
}

export async function benchStart(l: Lab, variants: Variant[]): Promise<void> {
  const chosen = variants.filter((v) => v.name in START_VARIANTS);
  if (chosen.length === 0) {
    process.stdout.write(`\nStart: skipped (select ${Object.keys(START_VARIANTS).join(' or ')})\n`);
    return;
  }
  const rows: Record<string, string | number>[] = [];
  for (const v of chosen) {
    const pps = START_VARIANTS[v.name]!;
    const by: Record<'on' | 'off', Round[]> = { on: [], off: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const mode of ['on', 'off'] as const) {
        // A fresh daemon has an empty table: the same client addresses make new conns again.
        const r = await round(l, v, pps, mode, '10.88.1.10');
        if (process.env.TSVS_BENCH_VERBOSE)
          process.stderr.write(`  ${v.name} warm-up ${mode}: first ${pct(r.first)}, next ${pct(r.next)}\n`);
        by[mode].push(r);
      }
    }
    for (const mode of ['on', 'off'] as const) {
      const rs = by[mode];
      rows.push({
        variant: v.name,
        pps,
        'warm-up': mode,
        'first second lost (rounds)': rs.map((r) => pct(r.first)).join(', '),
        'first second (median)': pct(median(rs.map((r) => r.first))),
        'next second (median)': pct(median(rs.map((r) => r.next))),
        'warm-up ms (median)': mode === 'on' ? median(rs.map((r) => r.warmupMs)).toFixed(0) : '',
      });
    }
  }
  await stopDaemon(l);
  process.stdout.write(
    `\nStart: a fresh director's first second at a fixed rate (${SIZE} B, ${FLOWS} new flows), warm-up of the forwarding path on and off, ${ROUNDS} rounds each, alternating\n`,
  );
  process.stdout.write(textTable(rows));
}
