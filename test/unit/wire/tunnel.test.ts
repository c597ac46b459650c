// TUN encapsulation (outer header fields as ip_vs_tunnel_xmit writes them, GUE and GRE
// layouts, checksums), the agent's decapsulation (round trip and every malformed class), GSO
// segmentation and checksum completion, and the ICMP "fragmentation needed" message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from '../../fc.js';
import { DecapResult, decapsulate, type TunnelKind } from '../../../src/agent/decap.js';
import {
  IP_VS_CONN_F_TUNNEL_TYPE_GRE,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE,
  IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
  IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
  type TunType,
} from '../../../src/core/constants.js';
import { checksum, fold, pseudo4, pseudo6, read16, read32, sum16, write16, write32 } from '../../../src/wire/csum.js';
import { Frame, PARSE_IP4 } from '../../../src/wire/frame.js';
import { completeChecksum, gsoSegments, writeSegment } from '../../../src/xmit/gso.js';
import { writeFragNeeded } from '../../../src/xmit/icmp.js';
import { gueSourcePort, newTunnelSpec, tunnelOverhead, writeTunnel } from '../../../src/xmit/tunnel.js';
import { frame4, frame6, ip, ip6 } from './build.js';

const DIP = ip('192.168.10.11');
const RIP = ip('192.168.10.12');
const VIP = ip('192.168.10.100');
const CIP = ip('192.168.10.200');
const DIP6 = ip6('2001:db8:9::11');
const RIP6 = ip6('2001:db8:9::12');
const VIP6 = ip6('2001:db8:9::100');
const CIP6 = ip6('2001:db8:9::200');

const KINDS: [TunnelKind, TunType][] = [
  ['ipip', IP_VS_CONN_F_TUNNEL_TYPE_IPIP],
  ['gue', IP_VS_CONN_F_TUNNEL_TYPE_GUE],
  ['gre', IP_VS_CONN_F_TUNNEL_TYPE_GRE],
];

/** Encapsulates the IP packet of `frame` and returns the outer IP packet. */
function encap(frame: Uint8Array, type: TunType, flags = 0, port = 6080, outer6 = false): Uint8Array {
  const inner = frame.subarray(14);
  const hl = tunnelOverhead(type, flags, outer6);
  const out = new Uint8Array(hl + inner.length);
  out.set(inner, hl);
  const t = newTunnelSpec();
  Object.assign(t, { type, flags, port, saddr: DIP, daddr: RIP, outer6 });
  t.saddr6.set(DIP6);
  t.daddr6.set(RIP6);
  const n = writeTunnel(out, 0, t, inner.length, 77, 40000);
  assert.equal(n, out.length);
  return out;
}

function parse(b: Uint8Array, vnet = -1, off = 0, len = b.length): Frame {
  const f = new Frame();
  assert.equal(f.parse(b, off, len, vnet), PARSE_IP4);
  return f;
}

