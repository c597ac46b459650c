// The scheduler interface: the kernel's ip_vs_scheduler ops table, one instance per service.

import type { Af } from '../constants.js';
import type { Dest } from '../dest.js';
import type { Addr } from '../inet.js';
import type { Service } from '../service.js';

/** What a scheduler may look at in the packet that opens a connection. */
export interface SchedPacket {
  af: Af;
  protocol: number;
  saddr: Addr;
  sport: number;
  daddr: Addr;
  dport: number;
  /** Header processed "inverse" (ICMP errors, replies): sh/mh hash the destination side. */
  inverse: boolean;
}

/** Tunables and sources the core passes in, so schedulers stay deterministic. */
export interface SchedEnv {
  /** 32-bit unsigned random numbers (twos). */
  random32(): number;
  /** net.ipv4.vs.lblc_expiration / lblcr_expiration, in ms (default 24 h). */
  lblcExpiration: number;
  lblcrExpiration: number;
}

/** Per-service scheduler state. Hooks run after the dest list has changed. */
export interface Scheduler {
  /** A dest was inserted at the head of svc.dests (index 0). */
  addDest(dest: Dest): void;
  /** A dest was removed; `index` is where it stood in svc.dests before removal. */
  delDest(dest: Dest, index: number): void;
  /** A dest's settings changed in place (`-e`). */
  updDest(dest: Dest): void;
  /** Pick a dest for a new connection, or null ("no destination available"). `now` in ms. */
  schedule(pkt: SchedPacket, now: number): Dest | null;
  /** Periodic work (lblc/lblcr garbage collection); called at least every second. */
  tick?(now: number): void;
  /** The scheduler is being unbound from its service (`-E -s`, `-D`). */
  done?(): void;
  /**
   * The picks this scheduler will make from its current state while the dests and their
   * settings stay as they are, without changing that state: a prefix, then a cycle repeated
   * forever. Only schedulers whose picks depend on neither the packet nor the conn counts have
   * it (rr, wrr), so that proxy workers can pick from the plan with a shared counter and pick
   * exactly as this scheduler would. Null when it picks nothing, or the plan would be longer
   * than `limit` picks.
   */
  plan?(limit: number): SchedPlan | null;
}

/** See Scheduler.plan: pick k is prefix[k], then cycle[(k - prefix.length) % cycle.length]. */
export interface SchedPlan {
  prefix: Dest[];
  cycle: Dest[];
}

export interface SchedulerOps {
  readonly name: string;
  create(svc: Service, env: SchedEnv, now: number): Scheduler;
}
