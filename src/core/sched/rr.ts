// rr — Round Robin (ip_vs_rr.c). Spec: ipvs-kernel.md §1.1.
// The cursor is "the list head" (-1) or the index of the last chosen dest. A pick walks the
// list circularly from the dest after the cursor and ends with the cursor itself; from the
// head it makes a single pass. Deleting the cursor's dest moves the cursor to its predecessor.

import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import type { SchedulerOps } from './types.js';

export const rr: SchedulerOps = {
  name: 'rr',
  create(svc: Service) {
    let pos = -1;
    return {
      addDest() {
        if (pos >= 0) pos++;
      },
      delDest(_d: Dest, index: number) {
        if (pos === index) pos = index - 1;
        else if (pos > index) pos--;
      },
      updDest() {},
      schedule() {
        const ds = svc.dests;
        const n = ds.length;
        for (let step = 0, k = pos + 1; step < n; step++, k++) {
          if (k === n) k = 0;
          const d = ds[k]!;
          if (!d.overloaded && d.weight > 0) {
            pos = k;
            return d;
          }
        }
        return null;
      },
    };
  },
};