describe('TUN encapsulation', () => {
  const req = frame4({ saddr: CIP, daddr: VIP, sport: 41000, dport: 80, payload: new Uint8Array(100).fill(7) });

  it('ipip: outer header as the kernel writes it (DF and TTL copied, protocol 4, checksum)', () => {
    req[15] = 0xbb; // DSCP 46, ECN CE
    const o = encap(req, IP_VS_CONN_F_TUNNEL_TYPE_IPIP);
    assert.equal(o[0], 0x45);
    assert.equal(o[1], 0xba, 'DS field copied, CE encapsulated as ECT(0)');
    assert.equal(read16(o, 2), 20 + req.length - 14);
    assert.equal(read16(o, 4), 77);
    assert.equal(read16(o, 6), 0x4000, 'DF copied from the inner header');
    assert.equal(o[8], 64);
    assert.equal(o[9], 4);
    assert.equal(read32(o, 12), DIP);
    assert.equal(read32(o, 16), RIP);
    assert.equal(fold(sum16(o, 0, 20)), 0xffff);
    assert.deepEqual(o.subarray(20), req.subarray(14), 'inner packet unchanged');
    req[15] = 0;
  });

  it('gue: UDP to the tun port, GUE header with the inner protocol; checksum only with --tun-csum', () => {
    for (const flags of [0, IP_VS_TUNNEL_ENCAP_FLAG_CSUM]) {
      const o = encap(req, IP_VS_CONN_F_TUNNEL_TYPE_GUE, flags, 6080);
      assert.equal(o[9], 17);
      assert.equal(read16(o, 20), 40000);
      assert.equal(read16(o, 22), 6080);
      assert.equal(read16(o, 24), o.length - 20);
      assert.deepEqual([...o.subarray(28, 32)], [0, 4, 0, 0]);
      if (flags) assert.equal(fold(sum16(o, 20, o.length - 20, pseudo4(DIP, RIP, 17, o.length - 20))), 0xffff);
      else assert.equal(read16(o, 26), 0);
    }
  });

  it('gre: 4-byte header, 8 with the checksum option, which verifies', () => {
    const plain = encap(req, IP_VS_CONN_F_TUNNEL_TYPE_GRE);
    assert.equal(plain[9], 47);
    assert.deepEqual([...plain.subarray(20, 24)], [0, 0, 8, 0]);
    const c = encap(req, IP_VS_CONN_F_TUNNEL_TYPE_GRE, IP_VS_TUNNEL_ENCAP_FLAG_CSUM);
    assert.equal(read16(c, 20), 0x8000);
    assert.equal(fold(sum16(c, 20, c.length - 20)), 0xffff);
    assert.deepEqual(c.subarray(28), req.subarray(14));
  });

  it('a flow keeps one GUE source port, inside the ephemeral range', () => {
    const a = gueSourcePort(CIP, VIP, (41000 << 16) | 80);
    assert.equal(a, gueSourcePort(CIP, VIP, (41000 << 16) | 80));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer(), (s, d, p) => {
        const port = gueSourcePort(s, d, p);
        return port >= 32768 && port <= 60999;
      }),
    );
  });
});

