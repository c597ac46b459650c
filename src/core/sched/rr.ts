// rr — Round Robin (ip_vs_rr.c). Spec: docs/spec/ipvs-kernel.md §1.1.
// The cursor is "the list head" (-1) or the index of the last chosen dest. A pick walks the
// list circularly from the dest after the cursor and ends with the cursor itself; from the
// head it makes a single pass. Deleting the cursor's dest moves the cursor to its predecessor.

import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import { planOf } from './plan.js';
import type { SchedulerOps } from './types.js';

interface RrState {
  pos: number;
}

function pick(svc: Service, s: RrState): Dest | null {
  const ds = svc.dests;
  const n = ds.length;
  for (let step = 0, k = s.pos + 1; step < n; step++, k++) {
    if (k === n) k = 0;
    const d = ds[k]!;
    if (!d.overloaded && d.weight > 0) {
      s.pos = k;
      return d;
    }
  }
  return null;
}

export const rr: SchedulerOps = {
  name: 'rr',
  create(svc: Service) {
    const st: RrState = { pos: -1 };
    return {
      addDest() {
        if (st.pos >= 0) st.pos++;
      },
      delDest(_d: Dest, index: number) {
        if (st.pos === index) st.pos = index - 1;
        else if (st.pos > index) st.pos--;
      },
      updDest() {},
      schedule: () => pick(svc, st),
      plan: (limit: number) =>
        planOf(
          { pos: st.pos },
          (s) => pick(svc, s),
          (s) => s.pos,
          limit,
        ),
    };
  },
};
