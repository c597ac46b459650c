// fo — Weighted Fail Over (ip_vs_fo.c). Spec: docs/spec/ipvs-kernel.md §1.7.
// The non-overloaded dest with the highest weight; the first of equal maxima wins.

import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import { stateless } from './common.js';
import type { SchedulerOps } from './types.js';

export const fo: SchedulerOps = {
  name: 'fo',
  create(svc: Service) {
    return {
      ...stateless,
      schedule() {
        let best: Dest | null = null;
        let hw = 0;
        for (const d of svc.dests) {
          if (!d.overloaded && d.weight > hw) {
            best = d;
            hw = d.weight;
          }
        }
        return best;
      },
    };
  },
};