describe('decapsulation on the real server', () => {
  const vips = { v4: new Set([VIP]), v6: new Uint32Array(0) };

  it('every kind and checksum option gives back the inner packet', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KINDS),
        fc.boolean(),
        fc.uint8Array({ maxLength: 1400 }),
        fc.constantFrom<6 | 17>(6, 17),
        ([kind, type], csum, payload, proto) => {
          const req = frame4({ saddr: CIP, daddr: VIP, sport: 5000, dport: 80, proto, payload });
          let o = encap(req, type, csum ? IP_VS_TUNNEL_ENCAP_FLAG_CSUM : 0);
          if (kind === 'gue') o = o.subarray(28); // a UDP socket hands over the payload
          const r = decapsulate(kind, o, o.length, true, vips, new DecapResult());
          assert.equal(r.drop, null);
          assert.deepEqual(o.subarray(r.off, r.off + r.len), req.subarray(14));
          assert.equal(r.daddr, VIP);
        },
      ),
      { numRuns: 200 },
    );
  });

  const good = frame4({ saddr: CIP, daddr: VIP, sport: 5000, dport: 80 }).subarray(14);
  const cases: { what: string; kind: TunnelKind; bytes: () => Uint8Array; drop: string }[] = [
    { what: 'short outer header', kind: 'ipip', bytes: () => new Uint8Array(12).fill(0x45), drop: 'truncated' },
    { what: 'outer version 6', kind: 'ipip', bytes: () => withOuter(good, (o) => (o[0] = 0x65)), drop: 'bad_outer' },
    { what: 'inner cut short', kind: 'ipip', bytes: () => withOuter(good.subarray(0, 10)), drop: 'truncated' },
    { what: 'inner version 6', kind: 'ipip', bytes: () => withOuter(mut(good, (b) => (b[0] = 0x65))), drop: 'bad_inner' },
    {
      what: 'inner total length beyond the data',
      kind: 'ipip',
      bytes: () => withOuter(mut(good, (b) => write16(b, 2, 999))),
      drop: 'bad_inner',
    },
    {
      what: 'inner header checksum wrong',
      kind: 'ipip',
      bytes: () => withOuter(mut(good, (b) => (b[10]! ^= 1))),
      drop: 'bad_inner_checksum',
    },
    {
      what: 'inner packet for an address that is not a VIP here',
      kind: 'ipip',
      bytes: () => withOuter(frame4({ saddr: CIP, daddr: ip('10.9.9.9'), sport: 1, dport: 2 }).subarray(14)),
      drop: 'not_for_vip',
    },
    { what: 'GRE version 1', kind: 'gre', bytes: () => withOuter(cat([0, 1, 8, 0], good)), drop: 'bad_gre' },
    { what: 'GRE routing bit', kind: 'gre', bytes: () => withOuter(cat([0x40, 0, 8, 0], good)), drop: 'bad_gre' },
    { what: 'GRE carrying MPLS', kind: 'gre', bytes: () => withOuter(cat([0, 0, 0x88, 0x47], good)), drop: 'bad_gre' },
    { what: 'GRE checksum wrong', kind: 'gre', bytes: () => withOuter(cat([0x80, 0, 8, 0, 0x12, 0x34, 0, 0], good)), drop: 'bad_gre' },
    { what: 'GRE key option cut short', kind: 'gre', bytes: () => withOuter(Uint8Array.from([0x20, 0, 8, 0, 1])), drop: 'truncated' },
    { what: 'GUE control message', kind: 'gue', bytes: () => cat([0x20, 4, 0, 0], good), drop: 'bad_gue' },
    { what: 'GUE version 2', kind: 'gue', bytes: () => cat([0x80, 4, 0, 0], good), drop: 'bad_gue' },
    { what: 'GUE carrying GRE', kind: 'gue', bytes: () => cat([0, 47, 0, 0], good), drop: 'bad_gue' },
    { what: 'GRE saying IPv6 but carrying IPv4', kind: 'gre', bytes: () => withOuter(cat([0, 0, 0x86, 0xdd], good)), drop: 'bad_inner' },
    { what: 'GUE saying IPv6 but carrying IPv4', kind: 'gue', bytes: () => cat([0, 41, 0, 0], good), drop: 'bad_inner' },
    { what: 'GUE options beyond the datagram', kind: 'gue', bytes: () => Uint8Array.from([0x1f, 4, 0, 0, 1, 2]), drop: 'truncated' },
  ];
  for (const c of cases) {
    it(`${c.kind}: ${c.what} → ${c.drop}`, () => {
      const b = c.bytes();
      assert.equal(decapsulate(c.kind, b, b.length, true, vips, new DecapResult()).drop, c.drop);
    });
  }

  it('GUE variant 1 (the IP packet straight after UDP) and GRE key and sequence options are accepted', () => {
    const r = new DecapResult();
    assert.equal(decapsulate('gue', good, good.length, true, vips, r).drop, null);
    const keyed = withOuter(cat([0x30, 0, 8, 0, 0, 0, 0, 1, 0, 0, 0, 2], good));
    assert.equal(decapsulate('gre', keyed, keyed.length, true, vips, r).drop, null);
    assert.equal(r.off, 32);
  });

  it('a partial checksum (segments merged by GRO) is completed, IPv4 and IPv6 inside, TCP and UDP', () => {
    const both = { v4: new Set([VIP]), v6: VIP6 };
    for (const inner6 of [false, true]) {
      for (const proto of [6, 17] as const) {
        const payload = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7 + 3) & 0xff);
        const req = inner6
          ? frame6({ saddr: CIP6, daddr: VIP6, sport: 5000, dport: 80, proto, payload })
          : frame4({ saddr: CIP, daddr: VIP, sport: 5000, dport: 80, proto, payload });
        const l4 = 14 + (inner6 ? 40 : 20);
        const at = l4 + (proto === 6 ? 16 : 6);
        const l4len = req.length - l4;
        // What GRO leaves: the pseudo-header's sum, uncomplemented.
        const merged = req.slice();
        write16(merged, at, fold(inner6 ? sum16(merged, 22, 32, proto + l4len) : sum16(merged, 26, 8, proto + l4len)));
        assert.notDeepEqual(merged, req);
        const o = encap(merged, IP_VS_CONN_F_TUNNEL_TYPE_IPIP);
        const r = decapsulate('ipip', o, o.length, true, both, new DecapResult(), inner6 ? 41 : 4);
        assert.equal(r.drop, null);
        assert.equal(r.completed, true, `${inner6 ? 'v6' : 'v4'} ${proto}: completed`);
        assert.deepEqual(o.subarray(r.off, r.off + r.len), req.subarray(14), 'the checksum a complete segment has');
        // A complete one is delivered as it is.
        const c = encap(req, IP_VS_CONN_F_TUNNEL_TYPE_IPIP);
        const rc = decapsulate('ipip', c, c.length, true, both, new DecapResult(), inner6 ? 41 : 4);
        assert.equal(rc.completed, false);
        assert.deepEqual(c.subarray(rc.off, rc.off + rc.len), req.subarray(14));
      }
    }
  });

  it('every family pairing (4in4, 6in6, 4in6, 6in4) round-trips; the outer header says what is inside', () => {
    const both = { v4: new Set([VIP]), v6: VIP6 };
    fc.assert(
      fc.property(
        fc.constantFrom(...KINDS),
        fc.boolean(),
        fc.boolean(),
        fc.uint8Array({ maxLength: 1200 }),
        ([kind, type], inner6, outer6, payload) => {
          const req = inner6
            ? frame6({ saddr: CIP6, daddr: VIP6, sport: 5000, dport: 80, payload })
            : frame4({ saddr: CIP, daddr: VIP, sport: 5000, dport: 80, payload });
          const o = encap(req, type, 0, 6080, outer6);
          assert.equal(o[0]! >>> 4, outer6 ? 6 : 4);
          const oh = outer6 ? 40 : 20;
          if (kind === 'ipip') assert.equal(outer6 ? o[6] : o[9], inner6 ? 41 : 4);
          if (kind === 'gre') assert.equal(read16(o, oh + 2), inner6 ? 0x86dd : 0x0800);
          if (kind === 'gue') {
            assert.equal(o[oh + 9], inner6 ? 41 : 4);
            if (outer6)
              assert.equal(
                fold(sum16(o, oh, o.length - oh, pseudo6(DIP6, RIP6, 17, o.length - oh))),
                0xffff,
                'UDP over IPv6 has its checksum',
              );
          }
          // What each socket hands over: GUE's UDP payload, a raw IPv6 socket's packet without
          // its IPv6 header, a raw IPv4 socket's whole packet.
          const got = kind === 'gue' ? o.subarray(oh + 8) : outer6 ? o.subarray(40) : o;
          const r = decapsulate(kind, got, got.length, kind !== 'gue' && !outer6, both, new DecapResult(), inner6 ? 41 : 4);
          assert.equal(r.drop, null);
          assert.equal(r.v6, inner6);
          assert.deepEqual(got.subarray(r.off, r.off + r.len), req.subarray(14));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random bytes never throw and are never delivered to a VIP they do not name', () => {
    fc.assert(
      fc.property(fc.constantFrom<TunnelKind>('ipip', 'gue', 'gre'), fc.uint8Array({ maxLength: 200 }), (kind, b) => {
        const r = decapsulate(kind, b, b.length, true, vips, new DecapResult());
        if (r.drop === null) assert.equal(read32(b, r.off + 16), VIP);
      }),
      { numRuns: 2000 },
    );
  });
});

function cat(head: number[], tail: Uint8Array): Uint8Array {
  const b = new Uint8Array(head.length + tail.length);
  b.set(head);
  b.set(tail, head.length);
  return b;
}

function mut(src: Uint8Array, f: (b: Uint8Array) => void): Uint8Array {
  const b = Uint8Array.from(src);
  f(b);
  return b;
}

/** A 20-byte outer IPv4 header (as a raw socket hands it over) in front of `payload`. */
function withOuter(payload: Uint8Array, f?: (o: Uint8Array) => void): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  b[0] = 0x45;
  write16(b, 2, b.length);
  b[8] = 64;
  b[9] = 4;
  write32(b, 12, DIP);
  write32(b, 16, RIP);
  write16(b, 10, checksum(b, 0, 20));
  b.set(payload, 20);
  f?.(b);
  return b;
}

