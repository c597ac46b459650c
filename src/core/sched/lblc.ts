// lblc — Locality-Based Least Connection (ip_vs_lblc.c). Spec: docs/spec/ipvs-kernel.md §1.10.
// A cache maps each destination address to the dest last chosen for it; the cached dest is
// used while available, weighted and not overloaded in lblc's sense, else wlc picks a new one
// and the entry is replaced.

import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import { wlcPick } from './common.js';
import { type CacheEntry, isOverloaded, LocalityTable } from './locality.js';
import type { SchedEnv, SchedPacket, SchedulerOps } from './types.js';

interface LblcEntry extends CacheEntry {
  dest: Dest;
}

export const lblc: SchedulerOps = {
  name: 'lblc',
  create(svc: Service, env: SchedEnv, now: number) {
    const tbl = new LocalityTable<LblcEntry>(now, () => env.lblcExpiration);
    return {
      addDest() {},
      delDest() {},
      updDest() {},
      tick: (t: number) => tbl.tick(t),
      done: () => tbl.flush(),
      schedule(p: SchedPacket, t: number) {
        const en = tbl.get(p.daddr);
        if (en) {
          en.lastuse = t;
          const d = en.dest;
          if (d.available && d.weight > 0 && !isOverloaded(d, svc)) return d;
        }
        const dest = wlcPick(svc.dests);
        if (!dest) return null;
        if (en) {
          if (en.dest === dest) return dest;
          tbl.remove(en);
        }
        tbl.insert({ addr: p.daddr, lastuse: t, dest });
        return dest;
      },
    };
  },
};
