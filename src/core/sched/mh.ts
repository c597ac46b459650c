// mh — Maglev Hashing (ip_vs_mh.c). Spec: docs/spec/ipvs-kernel.md §1.14.
// A lookup table of M = 4093 slots built from each dest's (offset, skip) permutation, taking
// turns in list order; a dest with turns = k claims k slots in a row. Turns come from
// last_weight / gcd, shifted right so that the largest fits in IP_VS_MH_TAB_BITS bits. Rebuilt
// on add, delete and edit. Lookup by source address (+ source port with mh-port); mh-fallback
// probes further slots with the offset hashed in.

import { IP_VS_SVC_F_SCHED_MH_FALLBACK, IP_VS_SVC_F_SCHED_MH_PORT } from '../constants.js';
import type { Dest } from '../dest.js';
import { IpvsError } from '../errors.js';
import type { Service } from '../service.js';
import { gcd, hsiphash32, hsipKey } from './hash.js';
import { hashPort } from './sh.js';
import type { SchedPacket, SchedulerOps } from './types.js';

const PRIMES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];
/** CONFIG_IP_VS_MH_TAB_INDEX default. */
const MH_TAB_INDEX = 12;
export const MH_TAB_SIZE = PRIMES[MH_TAB_INDEX - 8]!;
const MH_TAB_BITS = MH_TAB_INDEX / 2;

export const MH_HASH1 = hsipKey(2654435761n, 2654435761n);
export const MH_HASH2 = hsipKey(2654446892n, 2654446892n);

/** ip_vs_mh_hashkey: hsiphash of (offset + port + addr) mod 2^32; with `mod`, reduced by it. */
export function mhHashkey(fold: number, port: number, key: typeof MH_HASH1, offset: number, mod = 0): number {
  return hsiphash32((offset + port + fold) >>> 0, key, mod);
}

function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

const unavailable = (d: Dest) => d.weight <= 0 || d.overloaded;

export const mh: SchedulerOps = {
  name: 'mh',
  create(svc: Service) {
    const lookup: (Dest | null)[] = new Array(MH_TAB_SIZE).fill(null);
    const taken = new Uint8Array(MH_TAB_SIZE);
    const build = () => {
      const ds = svc.dests;
      if (ds.length > MH_TAB_SIZE) throw new IpvsError('EINVAL', `mh supports at most ${MH_TAB_SIZE} dests`);
      let g = 0;
      let max = 0;
      for (const d of ds) {
        const w = d.lastWeight;
        if (w > 0) g = g > 0 ? gcd(w, g) : w;
        if (w > max) max = w;
      }
      lookup.fill(null);
      if (g < 1) return;
      const shift = Math.max(0, fls(Math.floor(max / g)) - MH_TAB_BITS);
      const n = ds.length;
      const perm = new Array<number>(n);
      const skip = new Array<number>(n);
      const turns = new Array<number>(n);
      for (let k = 0; k < n; k++) {
        const d = ds[k]!;
        const fold = d.addr.fold();
        perm[k] = mhHashkey(fold, d.port, MH_HASH1, 0, MH_TAB_SIZE);
        skip[k] = mhHashkey(fold, d.port, MH_HASH2, 0, MH_TAB_SIZE - 1) + 1;
        const lw = d.lastWeight;
        turns[k] = Math.floor(lw / g) >> shift || (lw !== 0 ? 1 : 0);
      }
      taken.fill(0);
      let filled = 0;
      let k = 0;
      let count = 0;
      while (filled < MH_TAB_SIZE) {
        if (turns[k]! < 1) {
          k = (k + 1) % n;
          continue;
        }
        let c = perm[k]!;
        while (taken[c]) {
          c += skip[k]!;
          if (c >= MH_TAB_SIZE) c -= MH_TAB_SIZE;
          perm[k] = c;
        }
        taken[c] = 1;
        lookup[c] = ds[k]!;
        if (++filled === MH_TAB_SIZE) break;
        if (++count >= turns[k]!) {
          count = 0;
          k = (k + 1) % n;
        }
      }
    };
    build();
    return {
      addDest: build,
      delDest: build,
      updDest: build,
      schedule(p: SchedPacket) {
        const port = svc.flags & IP_VS_SVC_F_SCHED_MH_PORT ? hashPort(p) : 0;
        const fold = (p.inverse ? p.daddr : p.saddr).fold();
        const ih = mhHashkey(fold, port, MH_HASH1, 0, MH_TAB_SIZE);
        const d = lookup[ih];
        if (!d) return null;
        if (!unavailable(d)) return d;
        if ((svc.flags & IP_VS_SVC_F_SCHED_MH_FALLBACK) === 0) return null;
        for (let offset = 0; offset < MH_TAB_SIZE; offset++) {
          const roffset = (offset + ih) % MH_TAB_SIZE;
          const x = lookup[mhHashkey(fold, port, MH_HASH1, roffset, MH_TAB_SIZE)];
          if (!x) return null;
          if (!unavailable(x)) return x;
        }
        return null;
      },
    };
  },
};
