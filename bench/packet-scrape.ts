// The packet bench's `scrape` part: what a busy control plane costs the frame loop, with the
// core on the daemon's thread (--core-thread off) and on a thread of its own (on). The director
// serves NAT as the rate part does, and also holds 1,000 services x 10 real servers (the scrape
// bench's director), so that one /metrics is 13 MB and tens of milliseconds of formatting. Each
// round starts a daemon in one mode, offers a fixed rate well below both modes' capacity for
// TRIAL_MS unscraped, then again while a scraper in the director's namespace fetches /metrics
// every SCRAPE_GAP_MS after the last, and counts what was lost. Rounds alternate the modes,
// ROUNDS each, and the table gives each mode's median. Both threads share the director's core
// (taskset pins the whole process): the core thread gains no cycles; what changes is that a
// scrape no longer holds the frame loop for its whole length, and `tsvs daemon` runs the
// daemon's thread at CONTROL_NICE so that the scheduler lets the loop go first.

import { type ChildProcess, execFileSync } from 'node:child_process';
import { adm, CPUS, GEN_CPU, type Lab, trial } from './packet-lab.js';

import { useVariant, type Variant } from './packet-variants.js';
import { textTable } from './text-table.js';

const SERVICES = 1000;
const DESTS = 10;
/** The director's HTTP endpoint, inside its namespace. */
const HTTP = '127.0.0.1:9300';
/** Pause between the end of one scrape and the next: busier than any Prometheus, so that a trial holds tens of scrapes. */
const SCRAPE_GAP_MS = 150;
const SIZE = 64;
const FLOWS = 16;
/** One trial: long enough for a few dozen scrapes. */
const TRIAL_MS = 5000;
/** Rounds per mode, alternating: one round's loss says little on this shared machine. */
const ROUNDS = 3;
/**
 * The receive paths this part runs on, each at a rate about half of what it forwards without
 * loss unscraped on this machine kind (2026-12-07: 320-350 k and 875-900 k pps), so that a
 * loss is the scrape's doing.
 */
const SCRAPE_VARIANTS: Record<string, number> = { 'tsvs NAT': 150_000, 'tsvs NAT (af_xdp native)': 400_000 };

/** `ipvsadm -R` input: the scrape bench's director (bench/scrape.ts, bigDirector). */
function bigRules(): string {
  const lines: string[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const vip = `10.1.${i >> 8}.${i & 255}`;
    lines.push(`-A -t ${vip}:80 -s wlc`);
    for (let j = 0; j < DESTS; j++) {
      const k = (i << 4) | j;
      lines.push(`-a -t ${vip}:80 -r 10.2.${(k >> 8) & 255}.${k & 255}:8080 -m -w ${j + 1}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Fetches /metrics in a loop from the generator's core; `times` collects each scrape's seconds. */
function startScraper(l: Lab, times: number[]): ChildProcess {
  const pin = CPUS > 1 ? ['taskset', '-c', String(GEN_CPU)] : [];
  const loop = `while :; do curl -s -o /dev/null --max-time 10 -w '%{time_total}\\n' http://${HTTP}/metrics; sleep ${SCRAPE_GAP_MS / 1000}; done`;
  const child = l.topo.spawn(l.dir, [...pin, 'sh', '-c', loop], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  let buf = '';
  child.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const t of lines) if (t) times.push(Number(t));
  });
  return child;
}

function stopScraper(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // The loop's group: the shell and the curl it is waiting on.
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  return exited;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Round {
  mode: 'off' | 'on';
  quietLoss: number;
  loss: number;
  scrapes: number;
  scrapeMs: number;
}

async function round(l: Lab, v: Variant, pps: number, mode: 'off' | 'on'): Promise<Round> {
  const daddr = await useVariant(l, { ...v, daemonArgs: [...(v.daemonArgs ?? []), '--http', HTTP, '--core-thread', mode] });
  adm(l, ['-R'], bigRules());
  // The first scrape builds the renderer's row caches; it is not one of the measured ones.
  execFileSync('ip', ['netns', 'exec', l.dir, 'curl', '-sf', '-o', '/dev/null', '--max-time', '30', `http://${HTTP}/metrics`]);
  await trial(l, daddr, SIZE, 1000, 1000, { count: FLOWS }); // warm-up: conns, neighbours
  const lost = (r: { sent: number; got: number }) => (r.sent > 0 ? 1 - r.got / r.sent : 1);
  const quiet = await trial(l, daddr, SIZE, pps, TRIAL_MS, { count: FLOWS });
  const times: number[] = [];
  const scraper = startScraper(l, times);
  let scraped: { sent: number; got: number };
  try {
    scraped = await trial(l, daddr, SIZE, pps, TRIAL_MS, { count: FLOWS });
  } finally {
    await stopScraper(scraper);
  }
  return { mode, quietLoss: lost(quiet), loss: lost(scraped), scrapes: times.length, scrapeMs: median(times) * 1000 };
}

export async function benchScrape(l: Lab, variants: Variant[]): Promise<void> {
  const chosen = variants.filter((x) => x.name in SCRAPE_VARIANTS);
  if (chosen.length === 0) {
    process.stdout.write(`\nScraped director: skipped (neither ${Object.keys(SCRAPE_VARIANTS).join(' nor ')} is selected)\n`);
    return;
  }
  const rows: Record<string, string | number>[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
  for (const v of chosen) {
    const pps = SCRAPE_VARIANTS[v.name]!;
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) for (const mode of ['off', 'on'] as const) rounds.push(await round(l, v, pps, mode));
    for (const mode of ['off', 'on'] as const) {
      const mine = rounds.filter((r) => r.mode === mode);
      rows.push({
        'receive path': v.name,
        pps,
        'core thread': mode,
        'loss unscraped': pct(median(mine.map((r) => r.quietLoss))),
        'loss scraped (median)': pct(median(mine.map((r) => r.loss))),
        'loss scraped (rounds)': mine.map((r) => pct(r.loss)).join(', '),
        'scrapes a trial': median(mine.map((r) => r.scrapes)),
        'scrape ms (median)': median(mine.map((r) => r.scrapeMs)).toFixed(0),
      });
    }
  }
  process.stdout.write(
    `\nScraped director: loss of NAT (${SIZE} B, ${FLOWS} flows, ${TRIAL_MS} ms trials) with ${SERVICES} x ${DESTS} more rules, unscraped and with /metrics fetched every ${SCRAPE_GAP_MS} ms after the last; core on the daemon's thread (off) or on its own (on); ${ROUNDS} rounds a mode, alternating\n`,
  );
  process.stdout.write(textTable(rows));
}
