// The core's counters as one Float64Array (core-messages.ts, Snapshot): written on the core
// thread, read into the daemon thread's copy of the rules (core-thread.ts). Both sides are here
// so that the layout is written once: the total's Stats, then per service its Stats and per
// dest its Stats and DEST_WORDS more, in rules order.

import { IP_VS_DEST_F_OVERLOAD } from '../core/constants.js';
import type { Dest } from '../core/dest.js';
import type { Rules } from '../core/rules.js';
import { type Stats, STATS_WORDS } from '../core/stats.js';

/** Numbers per dest after its Stats: active, inactive and persistent conns, overloaded. */
export const DEST_WORDS = 4;

/** Visits every Stats of `rules` with its offset, and every dest with the offset of its words. */
function walk(rules: Rules, stats: (s: Stats, at: number) => void, dest: (d: Dest, at: number) => void): number {
  let at = 0;
  stats(rules.total, at);
  at += STATS_WORDS;
  for (const svc of rules.services()) {
    stats(svc.stats, at);
    at += STATS_WORDS;
    for (const d of svc.dests) {
      stats(d.stats, at);
      at += STATS_WORDS;
      dest(d, at);
      at += DEST_WORDS;
    }
  }
  return at;
}

/** Dests per service, in rules order: a copy takes the words only where its rules agree. */
export function shapeOf(rules: Rules): number[] {
  return rules.services().map((s) => s.dests.length);
}

export function writeCounters(rules: Rules): Float64Array {
  const words = new Float64Array(
    walk(
      rules,
      () => {},
      () => {},
    ),
  );
  walk(
    rules,
    (s, at) => s.export(words, at),
    (d, at) => {
      words[at] = d.activeConns;
      words[at + 1] = d.inactConns;
      words[at + 2] = d.persistConns;
      words[at + 3] = d.flags & IP_VS_DEST_F_OVERLOAD ? 1 : 0;
    },
  );
  return words;
}

/** Reads writeCounters' words into `rules`; false (nothing read) where the shapes differ. */
export function readCounters(rules: Rules, shape: readonly number[], words: Float64Array): boolean {
  const mine = shapeOf(rules);
  if (mine.length !== shape.length || mine.some((n, i) => n !== shape[i])) return false;
  walk(
    rules,
    (s, at) => s.assign(words, at),
    (d, at) => {
      d.activeConns = words[at]!;
      d.inactConns = words[at + 1]!;
      d.persistConns = words[at + 2]!;
      d.flags = words[at + 3] ? d.flags | IP_VS_DEST_F_OVERLOAD : d.flags & ~IP_VS_DEST_F_OVERLOAD;
    },
  );
  return true;
}
