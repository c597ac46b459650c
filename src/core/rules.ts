// The rule store of one IPVS instance (one network namespace): services, their dests, the dest
// trash, timeouts and sync-daemon settings, with the kernel's validation and error precedence.
// Spec: docs/spec/ipvs-kernel.md §2.5, §2.9, §3.5; docs/spec/ipvsadm.md §4, §5.

import {
  AF_INET,
  AF_INET6,
  type Af,
  DEFAULT_TCP_TIMEOUT,
  DEFAULT_TCPFIN_TIMEOUT,
  DEFAULT_UDP_TIMEOUT,
  IP_VS_CONN_F_TUNNEL,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE,
  IP_VS_DEST_F_AVAILABLE,
  IP_VS_DEST_TRASH_PERIOD,
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT,
  IP_VS_SVC_F_SCHED_MASK,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPVS_MAX_TIMEOUT_KERNEL,
} from './constants.js';
import { Dest, type DestSpec } from './dest.js';
import { IpvsError } from './errors.js';
import { Addr } from './inet.js';
import type { SchedEnv, SchedulerOps } from './sched/types.js';
import { Service, type ServiceKey, type ServiceSpec, serviceKeyString } from './service.js';
import { Stats } from './stats.js';

/** Persistence engines the kernel knows. */
const KNOWN_PES = new Set(['sip']);

export interface Timeouts {
  tcp: number;
  tcpfin: number;
  udp: number;
}

export interface SyncDaemonConfig {
  state: 'master' | 'backup';
  ifname: string;
  syncid: number;
  maxlen: number;
  group: Addr;
  port: number;
  ttl: number;
}

export type SchedulerLookup = (name: string) => SchedulerOps | undefined;

/** Notified after every successful change, so engines can follow the rules. */
export interface RulesListener {
  /**
   * A service's scheduler or dests are about to change (`-E`, `-a`, `-e`, `-d`), once the
   * change is known to be valid: an engine that picks from a scheduler's plan brings the
   * scheduler up to date first.
   */
  beforeChange?(svc: Service): void;
  serviceAdded?(svc: Service): void;
  serviceEdited?(svc: Service): void;
  serviceDeleted?(svc: Service): void;
  destAdded?(svc: Service, dest: Dest): void;
  destEdited?(svc: Service, dest: Dest): void;
  destDeleted?(svc: Service, dest: Dest): void;
  /** A deleted dest left the trash: no conn holds it any more and none will. */
  destFreed?(dest: Dest): void;
}

export class Rules {
  private readonly byKey = new Map<string, Service>();
  /** Insertion order; the `--nosort` order tsvs documents. */
  private readonly list: Service[] = [];
  private nextServiceId = 1;
  private readonly destSlots: (Dest | undefined)[] = [];
  private readonly freeDestIds: number[] = [];
  private readonly trash: Dest[] = [];
  /** Idle start (ms) of unreferenced trash entries. */
  private readonly trashIdle = new Map<Dest, number>();
  private fwmarkCount = 0;
  private portZeroCount = 0;
  /**
   * The last IPv4 lookup4() and its answer (null included), valid while `gen` is 0: a service
   * added or deleted sets it to -1. A flood or a busy VIP asks the same question for every
   * new conn; the answer then costs four compares and allocates nothing.
   */
  private readonly v4Cache = { gen: -1, protocol: 0, vaddr: 0, vport: 0, fwmark: 0, svc: null as Service | null };
  readonly total = new Stats();
  timeouts: Timeouts = {
    tcp: DEFAULT_TCP_TIMEOUT,
    tcpfin: DEFAULT_TCPFIN_TIMEOUT,
    udp: DEFAULT_UDP_TIMEOUT,
  };
  master: SyncDaemonConfig | null = null;
  backup: SyncDaemonConfig | null = null;
  readonly listeners: RulesListener[] = [];

  constructor(
    private readonly lookupScheduler: SchedulerLookup,
    readonly env: SchedEnv,
  ) {}

  // --- queries -------------------------------------------------------------------------------

  services(): readonly Service[] {
    return this.list;
  }

  get serviceCount(): number {
    return this.list.length;
  }

  findService(key: ServiceKey): Service | undefined {
    return this.byKey.get(serviceKeyString(normalizeKey(key)));
  }

  /** A dest by registry id, including dests in the trash. */
  destById(id: number): Dest | undefined {
    return this.destSlots[id];
  }

