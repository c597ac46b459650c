// The fast path's entries, in JavaScript: an entry built from what the slow path did to a conn's
// frame, applied to the conn's next frames by the program's model (applyFastValue), must give
// exactly what the slow path sends for them, with valid checksums; and the frames the program
// leaves to the slow path must be refused. The kernel's own run of the program is held to the
// same cases in test/integration/xdp-fast-prog.test.ts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PacketInfo } from '../../../../src/core/ipvs.js';
import type { FastOffer } from '../../../../src/engine/packet/forward.js';
import type { Iface } from '../../../../src/engine/packet/iface.js';
import {
  applyFastTun,
  applyFastTun6,
  applyFastValue,
  applyFastValue6,
  FAST_KIND_GRE,
  FAST_KIND_GUE,
  FAST_KIND_IPIP,
  FAST6_KEY_SIZE,
  FAST6_VALUE_SIZE,
  FAST_KEY_SIZE,
  FAST_VALUE_SIZE,
  FV_IFINDEX,
  FV_MTU,
  fastTunKind,
  writeFastKey,
  writeFastKey6,
  writeFastValue,
  writeFastValue6,
  writeFastValueTun,
  writeFastValueTun6,
} from '../../../../src/engine/packet/xdp/fast-entry.js';
import type { Frame } from '../../../../src/wire/frame.js';
import { IFACES } from '../director.js';
import { checksumsOk, clientData, fastDirector, MTU_IN, openConns, outerIdAside, slowPath } from './fast-flows.js';

/** Records an entry for every frame the slow path offers, keyed by the arriving tuple. */
class Recorder implements FastOffer {
  readonly entries = new Map<string, Uint8Array>();

  offer(
    _ref: number,
    f: Frame,
    p: PacketInfo,
    _dir: number,
    out: Iface,
    rx: Iface,
    _proxied: boolean,
    enc: Uint8Array | null,
    encAt: number,
  ): void {
    if (f.v6) {
      const k = new Uint8Array(FAST6_KEY_SIZE);
      writeFastKey6(k, 0, f.proto, p.saddr, p.daddr, p.sport, p.dport);
      const v = new Uint8Array(FAST6_VALUE_SIZE);
      if (enc) writeFastValueTun6(v, 0, enc, encAt, out, rx.mac, 7);
      else writeFastValue6(v, 0, p, f, out, rx.mac, 7);
      this.entries.set(Buffer.from(k).toString('hex'), v);
      return;
    }
    const k = new Uint8Array(FAST_KEY_SIZE);
    writeFastKey(k, 0, f.proto, p.saddr[0]!, p.daddr[0]!, p.sport, p.dport);
    const v = new Uint8Array(FAST_VALUE_SIZE);
    if (enc) writeFastValueTun(v, 0, enc, encAt, out, rx.mac, 7, 0xfff0);
    else writeFastValue(v, 0, { saddr: p.saddr[0]!, daddr: p.daddr[0]!, sport: p.sport, dport: p.dport }, f, out, rx.mac, 7);
    this.entries.set(Buffer.from(k).toString('hex'), v);
  }

  /** The entry for a frame as it arrives, as the program looks it up. */
  find(b: Uint8Array): Uint8Array | undefined {
    if (b[12] === 0x86) {
      const k = new Uint8Array(FAST6_KEY_SIZE);
      k[0] = b[20]!;
      k.set(b.subarray(22, 54), 4);
      k.set(b.subarray(54, 58), 36);
      return this.entries.get(Buffer.from(k).toString('hex'));
    }
    const k = new Uint8Array(FAST_KEY_SIZE);
    k[0] = b[23]!;
    k.set(b.subarray(26, 34), 4);
    k.set(b.subarray(34, 38), 12);
    return this.entries.get(Buffer.from(k).toString('hex'));
  }

  /** The program's model for the frame's family. */
  static apply(b: Uint8Array, v: Uint8Array): boolean {
    return b[12] === 0x86 ? applyFastValue6(b, 0, v, 0) : applyFastValue(b, 0, v, 0);
  }
}

