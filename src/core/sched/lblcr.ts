// lblcr — LBLC with Replication (ip_vs_lblcr.c). Spec: docs/spec/ipvs-kernel.md §1.11.
// Each destination address maps to a set of dests (newest first); the least loaded member
// serves, the most loaded is pruned once the set has been stable for lblcr_expiration, and an
// overloaded choice brings a new member in through wlc.

import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import { mulGt, mulLt, wlcPick } from './common.js';
import { type CacheEntry, isOverloaded, LocalityTable } from './locality.js';
import type { SchedEnv, SchedPacket, SchedulerOps } from './types.js';

interface LblcrEntry extends CacheEntry {
  set: Dest[];
  lastmod: number;
}

/** ip_vs_dest_set_min: weighted least loaded available member. */
function setMin(set: readonly Dest[]): Dest | null {
  let least: Dest | null = null;
  let loh = 0;
  let k = 0;
  for (; k < set.length; k++) {
    const d = set[k]!;
    if (d.overloaded) continue;
    if (d.weight > 0 && d.available) {
      least = d;
      loh = d.overhead();
      break;
    }
  }
  if (!least) return null;
  for (k++; k < set.length; k++) {
    const d = set[k]!;
    if (d.overloaded) continue;
    const doh = d.overhead();
    if (mulGt(loh, d.weight, doh, least.weight) && d.available) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_dest_set_max: weighted most loaded member with weight > 0. */
function setMax(set: readonly Dest[]): Dest | null {
  let most: Dest | null = null;
  let moh = 0;
  let k = 0;
  for (; k < set.length; k++) {
    const d = set[k]!;
    if (d.weight > 0) {
      most = d;
      moh = d.overhead();
      break;
    }
  }
  if (!most) return null;
  for (k++; k < set.length; k++) {
    const d = set[k]!;
    const doh = d.overhead();
    if (mulLt(moh, d.weight, doh, most.weight) && d.weight > 0) {
      most = d;
      moh = doh;
    }
  }
  return most;
}

export const lblcr: SchedulerOps = {
  name: 'lblcr',
  create(svc: Service, env: SchedEnv, now: number) {
    const tbl = new LocalityTable<LblcrEntry>(now, () => env.lblcrExpiration);
    const insert = (en: LblcrEntry, d: Dest, check: boolean, t: number) => {
      if (check && en.set.includes(d)) return;
      en.set.unshift(d);
      en.lastmod = t;
    };
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
          const d = setMin(en.set);
          if (en.set.length > 1 && t > en.lastmod + env.lblcrExpiration) {
            const m = setMax(en.set);
            if (m) {
              en.set.splice(en.set.indexOf(m), 1);
              en.lastmod = t;
            }
          }
          if (d && !isOverloaded(d, svc)) return d;
          const dest = wlcPick(svc.dests);
          if (!dest) return null;
          insert(en, dest, true, t);
          return dest;
        }
        const dest = wlcPick(svc.dests);
        if (!dest) return null;
        const ne: LblcrEntry = { addr: p.daddr, lastuse: t, set: [], lastmod: t };
        tbl.insert(ne);
        insert(ne, dest, false, t);
        return dest;
      },
    };
  },
};