  /**
   * Service lookup for a packet (ip_vs_service_find, §7.3): fwmark first, then the exact
   * <proto, vaddr, vport>, then the port-zero catch-all.
   */
  lookup(af: Af, protocol: number, vaddr: Addr, vport: number, fwmark: number): Service | null {
    if (fwmark !== 0 && this.fwmarkCount > 0) {
      const s = this.byKey.get(`f${af}:${fwmark}`);
      if (s) return s;
    }
    const k = `s${protocol}:${vaddr.key()}:`;
    const s = this.byKey.get(k + vport);
    if (s) return s;
    if (this.portZeroCount > 0) return this.byKey.get(`${k}0`) ?? null;
    return null;
  }

  /** lookup() for an IPv4 packet, its address as a host-order word; allocates nothing on a repeat. */
  lookup4(protocol: number, vaddr: number, vport: number, fwmark: number): Service | null {
    const c = this.v4Cache;
    if (c.gen === 0 && c.vaddr === vaddr && c.vport === vport && c.protocol === protocol && c.fwmark === fwmark) return c.svc;
    const svc = this.lookup(AF_INET, protocol, Addr.v4(vaddr), vport, fwmark);
    c.gen = 0;
    c.protocol = protocol;
    c.vaddr = vaddr;
    c.vport = vport;
    c.fwmark = fwmark;
    c.svc = svc;
    return svc;
  }

  // --- services ------------------------------------------------------------------------------

  /** `-A`. Errors: EEXIST before ENOENT (scheduler/pe), then EINVAL (IPv6 prefix). */
  addService(spec: ServiceSpec, now: number): Service {
    const key = normalizeKey(spec);
    const ks = serviceKeyString(key);
    if (this.byKey.has(ks)) throw new IpvsError('EEXIST', `service ${ks}`);
    this.checkServiceSpec(spec);
    const svc = new Service(this.nextServiceId++, key);
    this.applyServiceSpec(svc, spec, now);
    this.byKey.set(ks, svc);
    this.v4Cache.gen = -1;
    this.list.push(svc);
    if (svc.fwmark !== 0) this.fwmarkCount++;
    else if (svc.port === 0) this.portZeroCount++;
    for (const l of this.listeners) l.serviceAdded?.(svc);
    return svc;
  }

  /** `-E`: replaces scheduler, flags, timeout, netmask, pe. ESRCH first. */
  editService(spec: ServiceSpec, now: number): Service {
    const svc = this.findService(spec);
    if (!svc) throw new IpvsError('ESRCH');
    this.checkServiceSpec(spec);
    for (const l of this.listeners) l.beforeChange?.(svc);
    this.applyServiceSpec(svc, spec, now);
    for (const l of this.listeners) l.serviceEdited?.(svc);
    return svc;
  }

  /** `-D`: the service and its dests go; the dests wait in the trash. */
  delService(key: ServiceKey, now: number): void {
    const svc = this.findService(key);
    if (!svc) throw new IpvsError('ESRCH');
    this.unlinkService(svc, now);
  }

  /** `-C`. */
  flush(now: number): void {
    for (const svc of [...this.list]) this.unlinkService(svc, now);
  }

  /** `-Z` for one service (ESRCH if missing) or, with no key, every service and the total. */
  zero(key: ServiceKey | null): void {
    if (key) {
      const svc = this.findService(key);
      if (!svc) throw new IpvsError('ESRCH');
      zeroService(svc);
      return;
    }
    for (const svc of this.list) zeroService(svc);
    this.total.zeroStats();
  }

  private checkServiceSpec(spec: ServiceSpec): void {
    if (spec.schedName !== 'none' && !this.lookupScheduler(spec.schedName)) {
      throw new IpvsError('ENOENT', `scheduler ${spec.schedName}`);
    }
    if (spec.peName !== '' && !KNOWN_PES.has(spec.peName)) {
      throw new IpvsError('ENOENT', `persistence engine ${spec.peName}`);
    }
    if (spec.af === AF_INET6 && (spec.netmask < 1 || spec.netmask > 128)) {
      throw new IpvsError('EINVAL', `IPv6 prefix length ${spec.netmask}`);
    }
    const p = spec.fwmark !== 0 ? IPPROTO_TCP : spec.protocol;
    if (p !== IPPROTO_TCP && p !== IPPROTO_UDP && p !== IPPROTO_SCTP) {
      throw new IpvsError('EINVAL', `protocol ${spec.protocol}`);
    }
  }

