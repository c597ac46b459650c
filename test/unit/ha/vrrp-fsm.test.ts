// The VRRP state machine, event by event with the time passed in: each step names the input and
// the actions and state expected (RFC 3768/5798 §6.4 with keepalived's choices, docs/spec/ha.md A.5/A.6).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FsmAction, type FsmConfig, VrrpFsm } from '../../../src/ha/vrrp/fsm.js';

const ME = Uint8Array.from([10, 0, 0, 2]);
const LOW = Uint8Array.from([10, 0, 0, 1]);
const HIGH = Uint8Array.from([10, 0, 0, 3]);

function fsm(over: Partial<FsmConfig> = {}): VrrpFsm {
  return new VrrpFsm({
    version: 2,
    priority: 100,
    intervalCs: 100,
    initialMaster: false,
    preempt: true,
    preemptDelayMs: 0,
    myAddr: ME,
    ...over,
  });
}
function step(f: VrrpFsm, fn: (out: FsmAction[]) => void): FsmAction[] {
  const out: FsmAction[] = [];
  fn(out);
  return out;
}
const sends = (a: FsmAction[]) => a.filter((x) => x.kind === 'send').map((x) => (x as { priority: number }).priority);
const moves = (a: FsmAction[]) => a.filter((x) => x.kind === 'transition').map((x) => (x as { to: string }).to);

test('timers: v2 skew (256-p)/256 s; v3 skew scales with the master interval', () => {
  assert.equal(fsm().skewMs(), (156 * 1000) / 256);
  assert.equal(fsm().masterDownMs(), 3000 + (156 * 1000) / 256);
  const v3 = fsm({ version: 3, intervalCs: 25 });
  assert.equal(v3.masterDownMs(), 750 + (156 * 250) / 256);
});

test('backup becomes master when the down interval passes without adverts', () => {
  const f = fsm();
  assert.deepEqual(moves(step(f, (o) => f.start(0, o))), ['BACKUP']);
  const down = f.masterDownMs();
  assert.deepEqual(
    step(f, (o) => f.tick(down - 1, o)),
    [],
  );
  const a = step(f, (o) => f.tick(down, o));
  assert.deepEqual(sends(a), [100]);
  assert.deepEqual(moves(a), ['MASTER']);
  assert.equal(f.nextDeadline(), down + 1000);
  assert.deepEqual(sends(step(f, (o) => f.tick(down + 1000, o))), [100], 'advert each interval');
});

test('owner (priority 255, state MASTER) is master at once', () => {
  const f = fsm({ priority: 255, initialMaster: true });
  const a = step(f, (o) => f.start(0, o));
  assert.deepEqual(sends(a), [255]);
  assert.equal(f.state, 'MASTER');
});

test('state MASTER below 255 starts as BACKUP and waits the down interval', () => {
  const f = fsm({ priority: 150, initialMaster: true });
  step(f, (o) => f.start(0, o));
  assert.equal(f.state, 'BACKUP');
});

test('adverts from a higher or equal master keep a backup down', () => {
  const f = fsm();
  step(f, (o) => f.start(0, o));
  step(f, (o) => f.advert(2000, { priority: 100, intervalCs: 100, src: LOW }, o));
  assert.equal(f.masterDownAt, 2000 + f.masterDownMs());
  assert.deepEqual(f.masterAddr, LOW);
  step(f, (o) => f.tick(3000, o));
  assert.equal(f.state, 'BACKUP');
});

test('preemption: a lower-priority master does not reset the down timer', () => {
  const f = fsm({ priority: 150 });
  step(f, (o) => f.start(0, o));
  const down = f.masterDownAt!;
  step(f, (o) => f.advert(1000, { priority: 100, intervalCs: 100, src: HIGH }, o));
  assert.equal(f.masterDownAt, down);
  step(f, (o) => f.tick(down, o));
  assert.equal(f.state, 'MASTER');
});

test('nopreempt: a lower-priority master is kept', () => {
  const f = fsm({ priority: 150, preempt: false });
  step(f, (o) => f.start(0, o));
  step(f, (o) => f.advert(1000, { priority: 100, intervalCs: 100, src: HIGH }, o));
  assert.equal(f.masterDownAt, 1000 + f.masterDownMs());
});

test('preempt_delay: tolerated until the delay after startup, preempted after', () => {
  const f = fsm({ priority: 150, preemptDelayMs: 5000 });
  step(f, (o) => f.start(0, o));
  step(f, (o) => f.advert(4000, { priority: 100, intervalCs: 100, src: HIGH }, o));
  assert.equal(f.masterDownAt, 4000 + f.masterDownMs(), 'reset while delayed');
  step(f, (o) => f.advert(5000, { priority: 100, intervalCs: 100, src: HIGH }, o));
  assert.equal(f.masterDownAt, 4000 + f.masterDownMs(), 'not reset after the delay');
});

test('priority 0 from the master: backup takes over after skew time only', () => {
  const f = fsm();
  step(f, (o) => f.start(0, o));
  step(f, (o) => f.advert(1000, { priority: 0, intervalCs: 100, src: LOW }, o));
  assert.equal(f.masterDownAt, 1000 + f.skewMs());
});

test('master yields to a higher priority without a priority 0 advert', () => {
  const f = fsm({ priority: 255, initialMaster: true });
  step(f, (o) => f.start(0, o));
  f.setEffectivePriority(200);
  const g = fsm();
  step(g, (o) => g.start(0, o));
  step(g, (o) => g.tick(g.masterDownAt!, o));
  const a = step(g, (o) => g.advert(5000, { priority: 120, intervalCs: 100, src: LOW }, o));
  assert.deepEqual(sends(a), []);
  assert.deepEqual(moves(a), ['BACKUP']);
  assert.deepEqual(g.masterAddr, LOW);
});

