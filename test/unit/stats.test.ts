import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STAT_CONNS, STAT_INBYTES, STAT_INPKTS, Stats } from '../../src/core/stats.js';

describe('64-bit counters', () => {
  it('count packets and bytes exactly past 2^53', () => {
    const s = new Stats();
    s.setRaw(STAT_INBYTES, 2n ** 53n - 10n);
    for (let i = 0; i < 5; i++) s.addIn(7);
    assert.equal(s.value(STAT_INBYTES), 2n ** 53n - 10n + 35n);
    assert.equal(s.value(STAT_INPKTS), 5n);
  });

  it('wrap at 2^64 like a u64', () => {
    const s = new Stats();
    s.setRaw(STAT_INBYTES, 2n ** 64n - 1n);
    s.addIn(2);
    assert.equal(s.value(STAT_INBYTES), 1n);
  });

  it('a 98765T value from the spec fixture survives', () => {
    const s = new Stats();
    s.setRaw(STAT_INBYTES, 98765432109876543n);
    assert.equal(s.snapshot().inbytes, 98765432109876543n);
  });

  it('-Z reports from a zero point and keeps counting', () => {
    const s = new Stats();
    s.addConn();
    s.addConn();
    s.addIn(100);
    s.zeroStats();
    assert.deepEqual(s.snapshot(), {
      conns: 0n,
      inpkts: 0n,
      outpkts: 0n,
      inbytes: 0n,
      outbytes: 0n,
    });
    s.addConn();
    assert.equal(s.value(STAT_CONNS), 1n);
  });
});
