// One conn as listed: the row the core hands to `ipvsadm -c` and to status views, the way
// /proc/net/ip_vs_conn shows an entry (ip_vs_conn_seq_show), plus tsvs's FULLNAT columns.

import type { Af } from '../constants.js';
import type { Addr } from '../inet.js';

export interface ConnRow {
  /** The conn's family (its client and virtual addresses). */
  af: Af;
  protocol: number;
  caddr: Addr;
  cport: number;
  vaddr: Addr;
  vport: number;
  /** The real server's address, in the real server's own family. */
  daddr: Addr;
  dport: number;
  /** FULLNAT: the local address and port toward the real server; others: the client's. */
  laddr: Addr;
  lport: number;
  /** Kernel state name (ESTABLISHED, UDP, NONE, ASSURED, ...). */
  state: string;
  /** Whole seconds until expiry (the kernel's (expires - jiffies) / HZ). */
  expires: number;
  /** A persistence template rather than a conn. */
  template: boolean;
  /** The forwarding method (IP_VS_CONN_F_FWD_MASK bits). */
  fwd: number;
  /** Persistence-engine name and data, when the conn carries them (ip_vs_pe: sip). */
  peName?: string;
  peData?: string;
}
