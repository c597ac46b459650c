// The cache table shared by lblc and lblcr (ip_vs_lblc.c, ip_vs_lblcr.c): entries keyed by the
// packet's destination address in 1024 hash buckets (new entries at the bucket head), and the
// garbage collection that runs every 60 s. Spec: docs/spec/ipvs-kernel.md §1.10, §1.11.

import type { Dest } from '../dest.js';
import type { Addr } from '../inet.js';
import type { Service } from '../service.js';
import { hash32 } from './hash.js';

export const LBLC_TAB_BITS = 10;
const TAB_SIZE = 1 << LBLC_TAB_BITS;
const TAB_MASK = TAB_SIZE - 1;
export const CHECK_EXPIRE_INTERVAL_MS = 60_000;
export const ENTRY_TIMEOUT_MS = 6 * 60_000;
export const COUNT_FOR_FULL_EXPIRATION = 30;
export const LBLC_MAX_SIZE = TAB_SIZE * 16;

export interface CacheEntry {
  addr: Addr;
  lastuse: number;
}

/**
 * lblc/lblcr is_overloaded: the dest has more active conns than its weight while some dest of
 * the service is less than half loaded.
 */
export function isOverloaded(d: Dest, svc: Service): boolean {
  if (d.activeConns > d.weight) {
    for (const m of svc.dests) if (m.activeConns * 2 < m.weight) return true;
  }
  return false;
}

export class LocalityTable<E extends CacheEntry> {
  private readonly buckets: E[][] = Array.from({ length: TAB_SIZE }, () => []);
  entries = 0;
  private rover = 0;
  private counter = 1;
  private nextCheck: number;

  constructor(
    now: number,
    private readonly expiration: () => number,
  ) {
    this.nextCheck = now + CHECK_EXPIRE_INTERVAL_MS;
  }

  private bucketOf(addr: Addr): E[] {
    return this.buckets[hash32(addr.fold(), LBLC_TAB_BITS)]!;
  }

  get(addr: Addr): E | undefined {
    for (const e of this.bucketOf(addr)) if (e.addr.equals(addr)) return e;
    return undefined;
  }

  insert(e: E): void {
    this.bucketOf(e.addr).unshift(e);
    this.entries++;
  }

  remove(e: E): void {
    const b = this.bucketOf(e.addr);
    const i = b.indexOf(e);
    if (i >= 0) {
      b.splice(i, 1);
      this.entries--;
    }
  }

  flush(): void {
    for (const b of this.buckets) b.length = 0;
    this.entries = 0;
  }

  /** Runs the periodic check when its 60 s have come (the kernel's timer). */
  tick(now: number): void {
    while (now >= this.nextCheck) {
      const at = this.nextCheck;
      this.nextCheck += CHECK_EXPIRE_INTERVAL_MS;
      this.check(at);
    }
  }

  private check(now: number): void {
    if (this.counter % COUNT_FOR_FULL_EXPIRATION === 0) {
      this.sweep(now, this.expiration(), Number.POSITIVE_INFINITY);
      this.counter = 1;
      return;
    }
    if (this.entries <= LBLC_MAX_SIZE) {
      this.counter++;
      return;
    }
    let goal = Math.floor(((this.entries - LBLC_MAX_SIZE) * 4) / 3);
    if (goal > LBLC_MAX_SIZE / 2) goal = LBLC_MAX_SIZE / 2;
    this.sweep(now, ENTRY_TIMEOUT_MS, goal);
  }

  /** Walks the buckets after the rover, freeing entries unused for `age`, until `goal` freed. */
  private sweep(now: number, age: number, goal: number): void {
    let j = this.rover;
    for (let i = 0; i < TAB_SIZE; i++) {
      j = (j + 1) & TAB_MASK;
      const b = this.buckets[j]!;
      for (let k = 0; k < b.length;) {
        if (now < b[k]!.lastuse + age) {
          k++;
          continue;
        }
        b.splice(k, 1);
        this.entries--;
        goal--;
      }
      if (goal <= 0) break;
    }
    this.rover = j;
  }
}
