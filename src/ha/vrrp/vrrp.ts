// The VRRP side of `tsvs keepalived`: instances' state machines (fsm.ts) driven by real time,
// adverts on raw sockets (link.ts), VIPs through iproute2 (vips.ts), GARP/NA (announce.ts),
// tracked scripts and interfaces (track.ts), notify scripts and sync groups. One poll timer reads
// the sockets and fires the machines' deadlines.

import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { Addr } from '../../core/inet.js';
import { Announcer, ifaceMac } from './announce.js';
import type { NotifyConfig, VipConfig, VrrpConfig, VrrpInstanceConfig, VrrpScriptConfig, VrrpSyncGroupConfig } from './config.js';
import { LINK_POLL_MS, VRRP_POLL_MS } from './constants.js';
import { type FsmAction, VrrpFsm, type VrrpState } from './fsm.js';
import { MCAST4, MCAST6, VrrpLink } from './link.js';
import { sys } from './sys.js';
import { AUTH_NONE, AUTH_PASS, encodeAdvert, passAuthData } from './packet.js';
import { judgeAdvert, type RxPacket, type VrrpRxDrop } from './rx.js';
import { ScriptTracker, linkUp, weightEffect } from './track.js';
import { addVips, delVips } from './vips.js';

export type { VrrpRxDrop } from './rx.js';

export type VrrpLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface VrrpHost {
  log(level: VrrpLogLevel, msg: string, fields?: Record<string, unknown>): void;
  /** Milliseconds, monotonic enough for timers. */
  now(): number;
  /** Tells the director which VIPs VRRP moves, so that its engine never claims them itself. */
  vrrpVips?(addrs: string[]): Promise<void>;
}

export interface VrrpInstanceStatus {
  name: string;
  state: 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';
  priority: number;
  effectivePriority: number;
  masterAddr: string | null;
  lastTransition: { at: number; from: string; to: string; why: string } | null;
}

/** What an instance is elected by: a change of any of these restarts it on reload. */
function electionKey(c: VrrpInstanceConfig): string {
  const { vips: _v, notify: _n, garpMasterDelayS: _d, garpMasterRepeat: _r, file: _f, line: _l, ...rest } = c;
  return JSON.stringify(rest, (_k, v: unknown) => (v instanceof Addr ? v.toString() : v));
}

const vipKey = (v: VipConfig) => `${v.addr.toString()}/${v.plen} ${v.dev} ${v.label ?? ''} ${v.scope ?? ''} ${v.excluded}`;

class Instance {
  fsm: VrrpFsm;
  lastTransition: VrrpInstanceStatus['lastTransition'] = null;
  /** VIP changes and announcements, one after the other. */
  ops: Promise<void> = Promise.resolve();
  garpTimer: NodeJS.Timeout | null = null;
  src: Uint8Array;
  mac: Uint8Array;
  group: VrrpSyncGroupConfig | null = null;

  constructor(
    public cfg: VrrpInstanceConfig,
    readonly link: VrrpLink,
  ) {
    this.src = cfg.srcIp ? cfg.srcIp.toBytes() : ownAddress(cfg.iface, cfg.family);
    this.mac = ifaceMac(cfg.iface);
    this.fsm = new VrrpFsm({
      version: cfg.version,
      priority: cfg.priority,
      intervalCs: cfg.intervalCs,
      initialMaster: cfg.initialMaster,
      preempt: cfg.preempt,
      preemptDelayMs: cfg.preemptDelayMs,
      myAddr: this.src,
    });
  }
}

/** The interface's primary IPv4 address, or its IPv6 link-local one (RFC 5798 §5.1.2.1). */
function ownAddress(iface: string, family: 4 | 6): Uint8Array {
  const list = networkInterfaces()[iface] ?? [];
  const a = family === 4 ? list.find((x) => x.family === 'IPv4') : list.find((x) => x.family === 'IPv6' && /^fe80:/i.test(x.address));
  if (!a) {
    const what = family === 4 ? 'an IPv4 address' : 'an IPv6 link-local address';
    throw new Error(`VRRP: ${iface} has no ${what} to send adverts from; add one or set unicast_src_ip`);
  }
  return Addr.parse(a.address.split('%')[0]!)!.toBytes();
}

