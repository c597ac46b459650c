// What tsvsadm needs from an IPVS instance: the rule store and a walk over the connection
// table. src/core/ipvs.ts's Ipvs satisfies it; tests may pass a smaller fake.

import type { ConnRow } from '../core/conn/row.js';
import type { Rules } from '../core/rules.js';

/** One entry of the connection table as /proc/net/ip_vs_conn shows it: the core's row. */
export type AdmConnRow = ConnRow;

export interface AdmBackend {
  readonly rules: Rules;
  /** Every conn and template except one-packet conns, in table order. */
  forEachConn(now: number, cb: (c: AdmConnRow) => void): void;
  /**
   * As forEachConn, at most `max` conns from position `from` (0 first); returns the position
   * to go on from, -1 at the end. Optional: `-L -c` takes the table in pieces where it is there.
   */
  forEachConnFrom?(now: number, from: number, max: number, cb: (c: AdmConnRow) => void): number;
}
