// sh — Source Hashing (ip_vs_sh.c). Spec: docs/spec/ipvs-kernel.md §1.13.
// 256 buckets; each dest in list order takes `weight` consecutive buckets (weight 0 takes one),
// cyclically; refilled on add, delete and edit. Key: source address (destination when the header
// is inverse) plus, with sh-port, the source port. sh-fallback walks on to other buckets.

import { IP_VS_SVC_F_SCHED_SH_FALLBACK, IP_VS_SVC_F_SCHED_SH_PORT, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../constants.js';
import type { Dest } from '../dest.js';
import type { Service } from '../service.js';
import { hash32 } from './hash.js';
import type { SchedPacket, SchedulerOps } from './types.js';

export const SH_TAB_BITS = 8;
const SH_TAB_SIZE = 1 << SH_TAB_BITS;
const SH_TAB_MASK = SH_TAB_SIZE - 1;

/** ip_vs_sh_hashkey: (offset + hash_32(port + addr, 8)) & 255, the sum in 32 bits. */
export function shHashkey(fold: number, port: number, offset: number): number {
  return (offset + hash32((port + fold) >>> 0, SH_TAB_BITS)) & SH_TAB_MASK;
}

/** The L4 port sh-port / mh-port hash: source port, destination port when inverse. */
export function hashPort(p: SchedPacket): number {
  const proto = p.protocol;
  if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP && proto !== IPPROTO_SCTP) return 0;
  return p.inverse ? p.dport : p.sport;
}

const unavailable = (d: Dest) => d.weight <= 0 || d.overloaded;

export const sh: SchedulerOps = {
  name: 'sh',
  create(svc: Service) {
    const buckets: (Dest | null)[] = new Array(SH_TAB_SIZE).fill(null);
    const fill = () => {
      const ds = svc.dests;
      let k = 0;
      let count = 0;
      for (let i = 0; i < SH_TAB_SIZE; i++) {
        if (ds.length === 0) {
          buckets[i] = null;
          continue;
        }
        const d = ds[k]!;
        buckets[i] = d;
        if (++count >= d.weight) {
          k = (k + 1) % ds.length;
          count = 0;
        }
      }
    };
    fill();
    return {
      addDest: fill,
      delDest: fill,
      updDest: fill,
      schedule(p: SchedPacket) {
        const port = svc.flags & IP_VS_SVC_F_SCHED_SH_PORT ? hashPort(p) : 0;
        const fold = (p.inverse ? p.daddr : p.saddr).fold();
        const ih = shHashkey(fold, port, 0);
        const d = buckets[ih];
        if (!d) return null;
        if (!unavailable(d)) return d;
        if ((svc.flags & IP_VS_SVC_F_SCHED_SH_FALLBACK) === 0) return null;
        for (let offset = 0; offset < SH_TAB_SIZE; offset++) {
          const roffset = (offset + ih) % SH_TAB_SIZE;
          const x = buckets[shHashkey(fold, port, roffset)];
          if (!x) return null;
          if (!unavailable(x)) return x;
        }
        return null;
      },
    };
  },
};
