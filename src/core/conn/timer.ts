// The expiry wheel of the connection table. The kernel gives each conn a timer re-armed by
// every packet (ip_vs_conn_put). Here each conn sits in one slot chain of a wheel of
// WHEEL_SLOTS slots of one tick each; re-arming to a later time only rewrites `expires` (the
// conn is re-filed lazily when its slot comes round), re-arming to an earlier time moves it.
// So the per-packet cost is a store, and nothing is allocated.
//
// Links: `next`/`prev` in the table; prev < -1 encodes "head of slot (-prev - 2)",
// prev == -1 "not filed". Whether a conn is filed is also read from its `filed` tick (UNFILED),
// which sits in the conn's hot record: re-arming, the per-packet step, then touches only it.

import { type ConnTable, UNFILED } from './table.js';

/** Tick length: expiry is exact to this many ms. */
export const TICK_MS = 100;
/** 4096 slots of 100 ms: a 409.6 s horizon; later expiries are re-filed on the way. */
export const WHEEL_SLOTS = 4096;
const SLOT_MASK = WHEEL_SLOTS - 1;
const NIL = -1;

export class TimerWheel {
  private readonly heads = new Int32Array(WHEEL_SLOTS).fill(NIL);
  /** Next tick to process. */
  private cursor: number;

  constructor(
    private readonly t: ConnTable,
    startTick: number,
  ) {
    this.cursor = startTick;
  }

  /** Files conn i at its `expires` tick (or the next processed tick if that has passed). */
  file(i: number): void {
    const t = this.t;
    const at = Math.max(t.expiresOf(i), this.cursor);
    t.setFiled(i, at);
    const s = at & SLOT_MASK;
    const h = this.heads[s]!;
    t.next[i] = h;
    t.prev[i] = -(s + 2);
    if (h !== NIL) t.prev[h] = i;
    this.heads[s] = i;
  }

  unfile(i: number): void {
    const t = this.t;
    const p = t.prev[i]!;
    if (p === NIL) return;
    const n = t.next[i]!;
    if (p < NIL) this.heads[-p - 2] = n;
    else t.next[p] = n;
    if (n !== NIL) t.prev[n] = p;
    t.next[i] = NIL;
    t.prev[i] = NIL;
    t.setFiled(i, UNFILED);
  }

  /** Sets conn i to expire at tick `at`; moves it only if that is before its slot. */
  arm(i: number, at: number): void {
    const t = this.t;
    t.setExpires(i, at);
    const filed = t.filedOf(i);
    if (filed === UNFILED) this.file(i);
    else if (at < filed) {
      this.unfile(i);
      this.file(i);
    }
  }

  /**
   * Processes every tick up to and including `nowTick`; calls `expire(i)` for each conn whose
   * expiry has come. `expire` may re-arm the conn (deferred expiry) or free it.
   */
  advance(nowTick: number, expire: (i: number) => void): void {
    const t = this.t;
    // A long gap: no need to walk more than one full turn of the wheel.
    if (nowTick - this.cursor > WHEEL_SLOTS) this.cursor = nowTick - WHEEL_SLOTS;
    while (this.cursor <= nowTick) {
      const s = this.cursor & SLOT_MASK;
      let i = this.heads[s]!;
      this.heads[s] = NIL;
      while (i !== NIL) {
        const n = t.next[i]!;
        t.next[i] = NIL;
        t.prev[i] = NIL;
        t.setFiled(i, UNFILED);
        if (n !== NIL) t.prev[n] = -(s + 2);
        if (t.expiresOf(i) <= nowTick) expire(i);
        else this.file(i);
        i = n;
      }
      this.cursor++;
    }
  }
}
