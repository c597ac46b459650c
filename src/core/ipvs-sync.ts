// Connection sync in the core (ip_vs_sync.c): when the master hands a conn to its sync daemon
// (ip_vs_sync_conn, deciding with sync.ts), what it sends of it, and how the backup applies a
// received conn to its tables (ip_vs_proc_conn). Ipvs (ipvs.ts) builds on it.

import { stateTimeout } from './conn/states.js';
import { CONN_F_USED, type ConnTable } from './conn/table.js';
import { TICK_MS } from './conn/timer.js';
import {
  AF_INET,
  AF_INET6,
  IP_VS_CONN_F_FWD_MASK,
  IP_VS_CONN_F_HASHED,
  IP_VS_CONN_F_INACTIVE,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_NOOUTPUT,
  IP_VS_CONN_F_ONE_PACKET,
  IP_VS_CONN_F_SYNC,
  IP_VS_CONN_F_TEMPLATE,
  IPVS_MAX_TIMEOUT_KERNEL,
  IPPROTO_UDP,
} from './constants.js';
import { ConnStore, slotOf } from './conn-store.js';
import {
  DEFAULT_SYNC_PARAMS,
  IP_VS_CONN_F_BACKUP_MASK,
  IP_VS_CONN_F_BACKUP_UPD_MASK,
  SYNC_TEMPLATE_TIMEOUT_S,
  SyncApplyStats,
  type SyncConnView,
  type SyncParams,
  type SyncRecord,
  syncNeeded,
  syncPkts,
} from './sync.js';

/** The state of a template once a conn under it is established (the kernel's IP_VS_S_ASSURED use of cp->state). */
export const TEMPLATE_ASSURED = 1;

export abstract class SyncedConns extends ConnStore {
  /** Master sync: gets each conn the kernel would send now; null while no master runs. */
  protected syncSink: ((ref: number) => void) | null = null;
  /** net.ipv4.vs.sync_* values the master's decision reads. */
  syncParams: SyncParams = { ...DEFAULT_SYNC_PARAMS };
  /** What the backup side did with received conns. */
  readonly syncStats = new SyncApplyStats();
  private readonly syncView: SyncConnView = {
    proto: 0,
    state: 0,
    oldState: 0,
    template: false,
    inPersistence: false,
    timeout: 0,
    syncEnd: 0,
  };

  /** True when the conn table is at its memory bound (conn_mem_max): no new conn fits. */
  protected abstract connTableFull(): boolean;

  /** Starts (a function) or stops (null) handing conns to a master sync daemon. */
  setSyncSink(fn: ((ref: number) => void) | null): void {
    if (fn) this.syncState();
    this.syncSink = fn;
  }

  /** Gives both tables their sync state (ConnTable.syncState) before a master or backup first uses it. */
  private syncState(): void {
    this.t4.syncState();
    this.t6.syncState();
  }

  /**
   * ip_vs_sync_conn after an inbound packet: the conn (never a one-packet one), then its
   * controller (a template counts a packet of its own), each sent when syncNeeded says so.
   * `credited` packets arrived at once (Ipvs.credit): the rule sees the batch as its packets.
   */
  protected syncConn(t: ConnTable, i: number, credited = 1): void {
    const sink = this.syncSink;
    if (!sink) return;
    const s = this.syncParams;
    const now = this.nowTick * TICK_MS;
    const own = t.inPktsOf(i);
    let pkts = t.flagsOf(i) & IP_VS_CONN_F_ONE_PACKET ? s.threshold : syncPkts(s, own - credited, own);
    let c = i;
    for (;;) {
      if ((t.flagsOf(c) & IP_VS_CONN_F_ONE_PACKET) === 0) {
        const v = this.syncView;
        v.proto = t.protoOf(c);
        v.state = t.stateOf(c);
        v.oldState = t.oldState[c]!;
        v.template = (t.flagsOf(c) & IP_VS_CONN_F_TEMPLATE) !== 0;
        v.inPersistence = this.inPersistence(t, c);
        v.timeout = t.timeoutOf(c) * TICK_MS;
        v.syncEnd = t.syncEnd[c]!;
        const n = syncNeeded(s, v, pkts, now);
        if (n >= 0) {
          t.syncEnd[c] = n;
          t.oldState[c] = t.stateOf(c);
          sink(this.ref(t, c));
        } else if (s.version === 0) return; // ip_vs_sync_conn_v0 weighs the controller only after a send
      } else if (s.version === 0) return;
      const ctl = t.controlOf(c);
      if (ctl < 0) return;
      c = ctl;
      if (t.flagsOf(c) & IP_VS_CONN_F_TEMPLATE) {
        // Each packet of a conn counts one for its template (credited ones too).
        const was = t.inPktsOf(c);
        t.setInPkts(c, was + credited);
        pkts = syncPkts(s, was, was + credited);
      } else pkts = s.threshold;
    }
  }

