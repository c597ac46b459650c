// The XDP fast path in the kernel: the program with its fast maps through the real verifier and
// BPF_PROG_TEST_RUN, the entries written by the real FastPath from an in-process director's slow
// path. Each case's frame must come out of the kernel byte for byte as the slow path sends it,
// with the redirect verdict, or go on to the slow path; the counters the program adds must reach
// the conn's stats on tick(); a FIN through the slow path must take the conn out of the map.
// Needs root (bpf(2)); skips without it, except under CI=true.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STAT_INPKTS, STAT_OUTPKTS } from '../../src/core/stats.js';
import {
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_XSKMAP,
  BpfMap,
  loadXdpProgram,
  testRunXdpOut,
  XDP_REDIRECT,
} from '../../src/engine/packet/xdp/bpf.js';
import { FastPath } from '../../src/engine/packet/xdp/fast.js';
import { xdpProgram } from '../../src/engine/packet/xdp/prog.js';
import { XdpKeys } from '../../src/engine/packet/xdp/path.js';
import { libc } from '../../src/sys/libc.js';
import type { Director } from '../unit/packet/director.js';
import { checksumsOk, type FastCase, fastDirector, natFin, openConns, outerIdAside, slowPath } from '../unit/packet/xdp/fast-flows.js';

/**
 * What the test program returns where it would redirect to the AF_XDP socket. Its keys map is
 * empty, so frames the fast path leaves get XDP_PASS: the cases tell the slow path's frames
 * from the fast path's by XDP_REDIRECT alone.
 */
const SLOW = 3;
const notRoot = process.getuid?.() !== 0 ? 'loading an XDP program needs root (bpf(2) with CAP_BPF)' : false;
if (notRoot && process.env.CI === 'true') throw new Error(`CI must run the XDP fast path test: ${notRoot}`);

