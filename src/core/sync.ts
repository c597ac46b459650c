// Connection sync in the core. When the master sends a conn: the kernel's ip_vs_sync_conn_needed, with time in ms (the
// kernel's jiffies at HZ=1000). Pure; the core calls it after each inbound packet and keeps the
// two per-conn values it reads and writes (old_state, sync_endtime).

import { IPPROTO_SCTP, IPPROTO_TCP } from './constants.js';

/** The sync sysctls this decision reads (net.ipv4.vs.sync_*). */
/** Flags a backup keeps from a message (IP_VS_CONN_F_BACKUP_MASK). */
export const IP_VS_CONN_F_BACKUP_MASK = 0x1f87;
/** Flags an update may change on an existing conn (IP_VS_CONN_F_BACKUP_UPD_MASK). */
export const IP_VS_CONN_F_BACKUP_UPD_MASK = 0x0700;
/** Templates received with timeout 0 live this long (ip_vs_proc_conn's 3*60*HZ). */
export const SYNC_TEMPLATE_TIMEOUT_S = 180;

export interface SyncParams {
  /** sync_threshold[0]: the packet count at which a conn is first sent. */
  threshold: number;
  /** sync_threshold[1]: resend every `period` packets (0: only at `threshold`). */
  period: number;
  /** sync_refresh_period in ms (0: off). */
  refreshPeriod: number;
  /** sync_retries, 0..3. */
  retries: number;
  /** sync_persist_mode: 1 sends only the template of a conn under persistence. */
  persistMode: number;
  /** sync_version: 1 (default) or 0. */
  version: 0 | 1;
  /** sync_sock_size in bytes: SO_SNDBUF of a master, SO_RCVBUF of a backup (0: the system's). */
  sockSize: number;
}

export const DEFAULT_SYNC_PARAMS: SyncParams = {
  threshold: 3,
  period: 50,
  refreshPeriod: 0,
  retries: 0,
  persistMode: 0,
  version: 1,
  sockSize: 0,
};

// TCP and SCTP states in which a conn is worth sending (the kernel's bit masks).
const TCP_SYNC_STATES = (1 << 1) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7); // EST FIN_WAIT TIME_WAIT CLOSE CLOSE_WAIT
const TCP_S_ESTABLISHED = 1;
const SCTP_SYNC_STATES = (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 13); // EST SHUTDOWN_* CLOSED
const SCTP_S_ESTABLISHED = 8;
/** The refresh window never shrinks below 10 s (max(timeout/2, 10*HZ)). */
const REFRESH_MIN_DIFF_MS = 10_000;

/** A conn's view for the decision, filled by the core (reused, no allocation). */
export interface SyncConnView {
  proto: number;
  state: number;
  oldState: number;
  template: boolean;
  /** Under a persistence template (in_persistence: a template up the control chain). */
  inPersistence: boolean;
  /** Full timeout of the current state, ms. */
  timeout: number;
  /** sync_endtime as stored at the last send (its low 2 bits count retries). */
  syncEnd: number;
}

/**
 * Returns the new sync_endtime when the conn must be sent now, or -1 when not. The caller
 * stores the result and sets old_state = state when it is not -1 (the kernel's `set:` label).
 */
export function syncNeeded(s: SyncParams, c: SyncConnView, pkts: number, now: number): number {
  const orig = c.syncEnd;
  let n = Math.floor((now + c.timeout) / 4) * 4;
  let force = false;
  if (c.template) force = false;
  else if (s.persistMode && c.inPersistence) return -1;
  else if (c.proto === IPPROTO_TCP || c.proto === IPPROTO_SCTP) {
    const tcp = c.proto === IPPROTO_TCP;
    if (!((1 << c.state) & (tcp ? TCP_SYNC_STATES : SCTP_SYNC_STATES))) return -1;
    force = c.state !== c.oldState;
    if (force && c.state !== (tcp ? TCP_S_ESTABLISHED : SCTP_S_ESTABLISHED)) return n;
  }
  if (s.refreshPeriod > 0) {
    const minDiff = Math.max(Math.floor(c.timeout / 2), REFRESH_MIN_DIFF_MS);
    if (Math.abs(n - orig) < Math.min(s.refreshPeriod, minDiff)) {
      const retries = orig & 3;
      if (retries >= s.retries) return -1;
      if (now < orig - c.timeout + Math.floor(s.refreshPeriod / 8)) return -1;
      n += retries + 1;
    }
  }
  if (s.period > 0) {
    if (!c.template && pkts % s.period !== s.threshold) return -1;
  } else if (!s.refreshPeriod && pkts !== s.threshold) return -1;
  // The kernel's cmpxchg always succeeds here (one writer per conn): send.
  return n;
}

/**
 * The packet count the decision should see when a conn's in_pkts went from `from` to `to` at
 * once (the XDP fast path credits its packets in batches): the last count in (from, to] at
 * which the threshold rule fires, so that a batch sends the conn whenever one of its packets,
 * counted one by one, would have; `to` when none would. sync_threshold keeps threshold < period
 * (or period 0), as the kernel's proc_do_sync_threshold does.
 */
export function syncPkts(s: SyncParams, from: number, to: number): number {
  if (to - from <= 1) return to;
  if (s.period > 0) {
    if (to < s.threshold) return to;
    const k = to - ((to - s.threshold) % s.period);
    return k > from ? k : to;
  }
  return from < s.threshold && s.threshold <= to ? s.threshold : to;
}

/**
 * One conn as the sync protocol carries it (the sync codec's SyncEntry has this shape):
 * addresses as host-order words, 1 for IPv4 and 4 for IPv6.
 */
export interface SyncRecord {
  v6: boolean;
  proto: number;
  flags: number;
  state: number;
  cport: number;
  vport: number;
  dport: number;
  fwmark: number;
  /** Seconds; 0 means "the protocol's timeout for the state" (v0, or a sender without it). */
  timeout: number;
  readonly caddr: Uint32Array;
  readonly vaddr: Uint32Array;
  readonly daddr: Uint32Array;
  hasLocal: boolean;
  lport: number;
  readonly laddr: Uint32Array;
}

/** What the backup side counted while applying received conns. */
export class SyncApplyStats {
  created = 0;
  updated = 0;
  /** Created without a dest (no such service or real server here): forwarded by the message's method. */
  unbound = 0;
  /** A late INACTIVE notice for a conn already moved to another real server. */
  staleIgnored = 0;
  /** The master moved a client to another real server: the old conn expired at once. */
  replaced = 0;
}
