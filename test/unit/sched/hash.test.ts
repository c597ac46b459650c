// The hash vectors of docs/spec/ipvs-kernel.md §1.14 and the Maglev table's shape.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hash32, hsiphash32, hsipKey } from '../../../src/core/sched/hash.js';
import { MH_HASH1, MH_HASH2, MH_TAB_SIZE, mhHashkey } from '../../../src/core/sched/mh.js';
import { shHashkey } from '../../../src/core/sched/sh.js';
import { addr, destSpec, makeRules, packet, svcSpec } from '../../helpers/rules.js';

/** SipHash-1-3 (64-bit state) on BigInt, written from the reference description. */
function hsiphashRef(v: number, k0: bigint, k1: bigint): number {
  const M = (1n << 64n) - 1n;
  const rol = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M;
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = () => {
    v0 = (v0 + v1) & M;
    v1 = rol(v1, 13n) ^ v0;
    v0 = rol(v0, 32n);
    v2 = (v2 + v3) & M;
    v3 = rol(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M;
    v3 = rol(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M;
    v1 = rol(v1, 17n) ^ v2;
    v2 = rol(v2, 32n);
  };
  const b = (4n << 56n) | BigInt(v >>> 0);
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
}

const ip = (s: string) => addr(s).fold();

describe('hash vectors from the spec', () => {
  const mhDests: [string, number, number][] = [
    ['10.0.0.1', 3167, 700],
    ['10.0.0.2', 1231, 3544],
    ['10.0.0.3', 1631, 3453],
  ];
  for (const [a, offset, skip] of mhDests) {
    it(`mh dest ${a}:80 → offset ${offset}, skip ${skip}`, () => {
      assert.equal(mhHashkey(ip(a), 80, MH_HASH1, 0) % MH_TAB_SIZE, offset);
      assert.equal((mhHashkey(ip(a), 80, MH_HASH2, 0) % (MH_TAB_SIZE - 1)) + 1, skip);
    });
  }
  const clients: [string, number, number][] = [
    ['192.168.1.100', 0xc15d2cf8, 1341],
    ['203.0.113.7', 0xa86e2c15, 1705],
  ];
  for (const [a, h, slot] of clients) {
    it(`mh client ${a} → ${h.toString(16)}, slot ${slot}`, () => {
      assert.equal(mhHashkey(ip(a), 0, MH_HASH1, 0), h);
      assert.equal(h % MH_TAB_SIZE, slot);
    });
  }
  it('dh/sh/lblc buckets', () => {
    assert.equal(hash32(ip('10.0.0.1'), 8), 39);
    assert.equal(hash32(ip('10.0.0.1'), 10), 159);
    assert.equal(hash32(ip('192.168.1.100'), 8), 89);
    assert.equal(hash32(ip('192.168.1.100'), 10), 357);
    assert.equal(shHashkey(ip('10.0.0.1'), 12345, 0), 134);
  });
  it('the 32-bit-halves hsiphash equals a BigInt reference on many inputs', () => {
    const k = [
      [2654435761n, 2654435761n],
      [0x0123456789abcdefn, 0xfedcba9876543210n],
    ] as const;
    for (const [k0, k1] of k) {
      const key = hsipKey(k0, k1);
      for (let i = 0; i < 2000; i++) {
        const v = (Math.imul(i, 0x9e3779b1) ^ (i << 7)) >>> 0;
        assert.equal(hsiphash32(v, key), hsiphashRef(v, k0, k1), `v=${v}`);
      }
    }
  });
});

describe('mh lookup table', () => {
  function build(weights: number[]) {
    const r = makeRules();
    const key = svcSpec('192.0.2.1', 80, { schedName: 'mh' });
    r.addService(key, 0);
    weights.forEach((w, k) => {
      r.addDest(key, destSpec(`10.0.0.${k + 1}`, 80, w), 0);
    });
    const svc = r.findService(key)!;
    const counts = new Map<string, number>();
    for (let s = 0; s < 20000; s++) {
      const d = svc.sched!.schedule(packet(`172.16.${s >> 8}.${s & 255}`, 1000, '192.0.2.1', 80), 0);
      if (d) counts.set(d.addr.toString(), (counts.get(d.addr.toString()) ?? 0) + 1);
    }
    return { r, key, svc, counts };
  }

  it('equal weights share the clients about equally; 2:1 weights about 2:1', () => {
    const eq = build([1, 1, 1]);
    for (const n of eq.counts.values()) assert.ok(Math.abs(n - 20000 / 3) < 600, `${n}`);
    const w = build([2, 1]);
    const ratio = w.counts.get('10.0.0.1')! / w.counts.get('10.0.0.2')!;
    assert.ok(ratio > 1.8 && ratio < 2.2, `ratio ${ratio}`);
  });

  it('a client keeps its dest; deleting another dest moves few clients', () => {
    const { r, key, svc } = build([1, 1, 1, 1]);
    const before: string[] = [];
    for (let s = 0; s < 2000; s++) {
      before.push(svc.sched!.schedule(packet(`172.17.${s >> 8}.${s & 255}`, 1, '192.0.2.1', 80), 0)!.addr.toString());
    }
    r.delDest(key, addr('10.0.0.4'), 80, 0);
    let moved = 0;
    for (let s = 0; s < 2000; s++) {
      const now = svc.sched!.schedule(packet(`172.17.${s >> 8}.${s & 255}`, 1, '192.0.2.1', 80), 0)!.addr.toString();
      if (before[s] !== '10.0.0.4' && now !== before[s]) moved++;
    }
    assert.ok(moved < 200, `only a few clients of the remaining dests move (${moved})`);
  });

  it('weight 0 keeps its slots (last_weight) and answers none without fallback', () => {
    const { r, key, svc } = build([1, 1]);
    r.editDest(key, destSpec('10.0.0.1', 80, 0));
    let none = 0;
    for (let s = 0; s < 1000; s++) {
      if (!svc.sched!.schedule(packet(`172.18.${s >> 8}.${s & 255}`, 1, '192.0.2.1', 80), 0)) none++;
    }
    assert.ok(none > 350 && none < 650, `about half the clients hash to the quiesced dest (${none})`);
    r.editService({ ...key, flags: 0x08 }, 0);
    for (let s = 0; s < 1000; s++) {
      const d = svc.sched!.schedule(packet(`172.18.${s >> 8}.${s & 255}`, 1, '192.0.2.1', 80), 0);
      assert.equal(d?.addr.toString(), '10.0.0.2');
    }
  });
});
