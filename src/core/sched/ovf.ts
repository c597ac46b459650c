// ovf — Overflow connection (ip_vs_ovf.c). Spec: docs/spec/ipvs-kernel.md §1.8.
// Highest weight among dests with activeconns <= weight; first of equal weights wins.

import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import { stateless } from './common.js';
import type { SchedulerOps } from './types.js';

export const ovf: SchedulerOps = {
  name: 'ovf',
  create(svc: Service) {
    return {
      ...stateless,
      schedule() {
        let h: Dest | null = null;
        let hw = 0;
        for (const d of svc.dests) {
          const w = d.weight;
          if (d.overloaded || d.activeConns > w || w === 0) continue;
          if (!h || w > hw) {
            h = d;
            hw = w;
          }
        }
        return h;
      },
    };
  },
};
