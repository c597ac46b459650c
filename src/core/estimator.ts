// The rate estimator of ip_vs_est.c: every 2 seconds each stats object folds the counter
// deltas into exponentially weighted averages (weight 1/4), scaled by 2^10 for rates and 2^5
// for byte rates. Spec: docs/spec/ipvs-kernel.md §5. The kernel's arithmetic right shifts of signed
// 64-bit values are floor divisions here (JS `>>` would truncate to 32 bits).

import { type RateSnapshot, STAT_CONNS, STAT_INBYTES, STAT_INPKTS, STAT_OUTBYTES, STAT_OUTPKTS, type Stats } from './stats.js';

/** Period of one estimator step, in ms. */
export const EST_PERIOD_MS = 2000;

function delta(s: Stats, i: number): number {
  const cur = s.rawNumber(i);
  const d = cur - s.est.last[i]!;
  s.est.last[i] = cur;
  return d;
}

/** avg += ((d << shift) - avg) >> 2, with a flooring shift. */
function ewma(avg: number, d: number, shift: number): number {
  return avg + Math.floor((d * 2 ** shift - avg) / 4);
}

/** One 2-second step for one stats object. */
export function estimate(s: Stats): void {
  const e = s.est;
  e.cps = ewma(e.cps, delta(s, STAT_CONNS), 9);
  e.inpps = ewma(e.inpps, delta(s, STAT_INPKTS), 9);
  e.outpps = ewma(e.outpps, delta(s, STAT_OUTPKTS), 9);
  e.inbps = ewma(e.inbps, delta(s, STAT_INBYTES), 4);
  e.outbps = ewma(e.outbps, delta(s, STAT_OUTBYTES), 4);
}

/**
 * Each rate as reported: (x + 0x1FF) >> 10 for conns and packets, (x + 0xF) >> 5 for bytes.
 * One reader per rate, so that /metrics reads 40,000 of them without an object each.
 */
export const RATE_OF: Readonly<Record<keyof RateSnapshot, (s: Stats) => number>> = {
  cps: (s) => Math.floor((s.est.cps + 0x1ff) / 1024),
  inpps: (s) => Math.floor((s.est.inpps + 0x1ff) / 1024),
  outpps: (s) => Math.floor((s.est.outpps + 0x1ff) / 1024),
  inbps: (s) => Math.floor((s.est.inbps + 0xf) / 32),
  outbps: (s) => Math.floor((s.est.outbps + 0xf) / 32),
};

/** The five rates as reported. */
export function rates(s: Stats): RateSnapshot {
  return {
    cps: RATE_OF.cps(s),
    inpps: RATE_OF.inpps(s),
    outpps: RATE_OF.outpps(s),
    inbps: RATE_OF.inbps(s),
    outbps: RATE_OF.outbps(s),
  };
}
