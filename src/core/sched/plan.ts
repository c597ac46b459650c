// Plans for the schedulers whose state is a few numbers: run the pick function on a copy of
// that state until a state repeats; the picks before the repeated state's first visit are the
// prefix, the rest the cycle.

import type { Dest } from '../dest.js';
import type { SchedPlan } from './types.js';

/**
 * `pick` advances `state` (mutated in place) and returns the dest, or null. `key` names a
 * state as one number. Null when a pick finds nothing or no state repeats within `limit` picks.
 */
export function planOf<S>(state: S, pick: (s: S) => Dest | null, key: (s: S) => number, limit: number): SchedPlan | null {
  const seen = new Map<number, number>();
  const picks: Dest[] = [];
  seen.set(key(state), 0);
  while (picks.length < limit) {
    const d = pick(state);
    if (!d) return null;
    picks.push(d);
    const k = key(state);
    const first = seen.get(k);
    if (first !== undefined) return { prefix: picks.slice(0, first), cycle: picks.slice(first) };
    seen.set(k, picks.length);
  }
  return null;
}