describe('XDP fast path (kernel verifier, BPF_PROG_TEST_RUN)', { skip: notRoot }, () => {
  let keys: XdpKeys;
  let xsk: BpfMap;
  let fast: FastPath;
  let d: Director;
  let cases: FastCase[];
  let prog = -1;
  const logs: string[] = [];

  before(async () => {
    d = await fastDirector((dir) => {
      fast = new FastPath(dir.ipvs, (m) => logs.push(m), { rxFast: () => true, takesRedirect: () => true });
      dir.ipvs.onExpire((ref) => fast.removeConn(ref));
      return fast;
    });
    keys = new XdpKeys();
    xsk = BpfMap.create(BPF_MAP_TYPE_XSKMAP, 'tsvs_test_xsk', 4, 4, 4);
    prog = loadXdpProgram(
      xdpProgram({ keysFd: keys.map.fd, xskFd: xsk.fd, maxLen: 3000, takenVerdict: SLOW, fast: fast.maps }),
      'tsvs_fast_test',
    );
    cases = openConns(d);
  });

  after(() => {
    if (prog >= 0) libc().close(prog);
    fast?.close();
    keys?.close();
    xsk?.close();
  });

  it('holds both directions of the NAT and FULLNAT conns and the DR and TUN conns, IPv4 and IPv6', () => {
    // NAT in and out, FULLNAT in and out, DR in, TUN in (ipip, GRE, GUE); NAT6 in and out, DR6
    // in, TUN6 in (ipip, GRE). Not GRE or GUE with checksums, nor GUE over IPv6.
    assert.equal(fast.size, 13, fast.notes().join('\n'));
  });

  it('rewrites and redirects what the slow path would forward, byte for byte, and leaves the rest to it', () => {
    // Outer IDs by tunnel (the request's destination, a VIP of its own).
    const lastId = new Map<string, number>();
    for (const c of cases) {
      const r = testRunXdpOut(prog, c.frame);
      if (!c.fast) {
        assert.notEqual(r.verdict, XDP_REDIRECT, `${c.what}: not redirected`);
        continue;
      }
      assert.equal(r.verdict, XDP_REDIRECT, `${c.what}: redirected by the fast path`);
      assert.ok(checksumsOk(r.out), `${c.what}: valid checksums`);
      const slow = slowPath(d, c.on, c.frame);
      if (c.ipip && c.frame[12] === 0x08) {
        assert.deepEqual(outerIdAside(r.out), outerIdAside(slow), `${c.what}: the kernel's bytes are the slow path's, the outer ID aside`);
        // The entry's IDs count up from a random base, one a frame.
        const id = (r.out[18]! << 8) | r.out[19]!;
        const vip = c.frame.subarray(30, 34).join('.');
        const last = lastId.get(vip);
        if (last !== undefined) assert.equal(id, (last + 1) & 0xffff, `${c.what}: the outer ID follows the entry's last`);
        lastId.set(vip, id);
        continue;
      }
      assert.deepEqual(r.out, slow, `${c.what}: the kernel's bytes are the slow path's`);
    }
  });

  it('credits what it forwarded to the conns on tick()', () => {
    const total = d.ipvs.rules.total;
    const inBefore = total.valueNumber(STAT_INPKTS);
    const outBefore = total.valueNumber(STAT_OUTPKTS);
    const natIn = cases.find((c) => c.what === 'NAT in: data from the client')!;
    const natOut = cases.find((c) => c.what === 'NAT out: data from the real server')!;
    for (let k = 0; k < 3; k++) assert.equal(testRunXdpOut(prog, natIn.frame).verdict, XDP_REDIRECT);
    for (let k = 0; k < 2; k++) assert.equal(testRunXdpOut(prog, natOut.frame).verdict, XDP_REDIRECT);
    fast.tick(60_000);
    // Counted once each, plus what the previous case ran through the kernel since the last tick.
    const inGot = total.valueNumber(STAT_INPKTS) - inBefore;
    const outGot = total.valueNumber(STAT_OUTPKTS) - outBefore;
    const fastIn = cases.filter((c) => c.fast && c.on === 'eth0').length;
    const fastOut = cases.filter((c) => c.fast && c.on === 'eth1').length;
    assert.equal(inGot, 3 + fastIn, 'in-packets credited');
    assert.equal(outGot, 2 + fastOut, 'out-packets credited');
    // The credit re-armed the NAT conn's timer from the tick's time: still there long after its
    // first frames (established TCP: 900 s), and not counted twice on the next tick.
    fast.tick(61_000);
    assert.equal(total.valueNumber(STAT_INPKTS) - inBefore, inGot);
  });

  it('takes a conn out when a FIN went through the slow path', () => {
    const { fin, after: data } = natFin();
    assert.notEqual(testRunXdpOut(prog, fin).verdict, XDP_REDIRECT, 'a FIN is the slow path’s');
    slowPath(d, 'eth0', fin);
    assert.equal(fast.size, 11, `the NAT conn left: ${fast.notes().join('\n')}`);
    assert.notEqual(testRunXdpOut(prog, data).verdict, XDP_REDIRECT, 'its next frame goes to the slow path');
  });

  it('takes out the conns of a dest that went away, and only those', async () => {
    const dr = cases.find((c) => c.what === 'DR: a datagram')!;
    const fnat = cases.find((c) => c.what === 'FULLNAT in: data')!;
    await d.rules(['-d -u 10.0.0.101:53 -r 10.1.0.12']);
    fast.prune();
    assert.equal(fast.size, 10, `the DR conn left, the others stayed: ${fast.notes().join('\n')}`);
    assert.notEqual(testRunXdpOut(prog, dr.frame).verdict, XDP_REDIRECT, 'its frames are the slow path’s');
    assert.equal(testRunXdpOut(prog, fnat.frame).verdict, XDP_REDIRECT, 'the others still go the fast way');
  });

  it("takes out a TUN conn whose dest's tunnel changed (the kernel reads it per packet), and only that", async () => {
    const gre = cases.find((c) => c.what === 'TUN (gre): data from the client')!;
    const ipip = cases.find((c) => c.what === 'TUN: data from the client')!;
    await d.rules(['-e -t 10.0.0.103:80 -r 10.1.0.12 -i -w 3']);
    fast.prune();
    assert.equal(fast.size, 10, `a weight is no tunnel: ${fast.notes().join('\n')}`);
    await d.rules(['-e -t 10.0.0.105:80 -r 10.1.0.12 -i --tun-type ipip']);
    fast.prune();
    assert.equal(fast.size, 9, `the GRE conn left: ${fast.notes().join('\n')}`);
    assert.notEqual(testRunXdpOut(prog, gre.frame).verdict, XDP_REDIRECT, 'its frames are the slow path’s, in ipip now');
    assert.equal(testRunXdpOut(prog, ipip.frame).verdict, XDP_REDIRECT, 'the others still go the fast way');
    // The slow path sends its next frame in ipip, and offers the conn again: the kernel follows.
    const slow = slowPath(d, gre.on, gre.frame);
    assert.equal(slow[23], 4, 'the slow path sends it in ipip');
    assert.equal(fast.size, 10);
    const r = testRunXdpOut(prog, gre.frame);
    assert.equal(r.verdict, XDP_REDIRECT);
    assert.deepEqual(outerIdAside(r.out), outerIdAside(slow), 'in ipip, as the slow path');
  });

  it('empties the map on clear(), both families in one call each', () => {
    const removed = fast.stats.removed;
    fast.clear('test');
    assert.equal(fast.size, 0);
    assert.equal(fast.stats.removed, removed + 10);
    assert.deepEqual(
      logs.filter((m) => m.includes('one entry at a time')),
      [],
      'the kernel took the batch',
    );
    for (const c of cases) assert.notEqual(testRunXdpOut(prog, c.frame).verdict, XDP_REDIRECT, c.what);
  });
});

describe('bpf(2) BPF_MAP_DELETE_BATCH', { skip: notRoot }, () => {
  it('deletes keys in one call, and stops at the first missing one', () => {
    const map = BpfMap.create(BPF_MAP_TYPE_HASH, 'tsvs_test_del', 4, 4, 4096);
    try {
      const key = (k: number) => Uint8Array.of(k & 0xff, k >>> 8, 0, 0);
      const keys = new Uint8Array(4 * 3000);
      for (let k = 0; k < 3000; k++) {
        map.update(key(k), Uint8Array.of(1, 2, 3, 4));
        keys.set(key(k), 4 * k);
      }
      assert.equal(map.deleteBatch(keys, 2000), 2000);
      assert.equal(map.delete(key(1999)), false, 'gone');
      assert.equal(map.delete(key(2000)), true, 'beyond the batch: kept');
      // 2001 on, with 2500 deleted before: the batch stops there, 2001-2499 deleted.
      assert.equal(map.delete(key(2500)), true);
      assert.equal(map.deleteBatch(keys.subarray(4 * 2001), 999), 499);
      assert.equal(map.delete(key(2499)), false);
      assert.equal(map.delete(key(2501)), true);
      assert.equal(map.deleteBatch(keys.subarray(4 * 2000), 1), 0, 'a missing key first: nothing deleted, no throw');
    } finally {
      map.close();
    }
  });
});
