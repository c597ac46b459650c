// wrr — Weighted Round Robin (ip_vs_wrr.c). Spec: ipvs-kernel.md §1.2.
// State: cl (index of the current dest, -1 = list head), cw (current weight), mw (max weight
// less di - 1, so that the last pass runs with cw = 1), di (gcd of the positive weights).
// Every dest change resets cl to the head and recomputes di and mw.

import type { Service } from '../service.js';
import { gcd } from './hash.js';
import type { SchedulerOps } from './types.js';

export const wrr: SchedulerOps = {
  name: 'wrr',
  create(svc: Service) {
    let cl = -1;
    let cw = 0;
    let mw = 0;
    let di = 1;
    const recompute = (init: boolean) => {
      let g = 0;
      let max = 0;
      for (const d of svc.dests) {
        if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
        if (d.weight > max) max = d.weight;
      }
      di = g > 0 ? g : 1;
      mw = max - (di - 1);
      cl = -1;
      if (init || cw > mw || cw === 0) cw = mw;
      else if (di > 1) cw = Math.floor(cw / di) * di + 1;
    };
    recompute(true);
    return {
      addDest: () => recompute(false),
      delDest: () => recompute(false),
      updDest: () => recompute(false),
      schedule() {
        if (mw === 0) return null;
        const ds = svc.dests;
        const n = ds.length;
        const last = cl;
        let stop = -2;
        let lastPass = false;
        let restarted = false;
        let k = cl;
        for (;;) {
          for (k = k + 1; k < n; k++) {
            const d = ds[k]!;
            if (!d.overloaded && d.weight >= cw) {
              cl = k;
              return d;
            }
            if (k === stop) return null;
          }
          k = -1;
          cw -= di;
          if (cw <= 0) {
            cw = mw;
            if (lastPass || last === -1) return null;
            restarted = true;
          }
          lastPass = cw <= di;
          if (lastPass && restarted && last !== -1) stop = last;
        }
      },
    };
  },
};
