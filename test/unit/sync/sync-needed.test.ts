// When a master sends a conn (ip_vs_sync_conn_needed), as event sequences: packets with their
// states in, the packet numbers that are sent out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SYNC_PARAMS, type SyncConnView, type SyncParams, syncNeeded, syncPkts } from '../../../src/core/sync.js';

const EST = 1;
const FIN_WAIT = 4;
const TIME_WAIT = 5;
const SYN_RECV = 3;

/** Feeds packets (state after each) and returns the packet numbers sent. */
function run(states: number[], opts: Partial<SyncParams> = {}, proto = 6, template = false, stepMs = 10): number[] {
  const s = { ...DEFAULT_SYNC_PARAMS, ...opts };
  const c: SyncConnView = { proto, state: 0, oldState: 0, template, inPersistence: false, timeout: 900_000, syncEnd: 0 };
  const sent: number[] = [];
  states.forEach((st, k) => {
    c.state = st;
    const n = syncNeeded(s, c, k + 1, 1_000_000 + k * stepMs);
    if (n >= 0) {
      c.syncEnd = n;
      c.oldState = c.state;
      sent.push(k + 1);
    }
  });
  return sent;
}

describe('sync: when the master sends a conn', () => {
  it('TCP with the defaults (3 50): the 3rd, 53rd and 103rd packets once established', () => {
    const states = [SYN_RECV, EST, ...Array(110).fill(EST)];
    assert.deepEqual(run(states), [3, 53, 103]);
  });
  it('not before ESTABLISHED: a conn still in SYN_RECV at its 3rd packet waits for the 53rd', () => {
    assert.deepEqual(run([SYN_RECV, SYN_RECV, SYN_RECV, ...Array(60).fill(EST)]), [53]);
  });
  it('at once on each change into a closing state', () => {
    const states = [EST, EST, EST, EST, FIN_WAIT, FIN_WAIT, TIME_WAIT];
    assert.deepEqual(run(states), [3, 5, 7]);
  });
  it('UDP: the 3rd, 53rd ... packet', () => {
    assert.deepEqual(run(Array(104).fill(0), {}, 17), [3, 53, 103]);
  });
  it('period 0: only at the threshold', () => {
    assert.deepEqual(run(Array(200).fill(EST), { period: 0 }), [3]);
  });
  it('templates are sent whenever asked (no period test)', () => {
    assert.deepEqual(run([0, 0, 0, 0], {}, 6, true), [1, 2, 3, 4]);
  });
  it('sync_persist_mode 1: a conn under a template is not sent itself', () => {
    const c: SyncConnView = { proto: 6, state: EST, oldState: EST, template: false, inPersistence: true, timeout: 900_000, syncEnd: 0 };
    assert.equal(syncNeeded({ ...DEFAULT_SYNC_PARAMS, persistMode: 1 }, c, 3, 0), -1);
    assert.notEqual(syncNeeded(DEFAULT_SYNC_PARAMS, c, 3, 0), -1);
  });
  it('sync_refresh_period: resent when the expected end moved by the period, retries spaced by period/8', () => {
    // refresh 60 s, period 0: every packet is a candidate; a packet each second.
    const sent = run(Array(200).fill(EST), { period: 0, refreshPeriod: 60_000, retries: 1 }, 6, false, 1000);
    // First at packet 1 (the end moved from 0); one retry once refresh/8 = 7.5 s passed (packet
    // 9, stored end + 1 retry); then when the end moved 60 s past the retry's (packet 70), whose
    // retry follows 7.5 s later (78).
    assert.deepEqual(sent.slice(0, 4), [1, 9, 70, 78]);
  });
});

describe('sync: a batch of packets credited at once (syncPkts)', () => {
  // The threshold rule on counts alone (an established conn, no refresh period): does count k send?
  const fires = (s: SyncParams, k: number) => (s.period > 0 ? k % s.period === s.threshold : k === s.threshold);
  it('sends exactly when one of the batch, counted one by one, would have', () => {
    for (const [threshold, period] of [
      [3, 50],
      [0, 1],
      [7, 8],
      [3, 0],
      [0, 0],
    ] as const) {
      const s = { ...DEFAULT_SYNC_PARAMS, threshold, period };
      for (let from = 0; from < 130; from++) {
        for (const n of [1, 2, 3, 49, 50, 51, 100, 1000]) {
          let any = false;
          for (let k = from + 1; k <= from + n; k++) any ||= fires(s, k);
          const got = syncPkts(s, from, from + n);
          assert.equal(fires(s, got), any, `threshold ${threshold} period ${period}: ${from} → ${from + n} gave ${got}`);
          assert.ok(got > from && got <= from + n);
        }
      }
    }
  });
});