  private applyServiceSpec(svc: Service, spec: ServiceSpec, now: number): void {
    const name = spec.schedName;
    if (name !== svc.schedName) {
      svc.sched?.done?.();
      svc.sched = null;
      svc.schedName = name;
    }
    svc.flags = spec.flags & (IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_SCHED_MASK);
    svc.timeout = spec.timeout;
    svc.netmask = spec.netmask;
    svc.peName = spec.peName;
    if (spec.laddrs) svc.laddrs = [...spec.laddrs];
    if (!svc.sched && name !== 'none') {
      const ops = this.lookupScheduler(name)!;
      svc.sched = ops.create(svc, this.env, now);
    }
  }

  private unlinkService(svc: Service, now: number): void {
    for (const l of this.listeners) l.serviceDeleted?.(svc);
    svc.sched?.done?.();
    svc.sched = null;
    for (const d of [...svc.dests]) this.moveToTrash(svc, d, now);
    svc.dests.length = 0;
    this.byKey.delete(svc.key);
    this.v4Cache.gen = -1;
    this.list.splice(this.list.indexOf(svc), 1);
    if (svc.fwmark !== 0) this.fwmarkCount--;
    else if (svc.port === 0) this.portZeroCount--;
  }

  // --- dests ---------------------------------------------------------------------------------

  /** `-a`. ESRCH, then EINVAL (family), ERANGE (thresholds), EINVAL (gue port), EEXIST, EINVAL. */
  addDest(key: ServiceKey, spec: DestSpec, now: number): Dest {
    const svc = this.findService(key);
    if (!svc) throw new IpvsError('ESRCH');
    this.checkDestSpec(svc, spec);
    if (svc.findDest(spec.addr, spec.port)) throw new IpvsError('EEXIST');
    if (!spec.addr.isUnicast()) throw new IpvsError('EINVAL', `${spec.addr} is not unicast`);
    for (const l of this.listeners) l.beforeChange?.(svc);
    let dest = this.takeFromTrash(svc, spec.addr, spec.port);
    if (dest) {
      if (dest.svc !== svc) {
        dest.stats.zeroStats();
        dest.svc = svc;
      }
    } else {
      const id = this.freeDestIds.pop() ?? this.destSlots.length;
      dest = new Dest(id, svc, spec);
      this.destSlots[id] = dest;
    }
    dest.update(spec, true);
    dest.flags |= IP_VS_DEST_F_AVAILABLE;
    dest.trashedAt = -1;
    svc.dests.unshift(dest);
    try {
      svc.sched?.addDest(dest);
    } catch (e) {
      // The scheduler refused the new dest (mh: more dests than table slots): undo.
      svc.dests.shift();
      this.moveToTrash(svc, dest, now);
      svc.sched?.delDest(dest, 0);
      throw e;
    }
    for (const l of this.listeners) l.destAdded?.(svc, dest);
    return dest;
  }

  /** `-e`: replaces every dest setting; keeps its place in the list. */
  editDest(key: ServiceKey, spec: DestSpec): Dest {
    const svc = this.findService(key);
    if (!svc) throw new IpvsError('ESRCH');
    this.checkDestSpec(svc, spec);
    const dest = svc.findDest(spec.addr, spec.port);
    if (!dest) throw new IpvsError('ENOENT');
    for (const l of this.listeners) l.beforeChange?.(svc);
    dest.update(spec, false);
    svc.sched?.updDest(dest);
    for (const l of this.listeners) l.destEdited?.(svc, dest);
    return dest;
  }

  /** `-d`. */
  delDest(key: ServiceKey, addr: Addr, port: number, now: number): void {
    const svc = this.findService(key);
    if (!svc) throw new IpvsError('ESRCH');
    const dest = svc.findDest(addr, port);
    if (!dest) throw new IpvsError('ENOENT');
    for (const l of this.listeners) l.beforeChange?.(svc);
    const index = svc.dests.indexOf(dest);
    svc.dests.splice(index, 1);
    for (const l of this.listeners) l.destDeleted?.(svc, dest);
    svc.sched?.delDest(dest, index);
    this.moveToTrash(svc, dest, now);
  }

