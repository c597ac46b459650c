// Tracked scripts' fall/rise and keepalived's weight rule, result by result.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScriptTracker, weightEffect } from '../../../src/ha/vrrp/track.js';

test('weight rule: >0 added while up, <0 added while down, 0 is a fault while down', () => {
  assert.deepEqual(weightEffect(true, 10), { delta: 10, fault: false });
  assert.deepEqual(weightEffect(false, 10), { delta: 0, fault: false });
  assert.deepEqual(weightEffect(true, -20), { delta: 0, fault: false });
  assert.deepEqual(weightEffect(false, -20), { delta: -20, fault: false });
  assert.deepEqual(weightEffect(false, 0), { delta: 0, fault: true });
  assert.deepEqual(weightEffect(true, 0), { delta: 0, fault: false });
});

test('fall 2 / rise 3: down after 2 failures in a row, up after 3 successes in a row', () => {
  let changes = 0;
  const t = new ScriptTracker(
    { name: 'c', script: ['/bin/true'], intervalMs: 1000, timeoutMs: 1000, weight: 0, fall: 2, rise: 3 },
    () => changes++,
  );
  assert.equal(t.up, true, 'good until proven bad');
  t.result(false);
  t.result(true);
  t.result(false);
  assert.equal(t.up, true, 'failures not in a row');
  t.result(false);
  assert.equal(t.up, false);
  t.result(true);
  t.result(true);
  assert.equal(t.up, false);
  t.result(true);
  assert.equal(t.up, true);
  assert.equal(changes, 2);
});
