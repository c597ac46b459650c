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

/** The rates as reported: (x + 0x1FF) >> 10 for conns and packets, (x + 0xF) >> 5 for bytes. */
export function rates(s: Stats): RateSnapshot {
  const e = s.est;
  return {
    cps: Math.floor((e.cps + 0x1ff) / 1024),
    inpps: Math.floor((e.inpps + 0x1ff) / 1024),
    outpps: Math.floor((e.outpps + 0x1ff) / 1024),
    inbps: Math.floor((e.inbps + 0xf) / 32),
    outbps: Math.floor((e.outbps + 0xf) / 32),
  };
}
