// One IPVS instance (one network namespace): the rules, the connection tables and the
// per-packet decisions the engines ask for. Spec: docs/spec/ipvs-kernel.md §2 (conns, persistence,
// accounting, expiry), §3 (states), §5 (counters, estimator), §7.2 (in-hook order).
// Pure: `now` (ms) is passed in; engines own the clock and call tick(). Built in layers: the
// conn tables, the v4/v6 ref split and the conn views (conn-store.ts), connection sync
// (ipvs-sync.ts), FULLNAT local addresses (laddr.ts); this file keeps the packet hooks,
// scheduling, conn life and the timers.

import { PacketInfo } from './conn/packet.js';
import { SCTP_EV_ABORT, SCTP_EV_INIT, SCTP_S_CLOSED } from './conn/sctp.js';
import { DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT, isActiveState, isEstablished, stateTimeout, stateTransition } from './conn/states.js';
import type { ConnRow } from './conn/row.js';
import { CONN_F_USED, ConnTable } from './conn/table.js';
import { TCP_RST, TCP_S_CLOSE, TCP_S_FIN_WAIT, TCP_S_TIME_WAIT, TCP_SYN } from './conn/tcp.js';
import { TICK_MS } from './conn/timer.js';
import {
  AF_INET,
  AF_INET6,
  IP_VS_CONN_F_FULLNAT,
  IP_VS_CONN_F_INACTIVE,
  IP_VS_CONN_F_NOOUTPUT,
  IP_VS_CONN_F_ONE_PACKET,
  IP_VS_CONN_F_TEMPLATE,
  IPPROTO_IP,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from './constants.js';
import type { Dest } from './dest.js';
import { EST_PERIOD_MS, estimate } from './estimator.js';
import { Addr } from './inet.js';
import type { Defence } from './defence.js';
import { LaddrAllocator, type LocalAddr } from './laddr.js';
import { Rules } from './rules.js';
import { lookupScheduler } from './sched/registry.js';
import { SchedPacketView } from './sched/packet-view.js';
import type { SchedEnv, SchedPacket } from './sched/types.js';
import type { Service } from './service.js';
import type { Stats } from './stats.js';
import { slotOf } from './conn-store.js';
import { SyncedConns, TEMPLATE_ASSURED } from './ipvs-sync.js';

export { PacketInfo } from './conn/packet.js';
export { V6_BASE } from './conn-store.js';

/** Not for IPVS: let the host stack have the packet (no service, or not a new connection). */
export const VERDICT_ACCEPT = -1;
/** Ours, dropped: the conn's dest was deleted (expire_nodest_conn 0), or a conntrack clash. */
export const VERDICT_DROP = -2;
/** A service matched but no dest could be chosen: ip_vs_leave sends ICMP port unreachable. */
export const VERDICT_NO_DEST = -3;
/** FULLNAT: every local address and port toward the chosen real server is in use. */
export const VERDICT_NO_LPORT = -4;

/** The IPv4 table's first capacity, unless IpvsOptions.capacity says (it grows as needed). */
const CONN_TABLE_V4_INITIAL = 4096;
/** A new conn's timeout until its first state transition (ip_vs_conn_new: 3*HZ). */
const CONN_INITIAL_TIMEOUT_MS = 3000;
/** A template still controlling conns is not freed; its timer is retried this much later (ip_vs_conn_expire: 60*HZ). */
const CONTROLLING_RETRY_MS = 60_000;
/** How often deleted dests that no conn holds any more leave the trash (ip_vs_dest_trash_expire). */
const DEST_TRASH_PERIOD_MS = 60_000;
/** lblc/lblcr entries unused this long are dropped (the lblc_expiration sysctl's default, 24 h). */
const LBLC_EXPIRATION_MS = 24 * 60 * 60 * 1000;
/** The FTP control port: persistence keeps vport 0 for it, so that data conns share the template (ip_vs_sched_persist). */
const IPPORT_FTP = 21;

export interface Sysctls {
  expireNodestConn: boolean;
  expireQuiescentTemplate: boolean;
  connReuseMode: number;
  sloppyTcp: boolean;
  sloppySctp: boolean;
  secureTcp: boolean;
  /** run_estimation: the 2 s rate estimator runs. */
  runEstimation: boolean;
}

export const DEFAULT_SYSCTLS: Sysctls = {
  expireNodestConn: false,
  expireQuiescentTemplate: false,
  connReuseMode: 1,
  sloppyTcp: false,
  sloppySctp: false,
  secureTcp: false,
  runEstimation: true,
};

export interface IpvsOptions {
  env?: SchedEnv;
  /** Initial IPv4 conn capacity (grows as needed). */
  capacity?: number;
  /**
   * Conns whose storage each table allocates at once, so that it is never copied to grow (a
   * copy at 8 M conns stopped the data path for 1.3 s). Untouched, a reserved slot is address
   * space, not memory. The daemon passes its conn bound (Defence.maxConns).
   */
  reserve?: number;
  sysctls?: Partial<Sysctls>;
  /** Called when a conn (not a template) is removed, with its ref. */
  onExpire?: (ref: number) => void;
  /** Clock value at creation, ms. */
  now?: number;
}

/** One row of `ipvsadm -c` (the conn-row type shared with tsvsadm). */
export type ConnView = ConnRow;

/** Events a real client picks from when it opens a connection (SYN, SCTP INIT, any UDP). */
function isNewConnPacket(proto: number, ev: number): boolean {
  if (proto === IPPROTO_TCP) return (ev & TCP_SYN) !== 0;
  if (proto === IPPROTO_SCTP) return ev === SCTP_EV_INIT;
  return false;
}

const defaultEnv: SchedEnv = {
  random32: () => (Math.random() * 4294967296) >>> 0,
  lblcExpiration: LBLC_EXPIRATION_MS,
  lblcrExpiration: LBLC_EXPIRATION_MS,
};

export class Ipvs extends SyncedConns {
  readonly sysctls: Sysctls;
  private readonly expireHooks: ((ref: number) => void)[] = [];
  /** The flood defences (defence.ts), when the owner enables them. */
  defence: Defence | null = null;

  protected connTableFull(): boolean {
    return this.defence !== null && this.connCount() >= this.defence.maxConns();
  }
  private nextEst: number;
  private nextTrash: number;
  private opsPending = -1;
  private readonly tmp = new Uint32Array(4);
  private readonly tmp2 = new Uint32Array(4);
  /** A new conn's real server address (newConn; tmp and tmp2 may be its arguments). */
  private readonly tmpD = new Uint32Array(4);
  /** What schedulers see of the packet opening a conn (reused: see packet-view.ts). */
  private readonly schedView = new SchedPacketView();
  private readonly laddrs = new LaddrAllocator();

  constructor(o: IpvsOptions = {}) {
    const now = o.now ?? 0;
    super(new Rules(lookupScheduler, o.env ?? { ...defaultEnv }), o.capacity ?? CONN_TABLE_V4_INITIAL, now, o.reserve); // own env copy: sysctls write it
    this.sysctls = { ...DEFAULT_SYSCTLS, ...o.sysctls };
    if (o.onExpire) this.expireHooks.push(o.onExpire);
    this.nextEst = now + EST_PERIOD_MS;
    this.nextTrash = now + DEST_TRASH_PERIOD_MS;
  }

  /** Engines learn here that the core removed a conn (idle timeout, reuse, flush). */
  onExpire(fn: (ref: number) => void): void {
    this.expireHooks.push(fn);
  }

  // --- the per-packet hooks ------------------------------------------------------------------

  /**
   * The in-hook (§7.2) for one client→VIP packet: finds the conn or schedules a new one,
   * accounts the packet (in-stats, INPUT state transition, timer re-armed). Returns the conn
   * ref, or VERDICT_ACCEPT / VERDICT_DROP / VERDICT_NO_DEST. A one-packet (`-o`) conn stays
   * readable until the next call.
   */
  processIn(p: PacketInfo, now: number): number {
    this.setNow(now);
    this.freeOps();
    const t = this.tableFor(p.af);
    let i = t.lookupIn(p.protocol, p.saddr, 0, p.sport, p.daddr, 0, p.dport, false);
    if (i >= 0 && !p.fragment && isNewConnPacket(p.protocol, p.ev)) {
      if (this.mayReschedule(t, i)) {
        this.expire(t, i);
        i = -1;
      }
    }
    if (i >= 0) {
      const d = this.rules.destById(t.destOf(i));
      if (d && !d.available) {
        if (!this.sysctls.expireNodestConn) return VERDICT_DROP;
        this.expire(t, i);
        i = -1;
      }
    }
    if (i < 0) {
      if (p.fragment || !this.schedulable(p)) return VERDICT_ACCEPT;
      const svc =
        p.af === AF_INET
          ? this.rules.lookup4(p.protocol, p.daddr[0]!, p.dport, p.fwmark)
          : this.rules.lookup(p.af, p.protocol, this.addrOf(p.af, p.daddr), p.dport, p.fwmark);
      if (!svc) return VERDICT_ACCEPT;
      const ref = this.schedule(svc, p, now);
      if (ref < 0) return ref;
      i = slotOf(ref);
    }
    this.accountIn(t, i, p.ev, p.len);
    if (this.syncSink) this.syncConn(t, i);
    const ref = this.ref(t, i);
    if (t.flagsOf(i) & IP_VS_CONN_F_ONE_PACKET) this.opsPending = ref;
    return ref;
  }

  /**
   * The out-hook for a real-server→client packet (NAT/FULLNAT replies, and any conn found by
   * the out lookup): out-stats, OUTPUT transition, re-arm. Returns the ref or VERDICT_ACCEPT.
   */
  processOut(p: PacketInfo, now: number): number {
    this.setNow(now);
    this.freeOps();
    const t = this.tableFor(p.af);
    const i = t.lookupOut(p.protocol, p.saddr, 0, p.sport, p.daddr, 0, p.dport);
    if (i < 0) return VERDICT_ACCEPT;
    this.accountOut(t, i, p.ev, p.len);
    return this.ref(t, i);
  }

  /**
   * Finds the conn of a client→VIP tuple without accounting anything (an ICMP error quoting
   * one of our packets). Returns the ref or -1.
   */
  findIn(p: PacketInfo): number {
    const t = this.tableFor(p.af);
    const i = t.lookupIn(p.protocol, p.saddr, 0, p.sport, p.daddr, 0, p.dport, false);
    return i < 0 ? -1 : this.ref(t, i);
  }

  /** Finds the conn of a real-server→client tuple without accounting anything; ref or -1. */
  findOut(p: PacketInfo): number {
    const t = this.tableFor(p.af);
    const i = t.lookupOut(p.protocol, p.saddr, 0, p.sport, p.daddr, 0, p.dport);
    return i < 0 ? -1 : this.ref(t, i);
  }

  /** For engines that are not packet based: account `bytes` of one inbound segment. */
  inPacket(ref: number, ev: number, bytes: number, now: number): void {
    this.setNow(now);
    const t = this.table(ref);
    const i = slotOf(ref);
    if (t.used(i)) {
      this.accountIn(t, i, ev, bytes);
      if (this.syncSink) this.syncConn(t, i);
    }
  }

  /** For engines that are not packet based: account `bytes` of one outbound segment. */
  outPacket(ref: number, ev: number, bytes: number, now: number): void {
    this.setNow(now);
    const t = this.table(ref);
    const i = slotOf(ref);
    if (t.used(i)) this.accountOut(t, i, ev, bytes);
  }

  /**
   * Packets an engine forwarded without asking the core (the XDP fast path carries an
   * established conn's frames in the kernel): in- and out-stats as if each had passed the hooks,
   * the timer re-armed for the conn's state, which such packets never change (the engine sends
   * every frame that could, SYN, FIN, RST, through processIn/processOut).
   */
  credit(ref: number, inPkts: number, inBytes: number, outPkts: number, outBytes: number, now: number): void {
    this.setNow(now);
    const t = this.table(ref);
    const i = slotOf(ref);
    if (!t.used(i)) return;
    const d = this.rules.destById(t.destOf(i));
    if (d?.available) {
      creditStats(d.stats, inPkts, inBytes, outPkts, outBytes);
      creditStats(d.svc.stats, inPkts, inBytes, outPkts, outBytes);
      creditStats(this.rules.total, inPkts, inBytes, outPkts, outBytes);
    }
    t.setInPkts(i, t.inPktsOf(i) + inPkts);
    if (outPkts > 0) {
      t.setFlags(i, t.flagsOf(i) & ~IP_VS_CONN_F_NOOUTPUT);
      if (t.protoOf(i) === IPPROTO_UDP) this.assure(t, i);
    }
    const secs = stateTimeout(t.protoOf(i), t.stateOf(i), this.rules.timeouts);
    t.setTimeoutTicks(i, Math.ceil((secs * 1000) / TICK_MS));
    this.wheel(t).arm(i, this.nowTick + t.timeoutOf(i));
    if (inPkts > 0 && this.syncSink) this.syncConn(t, i, inPkts);
  }

  private schedulable(p: PacketInfo): boolean {
    if (p.protocol === IPPROTO_TCP) {
      return (p.ev & TCP_RST) === 0 && ((p.ev & TCP_SYN) !== 0 || this.sysctls.sloppyTcp);
    }
    if (p.protocol === IPPROTO_SCTP) {
      return p.ev === SCTP_EV_INIT || (this.sysctls.sloppySctp && p.ev !== SCTP_EV_ABORT);
    }
    return p.protocol === IPPROTO_UDP;
  }

  /** conn_reuse_mode and the quiesced-dest rule for a SYN/INIT hitting an existing conn (§2.6). */
  private mayReschedule(t: ConnTable, i: number): boolean {
    const d = this.rules.destById(t.destOf(i));
    if (this.sysctls.expireNodestConn && d && d.weight === 0) return true;
    const mode = this.sysctls.connReuseMode;
    if (mode === 0 || t.controlOf(i) >= 0 || t.nControlOf(i) > 0) return false;
    const s = t.stateOf(i);
    if (t.protoOf(i) === IPPROTO_TCP) {
      if (s === TCP_S_TIME_WAIT || s === TCP_S_CLOSE) return true;
      return (mode & 2) !== 0 && s === TCP_S_FIN_WAIT && (t.flagsOf(i) & IP_VS_CONN_F_NOOUTPUT) !== 0;
    }
    if (t.protoOf(i) === IPPROTO_SCTP) return s === SCTP_S_CLOSED;
    return false;
  }

  // --- scheduling (ip_vs_schedule, ip_vs_sched_persist) --------------------------------------

  /**
   * Schedules a new conn of `svc` for the packet's client: persistence template first when the
   * service is persistent. Counts `conns`. Returns the ref or VERDICT_NO_DEST.
   */
  schedule(svc: Service, p: PacketInfo, now: number): number {
    this.setNow(now);
    if (this.defence && !this.defence.admit(this.connCount())) return VERDICT_DROP;
    const t = this.tableFor(p.af);
    const udpOps = svc.onePacket && p.protocol === IPPROTO_UDP ? IP_VS_CONN_F_ONE_PACKET : 0;
    let dest: Dest | null;
    let tpl = -1;
    if (svc.persistent) {
      const r = this.persistTemplate(t, svc, p, now);
      if (r < 0) return VERDICT_NO_DEST;
      tpl = r;
      dest = this.rules.destById(t.destOf(tpl)) ?? null;
      if (!dest) return VERDICT_NO_DEST;
    } else {
      if (svc.fwmark === 0 && p.dport !== svc.port) return VERDICT_NO_DEST; // port zero needs -p
      dest = svc.sched ? svc.sched.schedule(this.schedPacket(p), now) : null;
      if (!dest) return VERDICT_NO_DEST;
    }
    return this.bindNew(t, svc, dest, p, tpl, udpOps);
  }

  /**
   * A new conn of `svc` to a dest chosen outside the core, from its scheduler's plan (a proxy
   * worker's pick); as schedule() from there on. Not for persistent services, whose picks
   * go through their templates. Returns the ref, or VERDICT_NO_DEST when `dest` no longer
   * belongs to the service or `svc` is persistent.
   */
  adopt(svc: Service, dest: Dest, p: PacketInfo, now: number): number {
    this.setNow(now);
    if (svc.persistent || dest.svc !== svc || !dest.available) return VERDICT_NO_DEST;
    if (svc.fwmark === 0 && p.dport !== svc.port) return VERDICT_NO_DEST;
    if (this.defence && !this.defence.admit(this.connCount())) return VERDICT_DROP;
    const udpOps = svc.onePacket && p.protocol === IPPROTO_UDP ? IP_VS_CONN_F_ONE_PACKET : 0;
    return this.bindNew(this.tableFor(p.af), svc, dest, p, -1, udpOps);
  }

  /** ip_vs_conn_new for a scheduled dest, under its template `tpl` (-1: none); counts conns. */
  private bindNew(t: ConnTable, svc: Service, dest: Dest, p: PacketInfo, tpl: number, udpOps: number): number {
    let dport = p.dport;
    if (svc.persistent) {
      if (p.dport === svc.port && dest.port !== 0) dport = dest.port;
    } else if (dest.port !== 0) dport = dest.port;
    let local: LocalAddr | null = null;
    if (dest.fwd === IP_VS_CONN_F_FULLNAT && svc.laddrs.length > 0) {
      local = this.laddrs.alloc(t, p.protocol, svc, dest, dport);
      if (!local) return VERDICT_NO_LPORT;
    }
    const i = this.newConn(t, p.protocol, p.saddr, p.sport, p.daddr, p.dport, dest, dport, udpOps, local);
    if (tpl >= 0) {
      t.setControl(i, tpl);
      // Releasing the template re-arms it with its own timeout (§2.2 step 5).
      this.wheel(t).arm(tpl, this.nowTick + t.timeoutOf(tpl));
    }
    dest.stats.addConn();
    svc.stats.addConn();
    this.rules.total.addConn();
    return this.ref(t, i);
  }

  /** Finds or creates the persistence template for the packet; returns its slot or -1. */
  private persistTemplate(t: ConnTable, svc: Service, p: PacketInfo, now: number): number {
    const snet = this.tmp;
    this.clientNet(svc, p, snet);
    let proto = p.protocol;
    let vport = 0;
    const vaddr = this.tmp2;
    vaddr.set(p.daddr);
    if (p.dport === svc.port) {
      if (svc.port !== IPPORT_FTP) vport = p.dport;
    } else if (svc.fwmark !== 0) {
      proto = IPPROTO_IP;
      vaddr.fill(0);
      vaddr[0] = svc.fwmark;
    }
    let ct = t.lookupIn(proto, snet, 0, 0, vaddr, 0, vport, true);
    if (ct >= 0 && !this.templateValid(t, ct)) {
      this.invalidateTemplate(t, ct);
      ct = -1;
    }
    if (ct >= 0) return ct;
    const dest = svc.sched ? svc.sched.schedule(this.schedPacket(p), now) : null;
    if (!dest) return -1;
    const dport = p.dport === svc.port && svc.port !== IPPORT_FTP ? dest.port : 0;
    ct = this.newConn(t, proto, snet, 0, vaddr, vport, dest, dport, IP_VS_CONN_F_TEMPLATE, null);
    t.setTimeoutTicks(ct, Math.ceil((svc.timeout * 1000) / TICK_MS));
    return ct;
  }

  /** snet = client address & netmask (IPv4 mask, IPv6 prefix length). */
  private clientNet(svc: Service, p: PacketInfo, out: Uint32Array): void {
    if (p.af === AF_INET) {
      out[0] = (p.saddr[0]! & svc.netmask) >>> 0;
      return;
    }
    for (let k = 0; k < 4; k++) {
      const bits = svc.netmask - 32 * k;
      const m = bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (~0 << (32 - bits)) >>> 0;
      out[k] = (p.saddr[k]! & m) >>> 0;
    }
  }

  /** ip_vs_check_template. */
  private templateValid(t: ConnTable, ct: number): boolean {
    const d = this.rules.destById(t.destOf(ct));
    if (!d?.available) return false;
    if (this.sysctls.expireQuiescentTemplate && d.weight === 0) return false;
    return true;
  }

  /** An invalid template never matches again; it goes when its timer fires without children. */
  private invalidateTemplate(t: ConnTable, ct: number): void {
    t.unhash(ct);
    t.setPorts(ct, 0, 0xffff);
    t.setDport(ct, 0xffff);
    t.hash(ct, false);
  }

  private schedPacket(p: PacketInfo): SchedPacket {
    return this.schedView.of(p);
  }

  // --- conn life -------------------------------------------------------------------------------

  /**
   * ip_vs_conn_new + ip_vs_bind_dest: state NONE, 3 s until the first transition. `local` is a
   * FULLNAT conn's local address and port (from the allocator); other conns keep the client's.
   */
  private newConn(
    t: ConnTable,
    proto: number,
    c: ArrayLike<number>,
    cport: number,
    v: ArrayLike<number>,
    vport: number,
    dest: Dest,
    dport: number,
    flags: number,
    local: LocalAddr | null,
  ): number {
    const i = t.alloc();
    const w = t.w;
    t.setKey(i, proto, c, cport, v, vport, (flags & IP_VS_CONN_F_TEMPLATE) !== 0);
    const da = this.tmpD;
    const sameAf = dest.af === (w === 1 ? AF_INET : AF_INET6);
    for (let k = 0; k < w; k++) da[k] = sameAf ? dest.addr.word(k) : 0;
    t.setDaddr(i, da);
    t.setDport(i, dport);
    let connFlags = dest.connFlags;
    if (proto !== IPPROTO_UDP) connFlags &= ~IP_VS_CONN_F_ONE_PACKET;
    t.setFlags(i, CONN_F_USED | flags | connFlags);
    t.setDest(i, dest.id);
    dest.refcnt++;
    if (flags & IP_VS_CONN_F_TEMPLATE) dest.persistConns++;
    else if (t.flagsOf(i) & IP_VS_CONN_F_INACTIVE) dest.inactConns++;
    else dest.activeConns++;
    dest.checkUpperThreshold();
    // Only a FULLNAT conn has a local pair of its own, and a second index entry under it.
    const fullnat = t.hasLocal(i);
    if (fullnat) {
      t.setAddr(t.laddr, i, local ? local.laddr : c);
      t.lport[i] = local ? local.lport : cport;
    }
    if ((flags & IP_VS_CONN_F_ONE_PACKET) === 0) t.hash(i, fullnat);
    t.setTimeoutTicks(i, CONN_INITIAL_TIMEOUT_MS / TICK_MS);
    this.wheel(t).arm(i, this.nowTick + t.timeoutOf(i));
    return i;
  }

  private accountIn(t: ConnTable, i: number, ev: number, bytes: number): void {
    const d = this.rules.destById(t.destOf(i));
    if (d?.available) {
      d.stats.addIn(bytes);
      d.svc.stats.addIn(bytes);
      this.rules.total.addIn(bytes);
    }
    const f = t.flagsOf(i);
    const dir = f & IP_VS_CONN_F_NOOUTPUT ? DIR_INPUT_ONLY : DIR_INPUT;
    this.transition(t, i, d, dir, ev);
    t.setInPkts(i, t.inPktsOf(i) + 1);
  }

  private accountOut(t: ConnTable, i: number, ev: number, bytes: number): void {
    const d = this.rules.destById(t.destOf(i));
    if (d?.available) {
      d.stats.addOut(bytes);
      d.svc.stats.addOut(bytes);
      this.rules.total.addOut(bytes);
    }
    t.setFlags(i, t.flagsOf(i) & ~IP_VS_CONN_F_NOOUTPUT);
    this.transition(t, i, d, DIR_OUTPUT, ev);
    if (t.protoOf(i) === IPPROTO_UDP) this.assure(t, i);
  }

  /** State transition, active/inactive accounting, timeout from the table, timer re-armed. */
  private transition(t: ConnTable, i: number, d: Dest | undefined, dir: number, ev: number): void {
    const proto = t.protoOf(i);
    const old = t.stateOf(i);
    const ns = stateTransition(proto, old, dir, ev, this.sysctls.secureTcp);
    if (ns !== old && proto !== IPPROTO_UDP) {
      const f = t.flagsOf(i);
      if (d) {
        if ((f & IP_VS_CONN_F_INACTIVE) === 0 && !isActiveState(proto, ns)) {
          d.activeConns--;
          d.inactConns++;
          t.setFlags(i, f | IP_VS_CONN_F_INACTIVE);
        } else if (f & IP_VS_CONN_F_INACTIVE && isActiveState(proto, ns)) {
          d.activeConns++;
          d.inactConns--;
          t.setFlags(i, f & ~IP_VS_CONN_F_INACTIVE);
        }
      }
      if (isEstablished(proto, ns)) this.assure(t, i);
      t.setState(i, ns);
    }
    const secs = stateTimeout(proto, t.stateOf(i), this.rules.timeouts);
    t.setTimeoutTicks(i, Math.ceil((secs * 1000) / TICK_MS));
    this.wheel(t).arm(i, this.nowTick + t.timeoutOf(i));
  }

  /** Marks the controlling template ASSURED (state 1). */
  private assure(t: ConnTable, i: number): void {
    const c = t.controlOf(i);
    if (c >= 0 && t.flagsOf(c) & IP_VS_CONN_F_TEMPLATE) t.setState(c, TEMPLATE_ASSURED);
  }

  /** ip_vs_conn_expire: defer 60 s while controlling others, else unlink, unbind and free. */
  protected expire(t: ConnTable, i: number): void {
    if (t.nControlOf(i) > 0) {
      t.setTimeoutTicks(i, CONTROLLING_RETRY_MS / TICK_MS);
      this.wheel(t).arm(i, this.nowTick + t.timeoutOf(i));
      return;
    }
    this.wheel(t).unfile(i);
    t.unhash(i);
    t.setControl(i, -1);
    const d = this.rules.destById(t.destOf(i));
    const f = t.flagsOf(i);
    if (d) {
      if (f & IP_VS_CONN_F_TEMPLATE) d.persistConns--;
      else if (f & IP_VS_CONN_F_INACTIVE) d.inactConns--;
      else d.activeConns--;
      d.checkLowerThreshold();
      d.refcnt--;
    }
    const ref = this.ref(t, i);
    t.free(i);
    if ((f & IP_VS_CONN_F_TEMPLATE) === 0) for (const h of this.expireHooks) h(ref);
  }

  /** Removes a conn at once (engines: the proxy closed it, or a test). */
  drop(ref: number): void {
    const t = this.table(ref);
    const i = slotOf(ref);
    if (t.used(i)) this.expire(t, i);
  }

  private freeOps(): void {
    if (this.opsPending >= 0) {
      const r = this.opsPending;
      this.opsPending = -1;
      this.drop(r);
    }
  }

  // --- timers --------------------------------------------------------------------------------

  /** Expires conns, runs the 2 s estimator, scheduler GC and the 60 s trash sweep. */
  tick(now: number): void {
    this.setNow(now);
    this.freeOps();
    this.w4.advance(this.nowTick, (i) => this.expire(this.t4, i));
    this.w6.advance(this.nowTick, (i) => this.expire(this.t6, i));
    while (now >= this.nextEst) {
      this.nextEst += EST_PERIOD_MS;
      if (!this.sysctls.runEstimation) continue;
      estimate(this.rules.total);
      for (const svc of this.rules.services()) {
        estimate(svc.stats);
        for (const d of svc.dests) estimate(d.stats);
      }
    }
    for (const svc of this.rules.services()) svc.sched?.tick?.(now);
    if (now >= this.nextTrash) {
      this.nextTrash = now + DEST_TRASH_PERIOD_MS;
      this.rules.expireTrash(now);
    }
  }

  /**
   * The defences' second (defence.ts): evaluates memory, switches secure_tcp, and lets
   * drop_entry expire what it picks among tab_size/32 random slots of each table.
   */
  defenceTick(sysAvailBytes: number, random: () => number): void {
    const d = this.defence;
    if (!d) return;
    d.update(this.connCount(), sysAvailBytes);
    this.sysctls.secureTcp = d.secureTcpActive;
    for (const t of [this.t4, this.t6]) {
      const end = t.end();
      for (let n = d.scanCount(t.cap); n > 0 && end > 0; n--) {
        const i = Math.floor(random() * end);
        if (t.used(i) && d.shouldDrop(t, i, this.nowTick)) {
          this.expire(t, i);
          d.counters.drop_entry++;
        }
      }
    }
  }
}

function creditStats(s: Stats, inPkts: number, inBytes: number, outPkts: number, outBytes: number): void {
  if (inPkts > 0) s.addInN(inPkts, inBytes);
  if (outPkts > 0) s.addOutN(outPkts, outBytes);
}

/** A PacketInfo for an IPv4 packet, for tests and simple callers. */
export function packet4(proto: number, saddr: string, sport: number, daddr: string, dport: number, ev = 0, len = 60): PacketInfo {
  const p = new PacketInfo();
  p.setV4(proto, Addr.parse4(saddr)!.w0, sport, Addr.parse4(daddr)!.w0, dport);
  p.ev = ev;
  p.len = len;
  return p;
}
