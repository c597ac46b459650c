// VRRP codec against vectors computed independently (Python's struct + RFC 1071 sum), and the
// defensive decode: each malformed advert is dropped with its named reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Addr } from '../../../src/core/inet.js';
import {
  AUTH_NONE,
  AUTH_PASS,
  decodeAdvert,
  encodeAdvert,
  parseIpv4,
  passAuthData,
  type VrrpAdvert,
  type VrrpCarrier,
} from '../../../src/ha/vrrp/packet.js';

const b = (s: string) => Addr.parse(s)!.toBytes();
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
const unhex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

const V2: VrrpAdvert = {
  version: 2,
  vrid: 51,
  priority: 100,
  intervalCs: 100,
  addrs: [b('10.0.0.100')],
  authType: AUTH_PASS,
  authData: passAuthData('secret'),
};
const V3_4: VrrpAdvert = {
  version: 3,
  vrid: 7,
  priority: 150,
  intervalCs: 25,
  addrs: [b('10.0.0.100')],
  authType: AUTH_NONE,
  authData: new Uint8Array(0),
};
const V3_6: VrrpAdvert = {
  version: 3,
  vrid: 9,
  priority: 200,
  intervalCs: 100,
  addrs: [b('fd00::100')],
  authType: AUTH_NONE,
  authData: new Uint8Array(0),
};
const on4 = { family: 4 as const, src: b('10.0.0.1'), dst: b('224.0.0.18') };
const on6 = { family: 6 as const, src: b('fe80::1'), dst: b('ff02::12') };
const carrier = (o: typeof on4 | typeof on6, ttl = 255): VrrpCarrier => ({ ...o, ttl, checkTtl: true });

const vectors = [
  { what: 'v2 PASS auth, 1 s', adv: V2, opts: on4, wire: '213364010101331a0a0000647365637265740000' },
  { what: 'v3 IPv4 with pseudo-header (keepalived default), 0.25 s', adv: V3_4, opts: on4, wire: '31079601001943ea0a000064' },
  { what: 'v3 IPv4 as v2 (v3_checksum_as_v2)', adv: V3_4, opts: { ...on4, v3ChecksumAsV2: true }, wire: '3107960100192e7a0a000064' },
  { what: 'v3 IPv6 with pseudo-header', adv: V3_6, opts: on6, wire: '3109c80100640a71fd000000000000000000000000000100' },
];

for (const v of vectors) {
  test(`encode: ${v.what}`, () => {
    assert.equal(hex(encodeAdvert(v.adv, v.opts)), v.wire);
  });
  test(`decode: ${v.what}`, () => {
    const r = decodeAdvert(unhex(v.wire), carrier(v.opts));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.advert, v.adv);
  });
}

const drops: { what: string; wire: string; c: VrrpCarrier; drop: string }[] = [
  { what: 'shorter than the header', wire: '2133640101', c: carrier(on4), drop: 'truncated' },
  { what: 'TTL 254', wire: vectors[0]!.wire, c: carrier(on4, 254), drop: 'bad_ttl' },
  { what: 'version 4', wire: '41' + vectors[0]!.wire.slice(2), c: carrier(on4), drop: 'bad_version' },
  { what: 'v2 over IPv6', wire: vectors[0]!.wire, c: carrier(on6), drop: 'bad_version' },
  { what: 'type 2', wire: '22' + vectors[0]!.wire.slice(2), c: carrier(on4), drop: 'bad_type' },
  { what: 'count says 2 addresses, 1 there', wire: '213364020101331a0a0000647365637265740000', c: carrier(on4), drop: 'bad_length' },
  { what: 'v2 checksum off by one', wire: '213364010101331b0a0000647365637265740000', c: carrier(on4), drop: 'bad_checksum' },
  { what: 'v3 IPv6 from another source', wire: vectors[3]!.wire, c: { ...carrier(on6), src: b('fe80::2') }, drop: 'bad_checksum' },
  { what: 'v3 IPv4 priority changed', wire: '31079701001943ea0a000064', c: carrier(on4), drop: 'bad_checksum' },
];
for (const d of drops) {
  test(`decode drops: ${d.what}`, () => {
    assert.deepEqual(decodeAdvert(unhex(d.wire), d.c), { ok: false, drop: d.drop });
  });
}

test('unicast peers are not held to TTL 255', () => {
  assert.ok(decodeAdvert(unhex(vectors[0]!.wire), { ...carrier(on4, 64), checkTtl: false }).ok);
});

test('PASS data: first 8 characters, zero padded', () => {
  assert.equal(hex(passAuthData('abcdefghij')), hex(new TextEncoder().encode('abcdefgh')));
  assert.equal(hex(passAuthData('ab')), '6162000000000000');
});

test('parseIpv4: header fields and payload bounded by total length', () => {
  const pkt = unhex('45c00020000000 00ff70 0000 0a000001 e0000012'.replace(/ /g, '') + vectors[1]!.wire + 'dead');
  const v = parseIpv4(pkt)!;
  assert.equal(v.ttl, 255);
  assert.equal(v.proto, 112);
  assert.equal(hex(v.payload), vectors[1]!.wire);
  assert.equal(parseIpv4(pkt.subarray(0, 19)), null);
  assert.equal(parseIpv4(pkt.subarray(0, 30)), null, 'total length beyond what was read');
  assert.equal(parseIpv4(unhex('44' + hex(pkt).slice(2))), null, 'IHL below 5 words');
});
