// AF_XDP frames carry no metadata: partial.ts recognises a CHECKSUM_PARTIAL segment (the field
// holds the pseudo-header sum) and writes the virtio_net_hdr the packet socket would have given.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fold, pseudo4, write16 } from '../../../../src/wire/csum.js';
import { writeVnetHdr } from '../../../../src/engine/packet/xdp/partial.js';
import { parseXdpFast, parseXdpMode, xdpPlan } from '../../../../src/engine/packet/xdp/path.js';
import { frame4, frame6, ip, ip6 } from '../../wire/build.js';

const PRE = 10;
function inHeadroom(f: Uint8Array): Uint8Array {
  const b = new Uint8Array(PRE + f.length).fill(0xee);
  b.set(f, PRE);
  return b;
}

describe('partial checksums on AF_XDP', () => {
  it('a full checksum gets an all-zero header', () => {
    const b = inHeadroom(
      frame4({ saddr: ip('10.0.0.1'), daddr: ip('10.0.0.2'), sport: 1, dport: 80, payload: new Uint8Array(40).fill(7) }),
    );
    assert.equal(writeVnetHdr(b, PRE, b.length - PRE, 0), false);
    assert.deepEqual([...b.subarray(0, PRE)], new Array(PRE).fill(0));
  });

  for (const proto of [6, 17] as const) {
    it(`an IPv4 ${proto === 6 ? 'TCP' : 'UDP'} pseudo-header sum is marked NEEDS_CSUM at the L4 checksum`, () => {
      const f = frame4({ proto, saddr: ip('10.0.0.1'), daddr: ip('10.0.0.2'), sport: 1, dport: 80, payload: new Uint8Array(40).fill(7) });
      const at = 34 + (proto === 6 ? 16 : 6);
      write16(f, at, fold(pseudo4(ip('10.0.0.1'), ip('10.0.0.2'), proto, f.length - 34)));
      const b = inHeadroom(f);
      assert.equal(writeVnetHdr(b, PRE, f.length, 0), true);
      const dv = new DataView(b.buffer);
      assert.equal(b[0], 1);
      assert.equal(dv.getUint16(6, true), 34);
      assert.equal(dv.getUint16(8, true), proto === 6 ? 16 : 6);
    });
  }

  it('IPv6 too', () => {
    const s = ip6('fd00::1');
    const d = ip6('fd00::2');
    const f = frame6({ saddr: s, daddr: d, sport: 1, dport: 80 });
    const l4len = f.length - 54;
    let acc = 6 + l4len;
    for (const w of [...s, ...d]) acc += (w >>> 16) + (w & 0xffff);
    write16(f, 54 + 16, fold(acc));
    const b = inHeadroom(f);
    assert.equal(writeVnetHdr(b, PRE, f.length, 0), true);
    assert.equal(new DataView(b.buffer).getUint16(6, true), 54);
  });

  it('a fragment is left alone', () => {
    const f = frame4({ saddr: ip('10.0.0.1'), daddr: ip('10.0.0.2'), sport: 1, dport: 80, mf: true });
    write16(f, 50, fold(pseudo4(ip('10.0.0.1'), ip('10.0.0.2'), 6, f.length - 34)));
    assert.equal(writeVnetHdr(inHeadroom(f), PRE, f.length, 0), false);
  });
});

describe('--xdp', () => {
  it('parses its four values and refuses others', () => {
    assert.equal(parseXdpMode(undefined), 'auto');
    for (const m of ['auto', 'native', 'generic', 'off']) assert.equal(parseXdpMode(m), m);
    assert.throws(() => parseXdpMode('fast'), /--xdp fast: use auto, native, generic or off/);
  });

  it('--xdp-fast: on or off, off when unset; refuses others', () => {
    assert.equal(parseXdpFast(undefined), false);
    assert.equal(parseXdpFast(''), false);
    assert.equal(parseXdpFast('off'), false);
    assert.equal(parseXdpFast('on'), true);
    assert.throws(() => parseXdpFast('yes'), /--xdp-fast yes: use on or off/);
    assert.throws(() => parseXdpFast('1', 'TSVS_XDP_FAST'), /TSVS_XDP_FAST 1: use on or off/);
  });

  it('auto keeps the packet socket on a virtual interface, and says why', () => {
    const p = xdpPlan('auto', 'lo');
    assert.deepEqual(p.tries, []);
    assert.match(p.why, /virtual interface/);
    assert.deepEqual(xdpPlan('off', 'lo').tries, []);
    assert.deepEqual(xdpPlan('generic', 'lo').tries, ['generic']);
  });
});
