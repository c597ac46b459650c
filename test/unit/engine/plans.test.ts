// Proxy workers' plans (src/engine/proxy/plans.ts): picks taken from a plan with the shared
// counter, then the plan closed, leave the core's scheduler exactly where it would be had it
// made those picks itself; a closed plan gives no more picks; services whose picks depend on
// more than the scheduler's state get no plan.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IP_VS_CONN_F_DROUTE, IP_VS_SVC_F_PERSISTENT } from '../../../src/core/constants.js';
import type { Dest } from '../../../src/core/dest.js';
import { closePlan, makePlan, PLAN_CLOSED, PLAN_MAX, planBlocker } from '../../../src/engine/proxy/plans.js';
import { destSpec, makeRules, packet, svcSpec } from '../../helpers/rules.js';

const name = (d: Dest | null) => (d ? d.addr.toString() : '-');

function setup(sched: string, weights: number[]) {
  const rules = makeRules();
  const key = svcSpec('192.0.2.1', 80, { schedName: sched });
  rules.addService(key, 0);
  weights.forEach((w, i) => rules.addDest(key, destSpec(`10.0.0.${i + 1}`, 80, w), 0));
  return { rules, key, svc: rules.findService(key)! };
}

for (const [sched, weights] of [
  ['rr', [1, 1, 1, 1]],
  ['wrr', [5, 3, 2]],
] as const) {
  test(`${sched}: n picks from a plan, then closing it, leave the scheduler as n picks of its own would`, () => {
    for (const n of [0, 1, 2, 3, 5, 9, 10, 11, 23, 100, 1001]) {
      const a = setup(sched, [...weights]);
      const b = setup(sched, [...weights]);
      const p = packet('192.168.1.100', 40000, '192.0.2.1', 80);
      // Both start a few picks in, so that the plan has a prefix to skip.
      for (let k = 0; k < 2; k++) {
        a.svc.sched!.schedule(p, 0);
        b.svc.sched!.schedule(p, 0);
      }
      const plan = makePlan(a.svc)!;
      const fromPlan: string[] = [];
      for (let k = 0; k < n; k++) fromPlan.push(name(plan.pick()));
      const own: string[] = [];
      for (let k = 0; k < n; k++) own.push(name(b.svc.sched!.schedule(p, 0)));
      assert.deepEqual(fromPlan, own, `${n} picks`);
      closePlan(plan, 0);
      assert.equal(plan.pick(), null, 'a closed plan gives no pick');
      assert.ok(Atomics.load(plan.seq, 0) >= PLAN_CLOSED);
      // A rule change now applies to the same state in both.
      a.rules.addDest(a.key, destSpec('10.0.0.9', 80, 2), 0);
      b.rules.addDest(b.key, destSpec('10.0.0.9', 80, 2), 0);
      const next = (s: typeof a) => Array.from({ length: 12 }, () => name(s.svc.sched!.schedule(p, 0))).join(' ');
      assert.equal(next(a), next(b), `after ${n} picks and a new dest`);
    }
  });
}

test('no plan for persistence, thresholds, DR dests, or schedulers that look at counts or clients', () => {
  assert.equal(planBlocker(setup('rr', [1, 1]).svc), null);
  assert.equal(planBlocker(setup('wlc', [1, 1]).svc), 'scheduler wlc looks at conn counts or the client');
  assert.equal(planBlocker(setup('sh', [1, 1]).svc), 'scheduler sh looks at conn counts or the client');
  const p = setup('rr', [1]);
  p.rules.editService({ ...p.key, flags: IP_VS_SVC_F_PERSISTENT, timeout: 300 }, 0);
  assert.equal(planBlocker(p.svc), 'persistent');
  const t = setup('rr', [1]);
  t.rules.editDest(t.key, destSpec('10.0.0.1', 80, 1, undefined, { uThreshold: 10 }));
  assert.equal(planBlocker(t.svc), 'a dest has an upper threshold');
  const g = setup('rr', [1]);
  g.rules.addDest(g.key, destSpec('10.0.0.7', 80, 1, IP_VS_CONN_F_DROUTE), 0);
  assert.equal(planBlocker(g.svc), 'a dest is not masq');
  assert.equal(makePlan(g.svc), null);
  const z = setup('wrr', [0, 0]);
  assert.equal(makePlan(z.svc), null, 'nothing to pick');
});

test('a plan counted out (2^30 picks) gives no more picks, says it is spent, and closes as 2^30 picks', () => {
  const a = setup('rr', [1, 1, 1]);
  const b = setup('rr', [1, 1, 1]);
  const p = packet('192.168.1.100', 40000, '192.0.2.1', 80);
  const plan = makePlan(a.svc)!;
  Atomics.store(plan.seq, 0, PLAN_CLOSED - 1);
  assert.ok(plan.pick(), 'the last pick');
  assert.equal(plan.pick(), null);
  assert.ok(plan.spent);
  closePlan(plan, 0);
  // 2^30 = 1 (mod 3) picks of rr over three dests.
  b.svc.sched!.schedule(p, 0);
  const next = (s: typeof a) => Array.from({ length: 6 }, () => name(s.svc.sched!.schedule(p, 0))).join(' ');
  assert.equal(next(a), next(b));
});

test('a wrr cycle longer than PLAN_MAX picks gets no plan (the daemon schedules it)', () => {
  const long = setup('wrr', [PLAN_MAX, 1]);
  assert.equal(makePlan(long.svc), null, `${PLAN_MAX + 1} picks`);
  // Prefix and cycle together must fit: a cycle of PLAN_MAX - 1 picks and a one-pick prefix.
  const fits = setup('wrr', [PLAN_MAX - 2, 1]);
  assert.equal(makePlan(fits.svc)?.period, PLAN_MAX - 1);
});
