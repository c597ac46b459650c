// sed — Shortest Expected Delay (ip_vs_sed.c). Spec: docs/spec/ipvs-kernel.md §1.5.
// wlc's walk with overhead = activeconns + 1 (inactive conns ignored).

import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import { mulGt, stateless } from './common.js';
import type { SchedulerOps } from './types.js';

export const sed: SchedulerOps = {
  name: 'sed',
  create(svc: Service) {
    return {
      ...stateless,
      schedule() {
        const ds = svc.dests;
        let least: Dest | null = null;
        let loh = 0;
        let k = 0;
        for (; k < ds.length; k++) {
          const d = ds[k]!;
          if (!d.overloaded && d.weight > 0) {
            least = d;
            loh = d.activeConns + 1;
            break;
          }
        }
        if (!least) return null;
        for (k++; k < ds.length; k++) {
          const d = ds[k]!;
          if (d.overloaded) continue;
          const doh = d.activeConns + 1;
          if (mulGt(loh, d.weight, doh, least.weight)) {
            least = d;
            loh = doh;
          }
        }
        return least;
      },
    };
  },
};
