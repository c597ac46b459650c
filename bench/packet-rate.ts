// The zero-loss rate of each variant: the highest rate (binary search, 1 s trials, a lossy
// trial retried once) that arrives with < 1 % loss, at 64 B and 1400 B, and the ratio to
// nftables DNAT measured in the same run.

import { type Lab, trial, type TrialFlows } from './packet-lab.js';
import { PEER, useVariant, type Variant } from './packet-variants.js';
import { textTable } from './text-table.js';

const FLOWS = 16;
/** The loss a rate may have and still count as zero-loss. */
const MAX_LOSS = 0.01;
/** The search's first rate and the doubling's end: above the kernel's rate on this machine. */
const START_PPS = 50_000;
const MAX_PPS = 3_200_000;
const BISECTIONS = 5;
/** A trial whose generator sent less than this share of its frames says nothing about the variant. */
const GEN_SHORT = 0.97;
/** One trial's length. */
export const TRIAL_MS = 1000;

export class RateSearch {
  /** The highest offered rate the generator could not reach (it shares the machine's cores). */
  genShort = 0;
  /**
   * The search ended against the generator, not against loss: the lowest rate that failed did
   * so because the generator could not offer it. The variant's capacity is then above the rate
   * found, which is the generator's ceiling for that variant (on veth with native XDP the
   * generator's core also runs the director's XDP receive, so that ceiling is lower than for a
   * variant whose receive runs on the director's core).
   */
  generatorBound = false;
  /** Whether the last rate passes() refused was refused for the generator falling short. */
  private shortLast = false;
  /** Whether the last trial's generator fell short. */
  private short = false;

  /** `send` runs one trial of TRIAL_MS at the given rate (a test passes its own). */
  constructor(private readonly send: (pps: number) => Promise<{ sent: number; got: number }>) {}

  /** The search over `l`'s generator, to `daddr`, frames of `size` bytes. */
  static onLab(l: Lab, daddr: string, size: number, flows: TrialFlows = { count: FLOWS }): RateSearch {
    return new RateSearch((pps) => trial(l, daddr, size, pps, TRIAL_MS, flows));
  }

  /** The loss of one trial at pps, or 1 when the generator fell short (the trial says nothing). */
  async loss(pps: number): Promise<number> {
    const r = await this.send(pps);
    this.short = r.sent < GEN_SHORT * pps * (TRIAL_MS / 1000);
    if (this.short) {
      this.genShort = Math.max(this.genShort, pps);
      return 1;
    }
    return r.sent === 0 ? 1 : 1 - r.got / r.sent;
  }

  /**
   * Whether `pps` passes. A lossy trial is run once more: on this shared 2-core machine one
   * scheduling hiccup can lose a burst at any rate, and a single bad trial would send the
   * search far below the method's rate. Every variant gets the same second chance.
   */
  async passes(pps: number): Promise<boolean> {
    if ((await this.loss(pps)) < MAX_LOSS) return true;
    const firstShort = this.short;
    if ((await this.loss(pps)) < MAX_LOSS) return true;
    // Refused for the generator only if neither trial lost frames at the rate offered.
    this.shortLast = firstShort && this.short;
    return false;
  }

  /** Highest rate with < 1 % loss: doubling, then bisection. */
  async run(): Promise<number> {
    let lo = 0;
    let hi = START_PPS;
    let hiShort = false;
    while (hi <= MAX_PPS && (await this.passes(hi))) {
      lo = hi;
      hi *= 2;
    }
    if (hi <= MAX_PPS) hiShort = this.shortLast;
    for (let i = 0; i < BISECTIONS; i++) {
      const mid = Math.round((lo + hi) / 2);
      if (await this.passes(mid)) lo = mid;
      else {
        hi = mid;
        hiShort = this.shortLast;
      }
    }
    this.generatorBound = hiShort;
    return lo;
  }
}

export async function benchRates(l: Lab, variants: Variant[]): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  let genShort = 0;
  for (const size of [64, 1400]) {
    const res = new Map<Variant, number>();
    const bound = new Set<Variant>();
    for (const v of variants) {
      const daddr = await useVariant(l, v);
      await trial(l, daddr, size, 1000, TRIAL_MS, { count: FLOWS }); // warm-up: conns, neighbours
      const s = RateSearch.onLab(l, daddr, size);
      res.set(v, await s.run());
      if (s.generatorBound) bound.add(v);
      genShort = Math.max(genShort, s.genShort);
    }
    const peer = [...res].find(([v]) => v.name === PEER.name)?.[1] ?? 0;
    for (const v of variants) {
      const pps = res.get(v)!;
      // Below the peer only because the generator could offer no more: the run cannot tell.
      const verdict = pps >= peer ? 'met' : bound.has(v) ? 'not decided (generator-bound)' : 'MISSED';
      const target = v.method === 'NAT' || v.method === 'DR' ? `>= 1.0: ${verdict}` : '';
      rows.push({
        payload: `${size} B`,
        variant: v.name,
        'pps (<1% loss)': bound.has(v) ? `>= ${pps}` : pps,
        'ratio to nft': peer ? (pps / peer).toFixed(2) : 'n/a',
        target: v === PEER || v.name === PEER.name ? 'peer' : size === 64 && peer ? target : '',
      });
    }
  }
  process.stdout.write(
    `\nZero-loss rate: UDP flood through a director namespace (${FLOWS} flows, ${TRIAL_MS} ms trials, one run; generator on one core, the director's receive path (RPS) and daemon on the other)\n`,
  );
  process.stdout.write(textTable(rows));
  if (genShort) process.stdout.write(`(the generator could not offer ${genShort} pps; a rate at the generator's limit is a lower bound)\n`);
  process.stdout.write(
    `(>= N: generator-bound, no rate the generator reached lost frames; native XDP on veth runs the director's receive on the generator's core, which lowers that ceiling, except for the xdp fast variants, whose fa NAPI runs threaded on the director's core as a NIC's interrupt would)\n`,
  );
}
