// The packet bench's `scrape` part: what a busy control plane costs the frame loop, with the
// core on the daemon's thread (--core-thread off) and on a thread of its own (on). The director
// serves NAT as the rate part does, and also holds 1,000 services x 10 real servers (the scrape
// bench's director), so that one /metrics is 13 MB and tens of milliseconds of formatting. For
// each receive path and each mode: the zero-loss rate (packet-rate.ts) unscraped, then with a
// scraper in the director's namespace fetching /metrics every SCRAPE_GAP_MS, so that every 1 s
// trial holds several scrapes. The figure is the scraped rate against the unscraped one of the
// same daemon. Both threads share the director's core (taskset pins the whole process), so the
// core thread gains nothing in cycles: what it changes is that a scrape no longer holds the frame
// loop for its whole length; the kernel's scheduler interleaves the two threads.

import { type ChildProcess, execFileSync } from 'node:child_process';
import { adm, CPUS, GEN_CPU, type Lab, trial } from './packet-lab.js';
import { RateSearch, TRIAL_MS } from './packet-rate.js';
import { useVariant, type Variant } from './packet-variants.js';
import { textTable } from './text-table.js';

const SERVICES = 1000;
const DESTS = 10;
/** The director's HTTP endpoint, inside its namespace. */
const HTTP = '127.0.0.1:9300';
/** Pause between the end of one scrape and the next: four or so in each 1 s trial. */
const SCRAPE_GAP_MS = 150;
const SIZE = 64;
const FLOWS = 16;
/** The receive paths this part runs on. */
const SCRAPE_VARIANTS = ['tsvs NAT', 'tsvs NAT (af_xdp native)'];

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

interface Row {
  path: string;
  mode: 'off' | 'on';
  quiet: number;
  quietBound: boolean;
  scraped: number;
  scrapedBound: boolean;
  scrapes: number;
  scrapeMs: number;
}

async function measure(l: Lab, v: Variant, mode: 'off' | 'on'): Promise<Row> {
  const daddr = await useVariant(l, { ...v, daemonArgs: [...(v.daemonArgs ?? []), '--http', HTTP, '--core-thread', mode] });
  adm(l, ['-R'], bigRules());
  // The first scrape builds the renderer's row caches; it is not one of the measured ones.
  execFileSync('ip', ['netns', 'exec', l.dir, 'curl', '-sf', '-o', '/dev/null', '--max-time', '30', `http://${HTTP}/metrics`]);
  await trial(l, daddr, SIZE, 1000, TRIAL_MS, { count: FLOWS }); // warm-up: conns, neighbours
  const q = RateSearch.onLab(l, daddr, SIZE, { count: FLOWS });
  const quiet = await q.run();
  const times: number[] = [];
  const scraper = startScraper(l, times);
  let scraped = 0;
  let scrapedBound = false;
  try {
    const s = RateSearch.onLab(l, daddr, SIZE, { count: FLOWS });
    scraped = await s.run();
    scrapedBound = s.generatorBound;
  } finally {
    await stopScraper(scraper);
  }
  return {
    path: v.name,
    mode,
    quiet,
    quietBound: q.generatorBound,
    scraped,
    scrapedBound,
    scrapes: times.length,
    scrapeMs: median(times) * 1000,
  };
}

export async function benchScrape(l: Lab, variants: Variant[]): Promise<void> {
  const chosen = variants.filter((x) => SCRAPE_VARIANTS.includes(x.name));
  if (chosen.length === 0) {
    process.stdout.write(`\nScraped director: skipped (neither ${SCRAPE_VARIANTS.join(' nor ')} is selected)\n`);
    return;
  }
  const rows: Row[] = [];
  for (const v of chosen) for (const mode of ['off', 'on'] as const) rows.push(await measure(l, v, mode));
  const pps = (n: number, bound: boolean) => (bound ? `>= ${n}` : n);
  process.stdout.write(
    `\nScraped director: zero-loss rate (${SIZE} B, ${FLOWS} flows, ${TRIAL_MS} ms trials) of NAT with ${SERVICES} x ${DESTS} more rules, unscraped and with /metrics fetched every ${SCRAPE_GAP_MS} ms after the last, core on the daemon's thread (off) or on its own (on)\n`,
  );
  process.stdout.write(
    textTable(
      rows.map((r) => ({
        'receive path': r.path,
        'core thread': r.mode,
        'pps unscraped': pps(r.quiet, r.quietBound),
        'pps scraped': pps(r.scraped, r.scrapedBound),
        'scraped / unscraped': r.quiet ? (r.scraped / r.quiet).toFixed(2) : 'n/a',
        scrapes: r.scrapes,
        'scrape ms (median)': r.scrapeMs.toFixed(0),
      })),
    ),
  );
}
