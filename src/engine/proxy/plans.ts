// Scheduling in the proxy workers. For a service whose scheduler can say its future picks
// (rr, wrr: Scheduler.plan), the daemon's thread publishes that plan to every worker with one
// shared counter: a worker takes pick k with an atomic add and connects at once, with no round
// trip to this thread, and reports the conn afterwards (the core adopts it). The counter hands
// out each pick once across all threads, so rr and wrr pick exactly as the core would.
//
// The core's scheduler stays where it was when the plan was made. Before the service's rules
// change, the plan is closed (a bit in the counter: workers that see it ask this thread
// instead) and the core's scheduler is moved on by the picks the workers made, so that the
// change applies to the state the kernel would have; a new plan follows the change.

import { AF_INET, IP_VS_CONN_F_FWD_MASK, IP_VS_CONN_F_MASQ, IPPROTO_TCP } from '../../core/constants.js';
import type { Dest } from '../../core/dest.js';
import { Addr } from '../../core/inet.js';
import type { Scheduler, SchedPacket } from '../../core/sched/types.js';
import type { Service } from '../../core/service.js';

/** Set in the counter once the plan is closed (and reached by counting, after 2^30 picks). */
export const PLAN_CLOSED = 1 << 30;
/**
 * Longest plan published (picks; 16 KB of shared memory). Longer cycles (thousands of dests,
 * or wrr with large coprime weights) are scheduled on the daemon's thread, as before.
 */
export const PLAN_MAX = 4096;

/** Pick `k` (below PLAN_CLOSED) of a plan: its index in the plan's dest list. */
export function planIndex(seq: Int32Array, prefix: number, period: number, k: number): number {
  return seq[1 + (k < prefix ? k : prefix + ((k - prefix) % period))]!;
}

export class Plan {
  constructor(
    readonly svc: Service,
    readonly sched: Scheduler,
    /** Distinct dests, in order of first pick. */
    readonly dests: Dest[],
    readonly prefix: number,
    readonly period: number,
    /** [0]: the counter (picks taken, | PLAN_CLOSED); [1 + k]: index in `dests` of step k. */
    readonly seq: Int32Array,
  ) {}

  /** The next pick, or null when the plan is closed. */
  pick(): Dest | null {
    const k = Atomics.add(this.seq, 0, 1);
    return k < PLAN_CLOSED && k >= 0 ? this.dests[planIndex(this.seq, this.prefix, this.period, k)]! : null;
  }

  /** True once the workers have counted the plan out (2^30 picks): it must be renewed. */
  get spent(): boolean {
    return Atomics.load(this.seq, 0) >= PLAN_CLOSED;
  }
}

/** rr and wrr ignore the packet; the core's scheduler is moved on with this one. */
const NO_PACKET: SchedPacket = {
  af: AF_INET,
  protocol: IPPROTO_TCP,
  saddr: Addr.v4(0),
  sport: 0,
  daddr: Addr.v4(0),
  dport: 0,
  inverse: false,
};

/**
 * Why the workers cannot pick for `svc` by themselves (null: they can). Persistence, thresholds
 * (overload flips with conn counts) and DR/TUN dests (which the daemon's thread refuses) keep
 * every decision on this thread.
 */
export function planBlocker(svc: Service): string | null {
  if (svc.protocol !== IPPROTO_TCP || svc.fwmark !== 0 || svc.port === 0) return 'not a TCP port service';
  if (svc.persistent) return 'persistent';
  if (!svc.sched?.plan) return `scheduler ${svc.schedName} looks at conn counts or the client`;
  for (const d of svc.dests) {
    if (d.uThreshold > 0) return 'a dest has an upper threshold';
    if ((d.fwd & IP_VS_CONN_F_FWD_MASK) !== IP_VS_CONN_F_MASQ) return 'a dest is not masq';
  }
  return null;
}

/** The scheduler's plan for `svc` from its state now, or null (see planBlocker). */
export function makePlan(svc: Service): Plan | null {
  if (planBlocker(svc) !== null) return null;
  const sched = svc.sched!;
  const p = sched.plan!(PLAN_MAX);
  if (!p) return null;
  const dests: Dest[] = [];
  const index = new Map<Dest, number>();
  const seq = new Int32Array(new SharedArrayBuffer(4 * (1 + p.prefix.length + p.cycle.length)));
  let k = 1;
  for (const d of [...p.prefix, ...p.cycle]) {
    let i = index.get(d);
    if (i === undefined) {
      i = dests.length;
      index.set(d, i);
      dests.push(d);
    }
    seq[k++] = i;
  }
  return new Plan(svc, sched, dests, p.prefix.length, p.cycle.length, seq);
}

/**
 * Closes `plan`: no worker picks from it any more. The core's scheduler is moved on by the
 * picks taken (the state it would be in had it made them), unless the service has another
 * scheduler by now. `now` in ms.
 */
export function closePlan(plan: Plan, now: number): void {
  const v = Atomics.or(plan.seq, 0, PLAN_CLOSED);
  const taken = v >= PLAN_CLOSED || v < 0 ? PLAN_CLOSED : v;
  if (plan.svc.sched !== plan.sched) return;
  let k = taken <= plan.prefix ? taken : plan.prefix + ((taken - plan.prefix) % plan.period);
  while (k-- > 0) plan.sched.schedule(NO_PACKET, now);
}