  private checkDestSpec(svc: Service, spec: DestSpec): void {
    const af = spec.addr.af;
    if (af !== svc.af) {
      if ((spec.fwd & 7) !== IP_VS_CONN_F_TUNNEL) {
        throw new IpvsError('EINVAL', 'mixed address families need tunnel forwarding');
      }
      if (this.master || this.backup) {
        throw new IpvsError('EINVAL', 'mixed address families while a sync daemon runs');
      }
    }
    if (spec.weight < 0) throw new IpvsError('ERANGE', `weight ${spec.weight}`);
    if (spec.lThreshold > spec.uThreshold) {
      throw new IpvsError('ERANGE', `l_threshold ${spec.lThreshold} > u_threshold ${spec.uThreshold}`);
    }
    if ((spec.fwd & 7) === IP_VS_CONN_F_TUNNEL && spec.tunType === IP_VS_CONN_F_TUNNEL_TYPE_GUE && spec.tunPort === 0) {
      throw new IpvsError('EINVAL', 'gue tunnel without a port');
    }
  }

  private moveToTrash(svc: Service, dest: Dest, now: number): void {
    void svc;
    dest.flags &= ~IP_VS_DEST_F_AVAILABLE;
    dest.trashedAt = now;
    this.trash.push(dest);
    this.trashIdle.delete(dest);
  }

  private takeFromTrash(svc: Service, addr: Addr, port: number): Dest | undefined {
    for (let i = 0; i < this.trash.length; i++) {
      const d = this.trash[i]!;
      const s = d.svc;
      if (!d.matches(addr, port) || s.af !== svc.af || s.fwmark !== svc.fwmark) continue;
      if (svc.fwmark === 0 && (s.protocol !== svc.protocol || s.port !== svc.port)) continue;
      if (svc.fwmark === 0 && !s.addr.equals(svc.addr)) continue;
      this.trash.splice(i, 1);
      this.trashIdle.delete(d);
      return d;
    }
    return undefined;
  }

  /** Frees trash entries unreferenced for IP_VS_DEST_TRASH_PERIOD; call every 60 s. */
  expireTrash(now: number): void {
    for (let i = this.trash.length - 1; i >= 0; i--) {
      const d = this.trash[i]!;
      if (d.refcnt > 0) {
        this.trashIdle.delete(d);
        continue;
      }
      const idle = this.trashIdle.get(d);
      if (idle === undefined) {
        this.trashIdle.set(d, now);
        continue;
      }
      if (now < idle + IP_VS_DEST_TRASH_PERIOD * 1000) continue;
      this.trash.splice(i, 1);
      this.trashIdle.delete(d);
      this.destSlots[d.id] = undefined;
      this.freeDestIds.push(d.id);
      for (const l of this.listeners) l.destFreed?.(d);
    }
  }

  trashSize(): number {
    return this.trash.length;
  }

  /** Deleted dests not freed yet: their conns still live, and so do those conns' replies. */
  trashed(): readonly Dest[] {
    return this.trash;
  }

  // --- timeouts and daemons ------------------------------------------------------------------

  /** `--set tcp tcpfin udp`: 0 keeps a value; negative or above INT_MAX/HZ is EINVAL. */
  setTimeouts(t: Timeouts): void {
    for (const v of [t.tcp, t.tcpfin, t.udp]) {
      if (v < 0 || v > IPVS_MAX_TIMEOUT_KERNEL) throw new IpvsError('EINVAL', `timeout ${v}`);
    }
    if (t.tcp) this.timeouts.tcp = t.tcp;
    if (t.tcpfin) this.timeouts.tcpfin = t.tcpfin;
    if (t.udp) this.timeouts.udp = t.udp;
  }

  /** `--start-daemon`: EEXIST if that state runs; EINVAL with mixed-family dests. */
  startDaemon(cfg: SyncDaemonConfig): void {
    if ((cfg.state === 'master' ? this.master : this.backup) !== null) {
      throw new IpvsError('EEXIST');
    }
    for (const svc of this.list) {
      for (const d of svc.dests) {
        if (d.af !== svc.af) throw new IpvsError('EINVAL', 'mixed-family dests');
      }
    }
    if (cfg.state === 'master') this.master = cfg;
    else this.backup = cfg;
  }

  /** `--stop-daemon`: ESRCH if that state is not running. */
  stopDaemon(state: 'master' | 'backup'): void {
    if ((state === 'master' ? this.master : this.backup) === null) throw new IpvsError('ESRCH');
    if (state === 'master') this.master = null;
    else this.backup = null;
  }
}

function normalizeKey(k: ServiceKey): ServiceKey {
  return k.fwmark !== 0 ? { ...k, protocol: IPPROTO_TCP } : k;
}

function zeroService(svc: Service): void {
  svc.stats.zeroStats();
  for (const d of svc.dests) d.stats.zeroStats();
}
