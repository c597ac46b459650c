// One VRRP instance's state machine (RFC 3768 §6.4, RFC 5798 §6.4) with keepalived's choices
// (docs/spec/ha.md A.5, A.6): priority 0 advert on stop and on MASTER → FAULT, not on yielding;
// nopreempt and preempt_delay; FAULT while a tracked object is down. Pure: every input carries
// the time (ms), every output is an action for the I/O side to carry out.

import { ADVERT_INT_DEFAULT_CS, DOWN_TIMER_ADVERTS, PRIO_OWNER, PRIO_STOP } from './constants.js';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

export interface FsmConfig {
  version: 2 | 3;
  /** The configured priority (1..255). */
  priority: number;
  intervalCs: number;
  /** `state MASTER` in the config. */
  initialMaster: boolean;
  preempt: boolean;
  preemptDelayMs: number;
  /** This router's address in the adverts' family, compared on equal priorities. */
  myAddr: Uint8Array;
}

export type FsmAction = { kind: 'send'; priority: number } | { kind: 'transition'; from: VrrpState; to: VrrpState; why: string };

export interface AdvertIn {
  priority: number;
  intervalCs: number;
  src: Uint8Array;
}

/** Byte-wise comparison of two addresses of one family: >0 when a is higher. */
export function compareAddr(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

export class VrrpFsm {
  state: VrrpState = 'INIT';
  /** Priority after track_script weights; what is advertised. */
  effectivePriority: number;
  masterAdverIntCs: number;
  masterAddr: Uint8Array | null = null;
  /** Deadlines (ms) or null when not running. */
  adverAt: number | null = null;
  masterDownAt: number | null = null;
  /** Until when a lower-priority master is tolerated (preempt_delay). */
  private preemptAfter: number | null = null;
  /** Why the instance is in FAULT, or empty when nothing tracked is down. */
  private faults = new Set<string>();

  constructor(private cfg: FsmConfig) {
    this.effectivePriority = cfg.priority;
    this.masterAdverIntCs = cfg.intervalCs || ADVERT_INT_DEFAULT_CS;
  }

  get config(): FsmConfig {
    return this.cfg;
  }

  /** RFC Skew_Time in ms, with keepalived's effective priority. */
  skewMs(): number {
    const p = this.effectivePriority >= PRIO_OWNER ? PRIO_OWNER : this.effectivePriority;
    return this.cfg.version === 2 ? ((256 - p) * 1000) / 256 : ((256 - p) * this.masterAdverIntCs * 10) / 256;
  }

  /** Master_Down_Interval in ms. */
  masterDownMs(): number {
    const adv = this.cfg.version === 2 ? this.cfg.intervalCs * 10 : this.masterAdverIntCs * 10;
    return DOWN_TIMER_ADVERTS * adv + this.skewMs();
  }

  /** The earliest deadline, for the I/O side's timer; null when nothing is pending. */
  nextDeadline(): number | null {
    if (this.state === 'MASTER') return this.adverAt;
    if (this.state === 'BACKUP') return this.masterDownAt;
    return null;
  }

  start(now: number, out: FsmAction[]): void {
    if (this.faults.size > 0) {
      this.go('FAULT', `${[...this.faults][0]} is down`, out);
      return;
    }
    if (this.cfg.initialMaster && this.effectivePriority >= PRIO_OWNER) {
      this.becomeMaster(now, 'address owner (priority 255) starts as MASTER', out);
      return;
    }
    this.becomeBackup(now, 'started', out);
    if (this.cfg.preemptDelayMs > 0) this.preemptAfter = now + this.cfg.preemptDelayMs;
  }

  /** Timers: call at or after nextDeadline(). */
  tick(now: number, out: FsmAction[]): void {
    if (this.state === 'MASTER' && this.adverAt !== null && now >= this.adverAt) {
      out.push({ kind: 'send', priority: this.effectivePriority });
      this.adverAt = now + this.cfg.intervalCs * 10;
    } else if (this.state === 'BACKUP' && this.masterDownAt !== null && now >= this.masterDownAt) {
      this.becomeMaster(now, 'no advert from the master within the down interval', out);
    }
  }

  /** An advert for this VRID that passed the codec's and the instance's checks. */
  advert(now: number, a: AdvertIn, out: FsmAction[]): void {
    if (this.state === 'BACKUP') {
      if (a.priority === PRIO_STOP) {
        this.masterDownAt = now + this.skewMs();
        return;
      }
      const lower = a.priority < this.effectivePriority;
      if (lower && this.cfg.preempt && this.preemptAfter === null && this.cfg.preemptDelayMs > 0) {
        this.preemptAfter = now + this.cfg.preemptDelayMs;
      }
      const tolerated = !this.cfg.preempt || (this.preemptAfter !== null && now < this.preemptAfter);
      if (!lower || tolerated) {
        if (this.cfg.version === 3) this.masterAdverIntCs = a.intervalCs || this.masterAdverIntCs;
        this.masterAddr = a.src;
        this.masterDownAt = now + this.masterDownMs();
      }
      // else: a lower-priority master and preemption allowed: the down timer runs out.
      return;
    }
    if (this.state === 'MASTER') {
      if (a.priority === PRIO_STOP) {
        out.push({ kind: 'send', priority: this.effectivePriority });
        this.adverAt = now + this.cfg.intervalCs * 10;
        return;
      }
      const higher =
        a.priority > this.effectivePriority || (a.priority === this.effectivePriority && compareAddr(a.src, this.cfg.myAddr) > 0);
      if (higher) {
        if (this.cfg.version === 3) this.masterAdverIntCs = a.intervalCs || this.masterAdverIntCs;
        this.masterAddr = a.src;
        this.becomeBackup(now, `higher priority advert (${a.priority}) from another router`, out);
      }
    }
  }

  /** True while a tracked object of this instance itself is down. */
  get faulted(): boolean {
    return this.faults.size > 0;
  }

  /**
   * A tracked object (interface, script with weight 0) went down or came back. `groupHeld`: another
   * member of this instance's vrrp_sync_group is in FAULT for a fault of its own, so the group
   * stays in FAULT and this member with it (keepalived leaves FAULT only when no member has one).
   */
  setFault(now: number, what: string, down: boolean, out: FsmAction[], groupHeld = false): void {
    const before = this.faults.size;
    if (down) this.faults.add(what);
    else this.faults.delete(what);
    if (this.state === 'INIT') return;
    if (before === 0 && this.faults.size > 0) {
      if (this.state === 'MASTER') out.push({ kind: 'send', priority: PRIO_STOP });
      this.adverAt = null;
      this.masterDownAt = null;
      this.masterAddr = null;
      this.go('FAULT', `${what} is down`, out);
    } else if (before > 0 && this.faults.size === 0 && !groupHeld) {
      this.becomeBackup(now, `${what} is up again`, out);
    }
  }

  /** track_script weights moved the priority (1..254; an owner keeps 255). */
  setEffectivePriority(p: number): void {
    this.effectivePriority = this.cfg.priority >= PRIO_OWNER ? PRIO_OWNER : Math.max(1, Math.min(254, p));
  }

  /** A vrrp_sync_group member moved: follow it (keepalived moves the group together). */
  follow(now: number, to: VrrpState, why: string, out: FsmAction[]): void {
    if (to === this.state || this.state === 'INIT') return;
    if (this.state === 'FAULT') {
      // In FAULT only for the group's sake: the group left FAULT, so does this member.
      if (to === 'FAULT' || this.faults.size > 0) return;
      this.becomeBackup(now, why, out);
      if (to === 'MASTER') this.becomeMaster(now, why, out);
      return;
    }
    if (to === 'MASTER' && this.state === 'BACKUP') this.becomeMaster(now, why, out);
    else if (to === 'BACKUP' && this.state === 'MASTER') this.becomeBackup(now, why, out);
    else if (to === 'FAULT') {
      if (this.state === 'MASTER') out.push({ kind: 'send', priority: PRIO_STOP });
      this.adverAt = null;
      this.masterDownAt = null;
      this.go('FAULT', why, out);
    }
  }

  /** Shutdown: a master says priority 0 so that a backup takes over after skew time. */
  stop(_now: number, out: FsmAction[]): void {
    if (this.state === 'MASTER') out.push({ kind: 'send', priority: PRIO_STOP });
    this.adverAt = null;
    this.masterDownAt = null;
    this.go('INIT', 'stopping', out);
  }

  private becomeMaster(now: number, why: string, out: FsmAction[]): void {
    out.push({ kind: 'send', priority: this.effectivePriority });
    this.adverAt = now + this.cfg.intervalCs * 10;
    this.masterDownAt = null;
    this.masterAddr = this.cfg.myAddr;
    this.preemptAfter = null;
    this.go('MASTER', why, out);
  }

  private becomeBackup(now: number, why: string, out: FsmAction[]): void {
    this.adverAt = null;
    this.masterDownAt = now + this.masterDownMs();
    if (this.state === 'MASTER') this.masterAddr = this.masterAddr === this.cfg.myAddr ? null : this.masterAddr;
    this.go('BACKUP', why, out);
  }

  private go(to: VrrpState, why: string, out: FsmAction[]): void {
    const from = this.state;
    this.state = to;
    if (from !== to) out.push({ kind: 'transition', from, to, why });
  }
}
