// lc — Least Connection (ip_vs_lc.c). Spec: docs/spec/ipvs-kernel.md §1.3.
// Minimum (active << 8) + inactive over dests that are not overloaded and have weight > 0;
// strict < so the earliest dest in list order wins ties.

import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import { stateless } from './common.js';
import type { SchedulerOps } from './types.js';

export const lc: SchedulerOps = {
  name: 'lc',
  create(svc: Service) {
    return {
      ...stateless,
      schedule() {
        let least: Dest | null = null;
        let loh = 0;
        for (const d of svc.dests) {
          if (d.overloaded || d.weight === 0) continue;
          const doh = d.overhead();
          if (!least || doh < loh) {
            least = d;
            loh = doh;
          }
        }
        return least;
      },
    };
  },
};