  private inPersistence(t: ConnTable, i: number): boolean {
    for (let c = t.controlOf(i); c >= 0; c = t.controlOf(c)) {
      if (t.flagsOf(c) & IP_VS_CONN_F_TEMPLATE) return true;
    }
    return false;
  }

  /** Copies conn `ref` into `e` as the master sends it (HASHED and tsvs's own bits off). */
  fillSync(ref: number, e: SyncRecord): void {
    const t = this.table(ref);
    const i = slotOf(ref);
    const w = t.w;
    const f = t.flagsOf(i);
    e.v6 = w === 4;
    e.proto = t.protoOf(i);
    e.flags = f & ~(CONN_F_USED | IP_VS_CONN_F_HASHED) & 0xffff;
    e.state = t.stateOf(i);
    e.cport = t.cportOf(i);
    e.vport = t.vportOf(i);
    e.dport = t.dportOf(i);
    e.fwmark = 0; // tsvs does not keep a conn's mark (the packet engine serves no fwmark services)
    e.timeout = Math.round((t.timeoutOf(i) * TICK_MS) / 1000);
    const b = t.caddrOff(i);
    const local = t.hasLocal(i);
    for (let k = 0; k < 4; k++) {
      e.caddr[k] = k < w ? t.hot[b + k]! : 0;
      e.vaddr[k] = k < w ? t.hot[b + w + k]! : 0;
      e.daddr[k] = k < w ? t.daddrOf(i, k) : 0;
      e.laddr[k] = k >= w ? 0 : local ? t.laddr[i * w + k]! : t.hot[b + k]!;
    }
    e.hasLocal = local;
    e.lport = e.hasLocal ? t.lport[i]! : 0;
  }

