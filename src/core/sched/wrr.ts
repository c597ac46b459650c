// wrr — Weighted Round Robin (ip_vs_wrr.c). Spec: docs/spec/ipvs-kernel.md §1.2.
// State: cl (index of the current dest, -1 = list head), cw (current weight), mw (max weight
// less di - 1, so that the last pass runs with cw = 1), di (gcd of the positive weights).
// Every dest change resets cl to the head and recomputes di and mw.

import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import { gcd } from './hash.js';
import { planOf } from './plan.js';
import type { SchedulerOps } from './types.js';

interface WrrState {
  cl: number;
  cw: number;
  mw: number;
  di: number;
}

function pick(svc: Service, s: WrrState): Dest | null {
  const { mw, di } = s;
  if (mw === 0) return null;
  const ds = svc.dests;
  const n = ds.length;
  const last = s.cl;
  let stop = -2;
  let lastPass = false;
  let restarted = false;
  let k = s.cl;
  for (;;) {
    for (k = k + 1; k < n; k++) {
      const d = ds[k]!;
      if (!d.overloaded && d.weight >= s.cw) {
        s.cl = k;
        return d;
      }
      if (k === stop) return null;
    }
    k = -1;
    s.cw -= di;
    if (s.cw <= 0) {
      s.cw = mw;
      if (lastPass || last === -1) return null;
      restarted = true;
    }
    lastPass = s.cw <= di;
    if (lastPass && restarted && last !== -1) stop = last;
  }
}

export const wrr: SchedulerOps = {
  name: 'wrr',
  create(svc: Service) {
    const st: WrrState = { cl: -1, cw: 0, mw: 0, di: 1 };
    const recompute = (init: boolean) => {
      let g = 0;
      let max = 0;
      for (const d of svc.dests) {
        if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
        if (d.weight > max) max = d.weight;
      }
      st.di = g > 0 ? g : 1;
      st.mw = max - (st.di - 1);
      st.cl = -1;
      if (init || st.cw > st.mw || st.cw === 0) st.cw = st.mw;
      else if (st.di > 1) st.cw = Math.floor(st.cw / st.di) * st.di + 1;
    };
    recompute(true);
    return {
      addDest: () => recompute(false),
      delDest: () => recompute(false),
      updDest: () => recompute(false),
      schedule: () => pick(svc, st),
      plan: (limit: number) =>
        planOf(
          { ...st },
          (s) => pick(svc, s),
          // cl < 2^20 dests, cw ≤ 2^31: one exact double.
          (s) => (s.cl + 1) * 2 ** 32 + s.cw,
          limit,
        ),
    };
  },
};