/** A GSO frame as veth hands it over: virtio header (TCPv4 or UDP_L4, gso_size) + super-packet. */
function gsoFrame(proto: 6 | 17, payload: Uint8Array, size: number, flags = 0x18): Uint8Array {
  const f = frame4({ saddr: CIP, daddr: VIP, sport: 5000, dport: 80, proto, payload, flags });
  const b = new Uint8Array(10 + f.length);
  b[0] = 1; // NEEDS_CSUM
  b[1] = proto === 6 ? 1 : 5;
  b[4] = size & 255;
  b[5] = size >> 8;
  b.set(f, 10);
  // Like a sender with checksum offload: the field holds the pseudo-header sum only.
  const l4 = 10 + 34;
  const at = proto === 6 ? l4 + 16 : l4 + 6;
  write16(b, at, fold(pseudo4(CIP, VIP, proto, f.length - 34)));
  return b;
}

describe('GSO segmentation and checksum completion', () => {
  it('segments carry the payload in order, with sequence numbers, flags, IDs and checksums right', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<6 | 17>(6, 17),
        fc.uint8Array({ minLength: 1, maxLength: 9000 }),
        fc.integer({ min: 100, max: 1448 }),
        (proto, payload, size) => {
          const b = gsoFrame(proto, payload, size, 0x19 | 0x80); // FIN PSH ACK CWR
          const f = parse(b, 0, 10, b.length - 10);
          const n = gsoSegments(f);
          assert.equal(n, Math.ceil(payload.length / size));
          const got: number[] = [];
          const seg = new Uint8Array(2000);
          write16(seg, 12, 0x0800);
          for (let k = 0; k < n; k++) {
            const len = writeSegment(f, k, seg, 14);
            const s = parse(seg, -1, 0, 14 + len);
            assert.ok(s.l4ChecksumOk(), `segment ${k} checksum`);
            assert.equal(read16(seg, 18), (0x1234 + k) & 0xffff);
            const hl = proto === 6 ? 40 : 28;
            got.push(...seg.subarray(14 + hl, 14 + len));
            if (proto === 6) {
              assert.equal(read32(seg, 38), 1000 + k * size);
              const fl = seg[47]!;
              assert.equal((fl & 0x09) !== 0, k === n - 1, 'FIN and PSH on the last segment only');
              assert.equal((fl & 0x80) !== 0, k === 0, 'CWR on the first segment only');
            } else assert.equal(read16(seg, 38), len - 20);
          }
          assert.deepEqual(Uint8Array.from(got), payload);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a partial checksum is completed in place', () => {
    for (const proto of [6, 17] as const) {
      const b = gsoFrame(proto, new Uint8Array(333).fill(9), 1448);
      b[1] = 0; // not GSO: one packet with a partial checksum
      const f = parse(b, 0, 10, b.length - 10);
      assert.ok(f.partial);
      completeChecksum(f);
      const g = parse(b.subarray(10));
      assert.ok(g.l4ChecksumOk());
    }
  });
});

describe('ICMP fragmentation needed', () => {
  it('goes to the sender from the given address, with the MTU and the quoted header', () => {
    const req = frame4({ saddr: CIP, daddr: VIP, sport: 41000, dport: 80, payload: new Uint8Array(1460) });
    const f = parse(req);
    const out = new Uint8Array(700);
    const n = writeFragNeeded(f, VIP, 1480, out, 0, 9);
    assert.equal(n, 576, 'quote capped so the error fits 576 bytes');
    assert.equal(read32(out, 12), VIP);
    assert.equal(read32(out, 16), CIP);
    assert.equal(out[9], 1);
    assert.equal(fold(sum16(out, 0, 20)), 0xffff);
    assert.deepEqual([out[20], out[21]], [3, 4]);
    assert.equal(read16(out, 26), 1480);
    assert.equal(fold(sum16(out, 20, n - 20)), 0xffff, 'ICMP checksum');
    assert.deepEqual(out.subarray(28, 48), req.subarray(14, 34), 'the offending header is quoted');
  });
});