  /**
   * The backup's ip_vs_proc_conn for one received conn: update the conn of the same client
   * tuple, or create it bound to the matching dest (unbound when there is none), then state,
   * in_pkts = sync_threshold and the timer from the message. Returns false when a new conn
   * was refused because the table is at its memory bound (the kernel's failed ip_vs_conn_new).
   */
  applySync(e: SyncRecord, now: number): boolean {
    this.setNow(now);
    this.syncState();
    const t = e.v6 ? this.t6 : this.t4;
    const template = (e.flags & IP_VS_CONN_F_TEMPLATE) !== 0;
    const flags = (e.flags & IP_VS_CONN_F_BACKUP_MASK) | IP_VS_CONN_F_SYNC;
    let i = t.lookupIn(e.proto, e.caddr, 0, e.cport, e.vaddr, 0, e.vport, template);
    if (i >= 0 && !template && (t.dportOf(i) !== e.dport || !t.daddrEq(i, e.daddr, 0))) {
      if (flags & IP_VS_CONN_F_INACTIVE) {
        this.syncStats.staleIgnored++;
        return true;
      }
      this.expire(t, i);
      this.syncStats.replaced++;
      i = -1;
    }
    if (i >= 0) {
      const old = t.flagsOf(i);
      const d = this.rules.destById(t.destOf(i));
      if ((old ^ flags) & IP_VS_CONN_F_INACTIVE && !template && d) {
        if (flags & IP_VS_CONN_F_INACTIVE) {
          d.activeConns--;
          d.inactConns++;
        } else {
          d.activeConns++;
          d.inactConns--;
        }
      }
      t.setFlags(i, (flags & IP_VS_CONN_F_BACKUP_UPD_MASK) | (old & ~IP_VS_CONN_F_BACKUP_UPD_MASK));
      if (!d) this.bindSynced(t, i, e);
      this.syncStats.updated++;
    } else {
      // A backup fed by a hostile or runaway master must stay under conn_mem_max too.
      if (this.connTableFull()) return false;
      i = t.alloc();
      t.setKey(i, e.proto, e.caddr, e.cport, e.vaddr, e.vport, template);
      t.setDaddr(i, e.daddr);
      t.setDport(i, e.dport);
      t.setFlags(i, CONN_F_USED | flags);
      if (!this.bindSynced(t, i, e)) this.syncStats.unbound++;
      if (t.hasLocal(i)) {
        t.setAddr(t.laddr, i, e.hasLocal ? e.laddr : e.caddr);
        t.lport[i] = e.hasLocal ? e.lport : e.cport;
      }
      const fullnat = t.hasLocal(i) && e.hasLocal;
      if ((t.flagsOf(i) & IP_VS_CONN_F_ONE_PACKET) === 0) t.hash(i, fullnat);
      this.syncStats.created++;
    }
    t.setInPkts(i, this.syncParams.threshold);
    // A template's state is NONE or ASSURED; the kernel keeps (and only logs) any other number
    // in its 16 bits, the table here has 8: anything else is stored as NONE, never truncated.
    const state = template && e.state > TEMPLATE_ASSURED ? 0 : e.state;
    t.setState(i, state);
    t.oldState[i] = state;
    let secs = e.timeout;
    if (secs > IPVS_MAX_TIMEOUT_KERNEL) secs = IPVS_MAX_TIMEOUT_KERNEL;
    if (secs === 0) {
      secs = template ? SYNC_TEMPLATE_TIMEOUT_S : stateTimeout(e.proto, e.state, this.rules.timeouts);
    }
    t.setTimeoutTicks(i, Math.ceil((secs * 1000) / TICK_MS));
    this.wheel(t).arm(i, this.nowTick + t.timeoutOf(i));
    return true;
  }

  /**
   * ip_vs_find_dest + ip_vs_bind_dest for a synced conn: the dest's forwarding method replaces
   * the message's, the message's activity stays. Returns false when no dest matches.
   */
  private bindSynced(t: ConnTable, i: number, e: SyncRecord): boolean {
    const af = e.v6 ? AF_INET6 : AF_INET;
    const svc =
      e.fwmark !== 0
        ? this.rules.lookup(af, e.proto, this.addrOf(af, e.vaddr), e.vport, e.fwmark)
        : this.rules.lookup(af, e.proto, this.addrOf(af, e.vaddr), e.vport, 0);
    if (!svc) return false;
    const daddr = this.addrOf(af, e.daddr);
    const fwd = e.flags & IP_VS_CONN_F_FWD_MASK;
    const first = e.fwmark !== 0 && fwd !== IP_VS_CONN_F_MASQ ? 0 : e.dport;
    const dest = svc.findDest(daddr, first) ?? svc.findDest(daddr, first === 0 ? e.dport : 0);
    if (!dest) return false;
    const template = (t.flagsOf(i) & IP_VS_CONN_F_TEMPLATE) !== 0;
    let connFlags = dest.connFlags;
    if (t.protoOf(i) !== IPPROTO_UDP) connFlags &= ~IP_VS_CONN_F_ONE_PACKET;
    if (!template) connFlags &= ~IP_VS_CONN_F_INACTIVE;
    const f = t.flagsOf(i) & ~(IP_VS_CONN_F_FWD_MASK | IP_VS_CONN_F_NOOUTPUT);
    t.setFlags(i, f | connFlags);
    t.setDest(i, dest.id);
    dest.refcnt++;
    if (template) dest.persistConns++;
    else if (t.flagsOf(i) & IP_VS_CONN_F_INACTIVE) dest.inactConns++;
    else dest.activeConns++;
    return true;
  }
}
