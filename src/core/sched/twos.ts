// twos — Power of Two Choices (ip_vs_twos.c). Spec: docs/spec/ipvs-kernel.md §1.9.
// Two weighted random picks (r in [0, total weight]), then the less loaded per weight.
// The random source is injected (SchedEnv.random32) so that tests are deterministic.

import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import { mulGt, stateless } from './common.js';
import type { SchedEnv, SchedulerOps } from './types.js';

export const twos: SchedulerOps = {
  name: 'twos',
  create(svc: Service, env: SchedEnv) {
    return {
      ...stateless,
      schedule() {
        let total = 0;
        let choice1: Dest | null = null;
        for (const d of svc.dests) {
          if (!d.overloaded && d.weight > 0) {
            total += d.weight;
            choice1 = d;
          }
        }
        if (!choice1) return null;
        total += 1;
        let r1 = env.random32() % total;
        let r2 = env.random32() % total;
        let choice2: Dest | null = null;
        let w1 = -1;
        let w2 = -1;
        let oh1 = 0;
        let oh2 = 0;
        for (const d of svc.dests) {
          if (d.overloaded || d.weight <= 0) continue;
          r1 -= d.weight;
          r2 -= d.weight;
          if (r1 <= 0 && w1 === -1) {
            choice1 = d;
            w1 = d.weight;
            oh1 = d.overhead();
          }
          if (r2 <= 0 && w2 === -1) {
            choice2 = d;
            w2 = d.weight;
            oh2 = d.overhead();
          }
          if (w1 !== -1 && w2 !== -1) break;
        }
        if (choice2 && mulGt(w2, oh1, w1, oh2)) return choice2;
        return choice1;
      },
    };
  },
};