function ifIndex(dev: string): number {
  const i = sys().ifNameToIndex(dev);
  if (i === 0) throw new Error(`interface ${dev} does not exist`);
  return i;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export class Vrrp {
  private instances: Instance[] = [];
  private links = new Map<string, VrrpLink>();
  private scripts = new Map<string, ScriptTracker>();
  private groupState = new Map<string, VrrpState>();
  private poll: NodeJS.Timeout | null = null;
  private linkPoll: NodeJS.Timeout | null = null;
  private lastLinkPoll = 0;
  private announcer = new Announcer();
  private listeners: ((s: VrrpInstanceStatus) => void)[] = [];
  private config: VrrpConfig | null = null;
  readonly drops = new Map<VrrpRxDrop, number>();

  constructor(private host: VrrpHost) {}

  onTransition(cb: (s: VrrpInstanceStatus) => void): void {
    this.listeners.push(cb);
  }

  async start(config: VrrpConfig): Promise<void> {
    this.config = config;
    for (const s of config.scripts) {
      const t = new ScriptTracker(s, () => this.trackChanged());
      this.scripts.set(s.name, t);
    }
    for (const cfg of config.instances) {
      const inst = this.tryMakeInstance(cfg, config);
      if (inst) this.instances.push(inst);
    }
    this.closeUnusedLinks();
    const now = this.host.now();
    for (const inst of this.instances) this.applyTracking(inst, now);
    for (const inst of this.instances) this.run(inst, (out) => inst.fsm.start(now, out));
    for (const t of this.scripts.values()) t.start();
    this.poll = setInterval(() => this.pollOnce(), VRRP_POLL_MS);
    await this.tellDirector(config);
  }

  private async tellDirector(config: VrrpConfig): Promise<void> {
    if (!this.host.vrrpVips) return;
    const addrs = [...new Set(config.instances.flatMap((i) => i.vips.map((v) => v.addr.toString())))];
    try {
      await this.host.vrrpVips(addrs);
    } catch (e) {
      this.host.log(
        'warn',
        `VRRP: could not tell the director which VIPs VRRP moves (${(e as Error).message}); its engine may answer ARP for them on a backup`,
      );
    }
  }

  /**
   * keepalived's reload (SIGHUP): an instance whose election settings did not change keeps its
   * state, with no advert of priority 0 and no VIP flap; a changed virtual_ipaddress list is
   * applied as a difference on a master. A vrrp_script that did not change keeps its result
   * (a script that is down stays down). Other instances restart.
   */
  async reload(config: VrrpConfig): Promise<void> {
    const scriptKey = (c: VrrpScriptConfig) => JSON.stringify(c);
    const oldScripts = new Map([...this.scripts].map(([name, t]) => [name, scriptKey(t.cfg)]));
    const keptScripts = new Set(config.scripts.filter((c) => oldScripts.get(c.name) === scriptKey(c)).map((c) => c.name));
    const wanted = new Map(config.instances.map((c) => [c.name, c]));
    const keep: Instance[] = [];
    const now = this.host.now();
    for (const inst of this.instances) {
      const cfg = wanted.get(inst.cfg.name);
      if (cfg && electionKey(cfg) === electionKey(inst.cfg) && cfg.trackScripts.every((t) => keptScripts.has(t.name))) {
        this.applyVipDiff(inst, cfg);
        keep.push(inst);
      } else await this.stopInstance(inst, now);
    }
    for (const [name, t] of this.scripts) {
      if (keptScripts.has(name)) continue;
      t.stop();
      this.scripts.delete(name);
    }
    for (const s of config.scripts) {
      if (!this.scripts.has(s.name)) this.scripts.set(s.name, new ScriptTracker(s, () => this.trackChanged()));
    }
    const fresh: Instance[] = [];
    for (const cfg of config.instances) {
      if (keep.some((i) => i.cfg.name === cfg.name)) continue;
      const inst = this.tryMakeInstance(cfg, config);
      if (inst) fresh.push(inst);
    }
    this.config = config;
    this.instances = [...keep, ...fresh];
    for (const inst of this.instances) inst.group = config.syncGroups.find((g) => g.members.includes(inst.cfg.name)) ?? null;
    for (const inst of fresh) this.applyTracking(inst, now);
    for (const inst of fresh) this.run(inst, (out) => inst.fsm.start(now, out));
    for (const [name, t] of this.scripts) if (!keptScripts.has(name)) t.start();
    this.closeUnusedLinks();
    await this.tellDirector(config);
  }

  /** A kept instance takes its new settings; a master adds and removes only the VIPs that changed. */
  private applyVipDiff(inst: Instance, cfg: VrrpInstanceConfig): void {
    const old = inst.cfg;
    inst.cfg = cfg;
    if (inst.fsm.state !== 'MASTER') return;
    const ids = (vs: VipConfig[]) => new Set(vs.map(vipKey));
    const was = ids(old.vips);
    const now = ids(cfg.vips);
    const gone = old.vips.filter((v) => !now.has(vipKey(v)));
    const added = cfg.vips.filter((v) => !was.has(vipKey(v)));
    if (gone.length === 0 && added.length === 0) return;
    this.host.log('info', `VRRP_Instance(${cfg.name}) reload: ${added.length} VIP(s) added, ${gone.length} removed, state kept (MASTER)`);
    inst.ops = inst.ops.then(async () => {
      const errs = [...(await delVips(gone)), ...(await addVips(added))];
      for (const e of errs) this.host.log('error', `VRRP_Instance(${cfg.name}): ${e}`);
      if (inst.fsm.state === 'MASTER' && added.length > 0) this.garp(inst, cfg.garpMasterRepeat, added);
    });
  }

  /** Priority 0 adverts from masters, VIPs removed, sockets closed. */
  async shutdown(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    for (const t of this.scripts.values()) t.stop();
    const now = this.host.now();
    for (const inst of this.instances) await this.stopInstance(inst, now);
    this.instances = [];
    this.closeUnusedLinks();
    this.announcer.close();
  }

  status(): VrrpInstanceStatus[] {
    return this.instances.map((i) => this.statusOf(i));
  }

  /** Counters for the operator: drops by reason, socket errors, announcements. */
  counters(): { drops: Record<string, number>; linkErrors: string[]; announced: number; announceFailed: number } {
    return {
      drops: Object.fromEntries(this.drops),
      linkErrors: [...this.links.values()].filter((l) => l.errors > 0).map((l) => `${l.errors} errors, last: ${l.lastError}`),
      announced: this.announcer.sent,
      announceFailed: this.announcer.failed,
    };
  }

  private statusOf(i: Instance): VrrpInstanceStatus {
    const m = i.fsm.masterAddr;
    return {
      name: i.cfg.name,
      state: i.fsm.state,
      priority: i.cfg.priority,
      effectivePriority: i.fsm.effectivePriority,
      masterAddr: m ? Addr.fromBytes(m, 0).toString() : null,
      lastTransition: i.lastTransition,
    };
  }

  /** An instance whose interface cannot be used is left out with a logged reason; the others run. */
  private tryMakeInstance(cfg: VrrpInstanceConfig, config: VrrpConfig): Instance | null {
    try {
      return this.makeInstance(cfg, config);
    } catch (e) {
      this.host.log('error', `VRRP_Instance(${cfg.name}) not started: ${(e as Error).message}`);
      return null;
    }
  }

  private makeInstance(cfg: VrrpInstanceConfig, config: VrrpConfig): Instance {
    const k = `${cfg.iface}/${cfg.family}`;
    let link = this.links.get(k);
    if (!link) {
      link = new VrrpLink(cfg.iface, cfg.family);
      this.links.set(k, link);
    }
    const inst = new Instance(cfg, link);
    inst.group = config.syncGroups.find((g) => g.members.includes(cfg.name)) ?? null;
    return inst;
  }

  private closeUnusedLinks(): void {
    for (const [k, l] of this.links) {
      if (!this.instances.some((i) => i.link === l)) {
        l.close();
        this.links.delete(k);
      }
    }
  }

  private async stopInstance(inst: Instance, now: number): Promise<void> {
    if (inst.garpTimer) clearTimeout(inst.garpTimer);
    inst.garpTimer = null;
    this.run(inst, (out) => inst.fsm.stop(now, out));
    await inst.ops;
  }

  private pollOnce(): void {
    for (const link of this.links.values())
      link.drain(
        (p) => this.received(link, p),
        (why) => this.drop(why),
      );
    const now = this.host.now();
    if (now - this.lastLinkPoll >= LINK_POLL_MS) {
      this.lastLinkPoll = now;
      for (const inst of this.instances) this.applyTracking(inst, now);
    }
    for (const inst of this.instances) {
      const d = inst.fsm.nextDeadline();
      if (d !== null && now >= d) this.run(inst, (out) => inst.fsm.tick(now, out));
    }
  }

  private drop(why: VrrpRxDrop): void {
    const n = (this.drops.get(why) ?? 0) + 1;
    this.drops.set(why, n);
    if (n === 1) this.host.log('warn', `VRRP: dropped an advert: ${why} (counted from now on in tsvs status --json)`);
  }

  private received(link: VrrpLink, p: RxPacket): void {
    // Our own adverts (multicast loop is off, but another instance of ours on the link may send).
    if (this.instances.some((i) => i.link === link && sameBytes(i.src, p.src))) return;
    const vrid = p.msg[1];
    const inst = this.instances.find((i) => i.link === link && i.cfg.vrid === vrid);
    if (!inst) {
      this.drop('unknown_vrid');
      return;
    }
    const r = judgeAdvert(inst.cfg, link.family, p);
    if (!r.ok) return this.drop(r.drop);
    const a = r.advert;
    const now = this.host.now();
    this.run(inst, (out) => inst.fsm.advert(now, { priority: a.priority, intervalCs: a.intervalCs, src: p.src }, out));
  }

  /** Interfaces and scripts → faults and effective priority of `inst`. */
  private applyTracking(inst: Instance, now: number): void {
    let delta = 0;
    const faults = new Map<string, boolean>();
    faults.set(`interface ${inst.cfg.iface}`, !linkUp(inst.cfg.iface));
    for (const t of inst.cfg.trackInterfaces) {
      const e = weightEffect(linkUp(t.name), t.weight);
      delta += e.delta;
      faults.set(`tracked interface ${t.name}`, e.fault);
    }
    for (const t of inst.cfg.trackScripts) {
      const tr = this.scripts.get(t.name);
      if (!tr) continue;
      const e = weightEffect(tr.up, t.weight ?? tr.cfg.weight);
      delta += e.delta;
      faults.set(`track_script ${t.name}`, e.fault);
    }
    inst.fsm.setEffectivePriority(inst.cfg.priority + delta);
    for (const [what, down] of faults) this.run(inst, (out) => inst.fsm.setFault(now, what, down, out, this.groupHeld(inst)));
  }

  /** Another member of `inst`'s sync group is in FAULT for a fault of its own. */
  private groupHeld(inst: Instance): boolean {
    const g = inst.group;
    return g !== null && this.instances.some((o) => o !== inst && g.members.includes(o.cfg.name) && o.fsm.faulted);
  }

  private trackChanged(): void {
    const now = this.host.now();
    for (const inst of this.instances) this.applyTracking(inst, now);
  }

  /** Runs one FSM step and carries out its actions. */
  private run(inst: Instance, step: (out: FsmAction[]) => void): void {
    const out: FsmAction[] = [];
    step(out);
    for (const a of out) {
      if (a.kind === 'send') this.sendAdvert(inst, a.priority);
      else this.transitioned(inst, a.from, a.to, a.why);
    }
  }

  private sendAdvert(inst: Instance, priority: number): void {
    const c = inst.cfg;
    const dsts = c.unicastPeers.length > 0 ? c.unicastPeers.map((p) => p.toBytes()) : [c.family === 4 ? MCAST4 : MCAST6];
    for (const dst of dsts) {
      const msg = encodeAdvert(
        {
          version: c.version,
          vrid: c.vrid,
          priority,
          intervalCs: c.intervalCs,
          addrs: c.vips.filter((v) => !v.excluded).map((v) => v.addr.toBytes()),
          authType: c.authPass !== null ? AUTH_PASS : AUTH_NONE,
          authData: c.authPass !== null ? passAuthData(c.authPass) : new Uint8Array(0),
        },
        { family: c.family, src: inst.src, dst, v3ChecksumAsV2: c.v3ChecksumAsV2 },
      );
      inst.link.send(inst.src, dst, msg);
    }
  }

  private transitioned(inst: Instance, from: VrrpState, to: VrrpState, why: string): void {
    const now = this.host.now();
    inst.lastTransition = { at: Date.now(), from, to, why }; // wall clock, for the operator
    this.host.log('info', `VRRP_Instance(${inst.cfg.name}) Entering ${to} STATE (${why})`, { instance: inst.cfg.name, from, to });
    if (inst.garpTimer) clearTimeout(inst.garpTimer);
    inst.garpTimer = null;
    if (to === 'MASTER') {
      inst.ops = inst.ops.then(async () => {
        const errs = await addVips(inst.cfg.vips);
        for (const e of errs) this.host.log('error', `VRRP_Instance(${inst.cfg.name}): ${e}`);
        if (inst.fsm.state !== 'MASTER') return;
        this.garp(inst, inst.cfg.garpMasterRepeat);
        if (inst.cfg.garpMasterDelayS > 0) {
          inst.garpTimer = setTimeout(() => {
            inst.garpTimer = null;
            if (inst.fsm.state === 'MASTER') this.garp(inst, inst.cfg.garpMasterRepeat);
          }, inst.cfg.garpMasterDelayS * 1000);
        }
      });
    } else if (from === 'MASTER' || from === 'INIT') {
      // Leaving MASTER, or starting: no VIP of ours may stay (a crash may have left them).
      inst.ops = inst.ops.then(async () => {
        const errs = await delVips(inst.cfg.vips);
        for (const e of errs) this.host.log('error', `VRRP_Instance(${inst.cfg.name}): ${e}`);
      });
    }
    const st = to === 'INIT' ? 'STOP' : to;
    this.notify(inst.cfg.notify, 'INSTANCE', inst.cfg.name, st, inst.fsm.effectivePriority);
    const g = inst.group;
    if (g && to !== 'INIT' && this.groupState.get(g.name) !== to) {
      this.groupState.set(g.name, to);
      this.notify(g.notify, 'GROUP', g.name, to, 0);
      for (const other of this.instances) {
        if (other !== inst && g.members.includes(other.cfg.name)) {
          this.run(other, (out) => other.fsm.follow(now, to, `sync group ${g.name}: ${inst.cfg.name} is ${to}`, out));
        }
      }
    }
    const s = this.statusOf(inst);
    for (const cb of this.listeners) cb(s);
  }

  /** `repeat` GARP/NA per VIP on the instance's interface (the VIP's own dev when it differs). */
  private garp(inst: Instance, repeat: number, vips: VipConfig[] = inst.cfg.vips): void {
    const byDev = new Map<string, Addr[]>();
    for (const v of vips) byDev.set(v.dev, [...(byDev.get(v.dev) ?? []), v.addr]);
    for (const [dev, addrs] of byDev) {
      try {
        const ifindex = dev === inst.cfg.iface ? inst.link.ifindex : ifIndex(dev);
        const mac = dev === inst.cfg.iface ? inst.mac : ifaceMac(dev);
        for (let i = 0; i < repeat; i++) this.announcer.announce(ifindex, mac, addrs);
      } catch (e) {
        this.host.log('error', `VRRP_Instance(${inst.cfg.name}): cannot announce on ${dev}: ${(e as Error).message}`);
      }
    }
  }

  private notify(n: NotifyConfig, kind: 'INSTANCE' | 'GROUP', name: string, state: string, prio: number): void {
    const which = { MASTER: n.master, BACKUP: n.backup, FAULT: n.fault, STOP: n.stop }[state] ?? null;
    const run = (cmd: string[]) => {
      const [prog, ...args] = cmd;
      execFile(prog!, args, (err) => {
        if (err) this.host.log('warn', `VRRP notify ${cmd.join(' ')} for ${name} (${state}) failed: ${err.message}`);
      });
    };
    if (which) run(which);
    if (n.any) run([...n.any, kind, name, state, String(prio)]);
  }
}
