// Why the director dropped a frame: one counter per reason, shown by `tsvs status`. Malformed
// input is counted, never thrown.

export const DROP_REASONS = [
  'truncated',
  'bad_ip_header',
  'bad_length',
  'bad_ip_checksum',
  'bad_l4_checksum',
  'bad_arp',
  'fragment',
  'ttl_exceeded',
  'no_dest',
  'conn_dropped',
  'no_route',
  'dr_not_onlink',
  'neigh_unresolved',
  'out_no_conn',
  'fwd_unsupported',
  'tx_failed',
  'mtu_exceeded',
  'gso_unsupported',
  'no_lport',
  /** To a VIP:port, matching no conn and starting none (not a SYN): the kernel filter took it. */
  'in_no_conn',
  /** An ICMP error to a VIP or from a dest that quotes no conn of ours: left to the kernel. */
  'icmp_no_conn',
  /** An ICMP error to a VIP or from a dest whose quoted header cannot be read. */
  'bad_icmp',
  /** The frame that made the data path throw, and those queued then (discarded before their ring block went back). */
  'data_path_error',
  /** A unicast frame for another host's MAC (a switch flooded it): not ours to forward. */
  'other_host',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

export const DROP = Object.fromEntries(DROP_REASONS.map((r, i) => [r, i])) as Record<DropReason, number>;

export class DropCounters {
  readonly n = new Float64Array(DROP_REASONS.length);

  add(reason: number, k = 1): void {
    this.n[reason]! += k;
  }

  total(): number {
    let t = 0;
    for (const v of this.n) t += v;
    return t;
  }

  /** Non-zero counters by name. */
  toRecord(): Record<string, number> {
    const r: Record<string, number> = {};
    DROP_REASONS.forEach((name, i) => {
      if (this.n[i]! > 0) r[name] = this.n[i]!;
    });
    return r;
  }
}
