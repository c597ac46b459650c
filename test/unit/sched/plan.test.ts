// Scheduler plans (rr, wrr): after every rule change of a random walk, the plan must be exactly
// the picks the scheduler then makes, prefix and then the cycle three times over, and making
// the plan must not move the scheduler.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dest } from '../../../src/core/dest.js';
import { addr, destSpec, makeRules, packet, svcSpec } from '../../helpers/rules.js';

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
}

const name = (d: Dest | null) => (d ? d.addr.toString() : '-');

for (const sched of ['rr', 'wrr']) {
  test(`${sched}: the plan is the picks that follow, through 300 random rule changes`, () => {
    const rand = lcg(sched === 'rr' ? 7 : 11);
    const rules = makeRules();
    const key = svcSpec('192.0.2.1', 80, { schedName: sched });
    rules.addService(key, 0);
    const svc = rules.findService(key)!;
    const p = packet('192.168.1.100', 40000, '192.0.2.1', 80);
    const ips = Array.from({ length: 8 }, (_, i) => `10.0.0.${i + 1}`);
    let checked = 0;
    for (let step = 0; step < 300; step++) {
      const ip = ips[rand() % ips.length]!;
      const have = svc.findDest(addr(ip), 80);
      const w = [0, 1, 1, 2, 3, 4, 6, 10][rand() % 8]!;
      const op = rand() % 4;
      if (!have) rules.addDest(key, destSpec(ip, 80, w), 0);
      else if (op === 0) rules.delDest(key, addr(ip), 80, 0);
      else if (op === 1) rules.editDest(key, destSpec(ip, 80, w));
      // Some picks between changes, so that plans start from every kind of state.
      for (let k = rand() % 5; k > 0; k--) svc.sched!.schedule(p, 0);
      const plan = svc.sched!.plan!(1 << 16);
      const again = svc.sched!.plan!(1 << 16);
      assert.deepEqual(again, plan, 'making a plan does not move the scheduler');
      if (!plan) {
        assert.equal(svc.sched!.schedule(p, 0), null, `step ${step}: no plan, so no pick`);
        continue;
      }
      assert.ok(plan.cycle.length > 0);
      const want = [...plan.prefix, ...plan.cycle, ...plan.cycle, ...plan.cycle].map(name);
      const got = want.map(() => name(svc.sched!.schedule(p, 0)));
      assert.deepEqual(got, want, `step ${step}: picks follow the plan`);
      checked++;
    }
    assert.ok(checked > 150, `${checked} plans checked`);
  });
}

test('wrr: dests added one at a time plan the last round first, then the kernel cycle', () => {
  const rules = makeRules();
  const key = svcSpec('192.0.2.1', 80, { schedName: 'wrr' });
  rules.addService(key, 0);
  const svc = rules.findService(key)!;
  // Added C, B, A: the list is A B C with weights 4 3 2 (the spec's example).
  rules.addDest(key, destSpec('10.0.0.3', 80, 2), 0);
  rules.addDest(key, destSpec('10.0.0.2', 80, 3), 0);
  rules.addDest(key, destSpec('10.0.0.1', 80, 4), 0);
  const plan = svc.sched!.plan!(100)!;
  const letters = (ds: Dest[]) => ds.map((d) => 'ABC'[Number(d.addr.toString().split('.')[3]) - 1]).join(' ');
  // The kernel's picks: A B C, then the cycle A A B A B C A B C. The plan cuts where the
  // scheduler's state first repeats (after the first A), which names the same sequence.
  assert.equal(
    letters([...plan.prefix, ...plan.cycle, ...plan.cycle, ...plan.cycle]).slice(0, 2 * 24 - 1),
    'A B C A A B A B C A B C A A B A B C A B C A A B',
  );
  assert.equal(plan.cycle.length, 9);
});

test('rr and wrr: no plan when nothing can be picked, or when the plan is longer than asked', () => {
  const rules = makeRules();
  const key = svcSpec('192.0.2.1', 80, { schedName: 'wrr' });
  rules.addService(key, 0);
  const svc = rules.findService(key)!;
  assert.equal(svc.sched!.plan!(100), null, 'no dests');
  rules.addDest(key, destSpec('10.0.0.1', 80, 0), 0);
  assert.equal(svc.sched!.plan!(100), null, 'weight 0 only');
  rules.editDest(key, destSpec('10.0.0.1', 80, 1000));
  rules.addDest(key, destSpec('10.0.0.2', 80, 999), 0);
  assert.equal(svc.sched!.plan!(1000), null, 'a cycle of 1999 picks does not fit in 1000');
  assert.equal(svc.sched!.plan!(4000)!.cycle.length, 1999);
});
