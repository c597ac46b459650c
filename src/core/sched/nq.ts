// nq — Never Queue (ip_vs_nq.c). Spec: docs/spec/ipvs-kernel.md §1.6.
// The first idle dest (no active conns) wins at once; otherwise sed's comparison.

import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import { mulGt, stateless } from './common.js';
import type { SchedulerOps } from './types.js';

export const nq: SchedulerOps = {
  name: 'nq',
  create(svc: Service) {
    return {
      ...stateless,
      schedule() {
        let least: Dest | null = null;
        let loh = 0;
        for (const d of svc.dests) {
          if (d.overloaded || d.weight === 0) continue;
          const doh = d.activeConns + 1;
          if (d.activeConns === 0) return d;
          if (!least || mulGt(loh, d.weight, doh, least.weight)) {
            least = d;
            loh = doh;
          }
        }
        return least;
      },
    };
  },
};
