// What tsvsadm needs from an IPVS instance: the rule store and a walk over the connection
// table. src/core/ipvs.ts's Ipvs satisfies it; tests may pass a smaller fake.

import type { Af } from '../core/constants.js';
import type { Addr } from '../core/inet.js';
import type { Rules } from '../core/rules.js';

/** One entry of the connection table as /proc/net/ip_vs_conn shows it (§7.6). */
export interface AdmConnRow {
  af: Af;
  protocol: number;
  caddr: Addr;
  cport: number;
  vaddr: Addr;
  vport: number;
  /** The real server's address, in the real server's own family. */
  daddr: Addr;
  dport: number;
  /** Kernel state name (ESTABLISHED, UDP, NONE, ASSURED, ...). */
  state: string;
  /** Whole seconds until expiry. */
  expires: number;
  /** Persistence-engine name and data, when the conn carries them. */
  peName?: string;
  peData?: string;
  /** tsvs: the forwarding method and, for FULLNAT, the local address and port. */
  fwd?: number;
  laddr?: Addr;
  lport?: number;
}

export interface AdmBackend {
  readonly rules: Rules;
  /** Every conn and template except one-packet conns, in table order. */
  forEachConn(now: number, cb: (c: AdmConnRow) => void): void;
}