test('master ties: the higher address wins', () => {
  const f = fsm();
  step(f, (o) => f.start(0, o));
  step(f, (o) => f.tick(f.masterDownAt!, o));
  step(f, (o) => f.advert(5000, { priority: 100, intervalCs: 100, src: LOW }, o));
  assert.equal(f.state, 'MASTER', 'lower address loses');
  step(f, (o) => f.advert(5000, { priority: 100, intervalCs: 100, src: HIGH }, o));
  assert.equal(f.state, 'BACKUP', 'higher address wins');
});

test('master answers a priority 0 advert with its own at once', () => {
  const f = fsm();
  step(f, (o) => f.start(0, o));
  step(f, (o) => f.tick(f.masterDownAt!, o));
  assert.deepEqual(sends(step(f, (o) => f.advert(7000, { priority: 0, intervalCs: 100, src: LOW }, o))), [100]);
  assert.equal(f.adverAt, 8000);
});

test('v3 backup adopts the master advert interval', () => {
  const f = fsm({ version: 3, intervalCs: 100 });
  step(f, (o) => f.start(0, o));
  step(f, (o) => f.advert(100, { priority: 200, intervalCs: 25, src: LOW }, o));
  assert.equal(f.masterAdverIntCs, 25);
  assert.equal(f.masterDownAt, 100 + 750 + (156 * 250) / 256);
});

test('fault: master sends priority 0 and enters FAULT; recovery goes to BACKUP', () => {
  const f = fsm();
  step(f, (o) => f.start(0, o));
  step(f, (o) => f.tick(f.masterDownAt!, o));
  const a = step(f, (o) => f.setFault(6000, 'eth0', true, o));
  assert.deepEqual(sends(a), [0]);
  assert.deepEqual(moves(a), ['FAULT']);
  assert.equal(f.nextDeadline(), null);
  assert.deepEqual(moves(step(f, (o) => f.setFault(7000, 'eth0', false, o))), ['BACKUP']);
  assert.equal(f.masterDownAt, 7000 + f.masterDownMs());
});

test('a fault present at start starts in FAULT', () => {
  const f = fsm();
  step(f, (o) => f.setFault(0, 'chk', true, o));
  assert.deepEqual(moves(step(f, (o) => f.start(0, o))), ['FAULT']);
});

test('stop: master sends priority 0, backup sends nothing', () => {
  const f = fsm();
  step(f, (o) => f.start(0, o));
  assert.deepEqual(sends(step(f, (o) => f.stop(10, o))), []);
  const g = fsm({ priority: 255, initialMaster: true });
  step(g, (o) => g.start(0, o));
  const a = step(g, (o) => g.stop(10, o));
  assert.deepEqual(sends(a), [0]);
  assert.deepEqual(moves(a), ['INIT']);
});

test('effective priority stays 1..254 for a non-owner, 255 for the owner', () => {
  const f = fsm();
  f.setEffectivePriority(300);
  assert.equal(f.effectivePriority, 254);
  f.setEffectivePriority(-5);
  assert.equal(f.effectivePriority, 1);
  const g = fsm({ priority: 255 });
  g.setEffectivePriority(100);
  assert.equal(g.effectivePriority, 255);
});

test('sync group: a backup follows a member to MASTER, a master follows to FAULT', () => {
  const f = fsm();
  step(f, (o) => f.start(0, o));
  assert.deepEqual(moves(step(f, (o) => f.follow(10, 'MASTER', 'sync group', o))), ['MASTER']);
  const a = step(f, (o) => f.follow(20, 'FAULT', 'sync group', o));
  assert.deepEqual(sends(a), [0]);
  assert.equal(f.state, 'FAULT');
});

test('sync group: a member in FAULT for the group only leaves it with the group; one with its own fault stays', () => {
  const f = fsm();
  step(f, (o) => f.start(0, o));
  step(f, (o) => f.follow(10, 'FAULT', 'sync group', o));
  assert.equal(f.state, 'FAULT');
  assert.deepEqual(moves(step(f, (o) => f.follow(20, 'BACKUP', 'sync group', o))), ['BACKUP']);
  step(f, (o) => f.follow(30, 'FAULT', 'sync group', o));
  assert.deepEqual(moves(step(f, (o) => f.follow(40, 'MASTER', 'sync group', o))), ['BACKUP', 'MASTER']);
  const g = fsm();
  step(g, (o) => g.start(0, o));
  step(g, (o) => g.setFault(10, 'interface eth9', true, o));
  assert.deepEqual(moves(step(g, (o) => g.follow(20, 'BACKUP', 'sync group', o))), []);
  assert.equal(g.state, 'FAULT');
});

test('sync group: a member whose own fault clears stays in FAULT while another member has one', () => {
  const f = fsm();
  step(f, (o) => f.start(0, o));
  step(f, (o) => f.setFault(10, 'interface eth1', true, o));
  assert.equal(f.faulted, true);
  // eth1 comes back while the other member's tracked interface is still down: the group holds.
  assert.deepEqual(moves(step(f, (o) => f.setFault(20, 'interface eth1', false, o, true))), []);
  assert.equal(f.state, 'FAULT');
  assert.equal(f.faulted, false);
  // The other member recovers and the group goes BACKUP: this one follows it.
  assert.deepEqual(moves(step(f, (o) => f.follow(30, 'BACKUP', 'sync group', o))), ['BACKUP']);
});