describe('XDP fast path entries (the model of the program)', () => {
  for (const [xsk, how] of [
    [false, ''],
    [true, ', received through AF_XDP (TUN encapsulated in the headroom)'],
  ] as const) {
    it(`repeat the slow path byte for byte on NAT, DR and FULLNAT frames (IPv4, IPv6), and refuse what the slow path must see${how}`, async () => {
      const rec = new Recorder();
      const d = await fastDirector(() => rec, xsk);
      const cases = openConns(d);
      assert.ok(cases.length >= 14);
      for (const c of cases) {
        const v = rec.find(c.frame);
        if (!c.fast) {
          if (!v) continue;
          const b = c.frame.slice();
          assert.equal(Recorder.apply(b, v), false, `${c.what}: left to the slow path`);
          assert.equal(b[12] === 0x86 ? applyFastTun6(b, 0, v, 0) : applyFastTun(b, 0, v, 0, 1), null, `${c.what}: left to the slow path`);
          assert.deepEqual(b, c.frame, `${c.what}: a refused frame is not touched`);
          continue;
        }
        assert.ok(v, `${c.what}: the slow path offered the conn`);
        if (c.ipip) {
          assert.equal(Recorder.apply(c.frame.slice(), v), false, `${c.what}: not a rewrite`);
          const v6 = c.frame[12] === 0x86;
          const fast = v6 ? applyFastTun6(c.frame, 0, v, 0) : applyFastTun(c.frame, 0, v, 0, 0x20);
          assert.ok(fast, `${c.what}: taken`);
          const slow = slowPath(d, c.on, c.frame);
          if (v6) assert.deepEqual(fast, slow, `${c.what}: the same bytes as the slow path`);
          else {
            assert.deepEqual(outerIdAside(fast), outerIdAside(slow), `${c.what}: the same bytes as the slow path, the outer ID aside`);
            assert.equal((fast[18]! << 8) | fast[19]!, 0x10, 'the base (0xfff0) plus the count, mod 2^16');
          }
          assert.ok(checksumsOk(fast), `${c.what}: valid checksums`);
          assert.ok(checksumsOk(slow), `${c.what}: valid checksums (slow path)`);
          continue;
        }
        const fast = c.frame.slice();
        assert.equal(Recorder.apply(fast, v), true, `${c.what}: taken`);
        const slow = slowPath(d, c.on, c.frame);
        assert.deepEqual(fast, slow, `${c.what}: the same bytes as the slow path`);
        assert.ok(checksumsOk(fast), `${c.what}: valid checksums`);
      }
    });
  }

  it('name the out interface and its MTU', async () => {
    const rec = new Recorder();
    const d = await fastDirector(() => rec);
    const cases = openConns(d);
    const natIn = cases.find((c) => c.what === 'NAT in: data from the client')!;
    const v = rec.find(natIn.frame)!;
    const dv = new DataView(v.buffer);
    assert.equal(dv.getUint32(FV_IFINDEX, true), IFACES.eth1!.ifindex);
    assert.equal(dv.getUint16(FV_MTU, true), MTU_IN);
    const natOut = cases.find((c) => c.what === 'NAT out: data from the real server')!;
    assert.equal(new DataView(rec.find(natOut.frame)!.buffer).getUint32(FV_IFINDEX, true), IFACES.eth0!.ifindex);
  });

  it('know the tunnels the program repeats from the frames the slow path sent, and refuse the others', async () => {
    const d = await fastDirector(() => new Recorder());
    openConns(d);
    const sent = (vip: string, port: number, udp: boolean) => slowPath(d, 'eth0', clientData(vip, port, udp));
    assert.equal(fastTunKind(sent('10.0.0.103', 80, false), 0), FAST_KIND_IPIP);
    assert.equal(fastTunKind(sent('fd00::103', 80, false), 0), FAST_KIND_IPIP);
    assert.equal(fastTunKind(sent('10.0.0.105', 80, false), 0), FAST_KIND_GRE);
    assert.equal(fastTunKind(sent('fd00::105', 80, false), 0), FAST_KIND_GRE);
    assert.equal(fastTunKind(sent('10.0.0.104', 53, true), 0), FAST_KIND_GUE);
    // Checksummed GRE and GUE, and GUE over IPv6 (always checksummed): the slow path's.
    for (const [vip, port, udp] of [
      ['10.0.0.106', 80, false],
      ['10.0.0.107', 53, true],
      ['fd00::106', 53, true],
    ] as const) {
      const enc = sent(vip, port, udp);
      assert.equal(fastTunKind(enc, 0), -1, vip);
      const v = new Uint8Array(FAST6_VALUE_SIZE);
      const out = { ifindex: 3, mtu: 1500 };
      const wrote = vip.includes(':')
        ? writeFastValueTun6(v, 0, enc, 0, out, new Uint8Array(6), 1)
        : writeFastValueTun(v, 0, enc, 0, out, new Uint8Array(6), 1, 0);
      assert.equal(wrote, false, `${vip}: no entry`);
      assert.ok(
        v.every((b) => b === 0),
        `${vip}: nothing written`,
      );
    }
  });
});
