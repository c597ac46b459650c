// dh — Destination Hashing (ip_vs_dh.c). Spec: docs/spec/ipvs-kernel.md §1.12.
// 256 buckets filled with the dests in list order, cyclically (weights ignored), refilled on
// add and delete but not on edit. Key: the packet's destination address. No fallback.

import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import { hash32 } from './hash.js';
import type { SchedPacket, SchedulerOps } from './types.js';

export const DH_TAB_BITS = 8;
const DH_TAB_SIZE = 1 << DH_TAB_BITS;

export const dh: SchedulerOps = {
  name: 'dh',
  create(svc: Service) {
    const buckets: (Dest | null)[] = new Array(DH_TAB_SIZE).fill(null);
    const fill = () => {
      const ds = svc.dests;
      for (let i = 0; i < DH_TAB_SIZE; i++) buckets[i] = ds.length ? ds[i % ds.length]! : null;
    };
    fill();
    return {
      addDest: fill,
      delDest: fill,
      updDest() {},
      schedule(p: SchedPacket) {
        const d = buckets[hash32(p.daddr.fold(), DH_TAB_BITS)];
        if (!d?.available || d.weight <= 0 || d.overloaded) return null;
        return d;
      },
    };
  },
};
