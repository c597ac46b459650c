// IPv6 on the wire: parsing (extension headers, fragments, malformed), NAT rewrites with
// incremental checksums, hop limits, Neighbour Discovery messages, "packet too big", and the
// IPv6 route and neighbour tables.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from '../../fc.js';
import { NeighTable6 } from '../../../src/engine/packet/neigh.js';
import { RouteTable6 } from '../../../src/engine/packet/routes.js';
import { checksum, fold, pseudo6, read16, read32, sum16, write16, write128 } from '../../../src/wire/csum.js';
import { DROP } from '../../../src/wire/drops.js';
import { Frame, PARSE_IP6, PARSE_MALFORMED } from '../../../src/wire/frame.js';
import { ND_NEIGHBOR_ADVERT, ND_NEIGHBOR_SOLICIT, NdpInfo, solicitedNode, writeNa, writeNs } from '../../../src/wire/ndp.js';
import { writePacketTooBig6 } from '../../../src/xmit/icmp.js';
import { fullnatIcmp6In, fullnatIcmp6Out, IcmpQuote6, natIcmp6In, natIcmp6Out } from '../../../src/xmit/icmp6.js';
import { decHop6 } from '../../../src/xmit/ip.js';
import { dnat6, snat6 } from '../../../src/xmit/nat.js';
import { frame6, ip6, MAC_A, MAC_B } from './build.js';

const C = ip6('2001:db8:1::200');
const V = ip6('2001:db8:1::1');

function parse(b: Uint8Array): Frame {
  const f = new Frame();
  assert.equal(f.parse(b, 0, b.length, -1), PARSE_IP6);
  return f;
}

describe('IPv6 parsing', () => {
  it('reads addresses, hop limit, ports and the transport header behind extension headers', () => {
    const b = frame6({ saddr: C, daddr: V, sport: 40000, dport: 80, hop: 9, ext: ['hbh'] });
    const f = parse(b);
    assert.ok(f.v6);
    assert.deepEqual([...f.saddr6], [...C]);
    assert.deepEqual([...f.daddr6], [...V]);
    assert.equal(f.ttl, 9);
    assert.equal(f.proto, 6);
    assert.equal(f.l4, 14 + 40 + 8);
    assert.equal(f.ihl, 48);
    assert.equal([f.sport, f.dport, f.tcpFlags].join(), '40000,80,2');
    assert.ok(f.l4ChecksumOk());
  });

  it('fragments are found: a first fragment and a later one', () => {
    for (const e of ['frag', 'frag-later'] as const) {
      const f = parse(frame6({ saddr: C, daddr: V, sport: 1, dport: 2, ext: [e] }));
      assert.ok(f.fragment, e);
    }
  });

  it('malformed: short header, wrong version, payload length beyond the frame, extension beyond the packet', () => {
    const f = new Frame();
    const good = frame6({ saddr: C, daddr: V, sport: 1, dport: 2 });
    const cases: [Uint8Array, number][] = [
      [good.subarray(0, 40), DROP.truncated],
      [Uint8Array.from(good, (x, i) => (i === 14 ? 0x40 : x)), DROP.bad_ip_header],
      [Uint8Array.from(good, (x, i) => (i === 18 ? 0x7f : x)), DROP.bad_length],
    ];
    const ext = frame6({ saddr: C, daddr: V, sport: 1, dport: 2, ext: ['hbh'] });
    ext[55] = 200; // hop-by-hop length beyond the packet
    cases.push([ext, DROP.bad_length]);
    for (const [b, why] of cases) {
      assert.equal(f.parse(b, 0, b.length, -1), PARSE_MALFORMED);
      assert.equal(f.reason, why);
    }
  });

  it('random bytes labelled IPv6 never throw', () => {
    const f = new Frame();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 14, maxLength: 200 }), (data) => {
        const b = Uint8Array.from(data);
        b[12] = 0x86;
        b[13] = 0xdd;
        if (b.length > 14) b[14] = 0x60 | (b[14]! & 15);
        const k = f.parse(b, 0, b.length, -1);
        if (k === PARSE_IP6) f.l4ChecksumOk();
      }),
      { numRuns: 3000 },
    );
  });
});

describe('IPv6 NAT', () => {
  it('DNAT then SNAT keep the TCP/UDP checksum right for any addresses and ports', () => {
    const word = fc.integer({ min: 0, max: 0xffffffff });
    const addr = fc.array(word, { minLength: 4, maxLength: 4 }).map((a) => Uint32Array.from(a));
    fc.assert(
      fc.property(
        fc.constantFrom<6 | 17>(6, 17),
        addr,
        addr,
        addr,
        fc.integer({ min: 1, max: 65535 }),
        fc.uint8Array({ maxLength: 300 }),
        (proto, c, r, x, port, payload) => {
          const b = frame6({ saddr: c, daddr: V, sport: 5555, dport: 80, proto, payload });
          const f = parse(b);
          dnat6(f, r, port);
          const g = parse(b);
          assert.ok(g.l4ChecksumOk());
          assert.deepEqual([...g.daddr6], [...r]);
          assert.equal(g.dport, port);
          snat6(g, x, 1234);
          const h = parse(b);
          assert.ok(h.l4ChecksumOk());
          assert.deepEqual([...h.saddr6], [...x]);
          assert.equal(h.sport, 1234);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the hop limit counts down and stops at one', () => {
    const b = frame6({ saddr: C, daddr: V, sport: 1, dport: 2, hop: 2 });
    const f = parse(b);
    assert.ok(decHop6(f));
    assert.equal(b[21], 1);
    assert.equal(decHop6(f), false);
  });
});

describe('Neighbour Discovery', () => {
  it('a solicitation goes to the solicited-node group and reads back with its source MAC', () => {
    const b = new Uint8Array(200);
    const n = writeNs(b, 0, MAC_A, C, V);
    assert.deepEqual([...b.subarray(0, 6)], [0x33, 0x33, 0xff, 0, 0, 1]);
    const f = new Frame();
    assert.equal(f.parse(b, 0, n, -1), PARSE_IP6);
    assert.deepEqual([...f.daddr6], [...solicitedNode(V, new Uint32Array(4))]);
    const nd = new NdpInfo();
    assert.ok(nd.read(f));
    assert.equal(nd.type, ND_NEIGHBOR_SOLICIT);
    assert.deepEqual([...nd.target], [...V]);
    assert.deepEqual([...b.subarray(nd.llAt, nd.llAt + 6)], [...MAC_A]);
  });

  it('a solicited advertisement answers the asker; its checksum and flags are right', () => {
    const b = new Uint8Array(200);
    const n = writeNa(b, 0, MAC_B, V, MAC_A, C);
    const f = new Frame();
    assert.equal(f.parse(b, 0, n, -1), PARSE_IP6);
    assert.ok(f.l4ChecksumOk());
    const nd = new NdpInfo();
    assert.ok(nd.read(f));
    assert.equal(nd.type, ND_NEIGHBOR_ADVERT);
    assert.ok(nd.solicited);
    assert.deepEqual([...b.subarray(nd.llAt, nd.llAt + 6)], [...MAC_B]);
  });

  it('messages that break RFC 4861 are ignored: hop limit below 255, bad checksum', () => {
    const b = new Uint8Array(200);
    const n = writeNs(b, 0, MAC_A, C, V);
    const f = new Frame();
    b[21] = 254;
    f.parse(b, 0, n, -1);
    assert.equal(new NdpInfo().read(f), false);
    b[21] = 255;
    b[n - 1]! ^= 1;
    f.parse(b, 0, n, -1);
    assert.equal(new NdpInfo().read(f), false);
  });
});

describe('ICMPv6 packet too big', () => {
  it('goes to the sender with the MTU, quoting what fits in 1280 bytes', () => {
    const f = parse(frame6({ saddr: C, daddr: V, sport: 1, dport: 2, payload: new Uint8Array(1452) }));
    const out = new Uint8Array(1400);
    const n = writePacketTooBig6(f, V, 1400, out, 0);
    assert.equal(n, 1280);
    assert.equal(out[6], 58);
    assert.equal(out[40], 2);
    assert.equal(read32(out, 44), 1400);
    assert.equal(fold(sum16(out, 40, n - 40, pseudo6(V, C, 58, n - 40))), 0xffff);
    assert.equal(read16(out, 48 + 4), 1452 + 20, 'the quote starts with the offending header');
  });
});

describe('IPv6 routes and neighbours', () => {
  it('longest prefix wins; a gateway is reported', () => {
    const t = new RouteTable6();
    t.load([
      { dst: 'default', gateway: 'fe80::1', ifindex: 2 },
      { dst: '2001:db8:2::/64', ifindex: 3 },
      { dst: '2001:db8:2::10/128', gateway: '2001:db8:2::1', ifindex: 4 },
      { dst: 'garbage', ifindex: 5 },
    ]);
    assert.equal(t.size, 3);
    assert.equal(t.lookup(ip6('2001:db8:2::20')), 3);
    assert.equal(t.viaGateway, false);
    assert.equal(t.lookup(ip6('2001:db8:2::10')), 4);
    assert.deepEqual([...t.gateway], [...ip6('2001:db8:2::1')]);
    assert.equal(t.lookup(ip6('2001:db8:7::1')), 2);
    assert.deepEqual([...t.gateway], [...ip6('fe80::1')]);
  });

  it('neighbours are found by their four words, never by a colliding hash', () => {
    const n = new NeighTable6();
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }), { maxLength: 50 }), (as) => {
        for (const a of as) n.learn(a, 1, MAC_A, 0);
        for (const a of as) assert.deepEqual([...n.get(a)!.addr6!], a);
      }),
    );
  });
});

describe('ICMPv6 errors about NAT conns', () => {
  /** An ICMPv6 error (type/code) from `from` to `to` quoting the IPv6 packet of `quoted`. */
  function icmp6Error(from: Uint32Array, to: Uint32Array, type: number, quoted: Uint8Array): Uint8Array {
    const q = quoted.subarray(14, 14 + 48);
    const b = new Uint8Array(14 + 40 + 8 + q.length);
    b[12] = 0x86;
    b[13] = 0xdd;
    b[14] = 0x60;
    write16(b, 18, 8 + q.length);
    b[20] = 58;
    b[21] = 64;
    write128(b, 22, from);
    write128(b, 38, to);
    b[54] = type;
    b.set(q, 62);
    write16(b, 56, checksum(b, 54, 8 + q.length, pseudo6(from, to, 58, 8 + q.length)));
    return b;
  }
  const RIP = ip6('2001:db8:2::10');
  const ROUTER = ip6('2001:db8:1::fe');

  it('from the client side: the outer destination and the quoted source become the real server', () => {
    // We sent VIP:80 → client:5000; a router says it was too big.
    const reply = frame6({ saddr: V, daddr: C, sport: 80, dport: 5000, payload: new Uint8Array(20) });
    const b = icmp6Error(ROUTER, V, 2, reply);
    const f = parse(b);
    const q = new IcmpQuote6();
    assert.ok(q.read(f));
    assert.deepEqual([q.sport, q.dport], [80, 5000]);
    natIcmp6In(f, q, RIP, 8080);
    const g = parse(b);
    assert.ok(g.l4ChecksumOk());
    assert.deepEqual([...g.daddr6], [...RIP]);
    const q2 = new IcmpQuote6();
    assert.ok(q2.read(g));
    assert.deepEqual([...q2.saddr], [...RIP]);
    assert.equal(q2.sport, 8080);
  });

  it('from the real server: the outer source and the quoted destination become the VIP', () => {
    const req = frame6({ saddr: C, daddr: RIP, sport: 5000, dport: 8080, proto: 17 });
    const b = icmp6Error(RIP, C, 1, req);
    const f = parse(b);
    const q = new IcmpQuote6();
    assert.ok(q.read(f));
    natIcmp6Out(f, q, V, 53);
    const g = parse(b);
    assert.ok(g.l4ChecksumOk());
    assert.deepEqual([...g.saddr6], [...V]);
    const q2 = new IcmpQuote6();
    assert.ok(q2.read(g));
    assert.deepEqual([...q2.daddr], [...V]);
    assert.equal(q2.dport, 53);
  });

  it('FULLNAT both ways: the local address stands for the client toward the real server', () => {
    const L = ip6('2001:db8:2a::100');
    const req = frame6({ saddr: L, daddr: RIP, sport: 1025, dport: 8080, proto: 17 });
    const b = icmp6Error(RIP, L, 1, req);
    const f = parse(b);
    const q = new IcmpQuote6();
    assert.ok(q.read(f));
    fullnatIcmp6Out(f, q, V, 53, C, 40000);
    const g = parse(b);
    assert.ok(g.l4ChecksumOk());
    assert.deepEqual([[...g.saddr6], [...g.daddr6]], [[...V], [...C]]);
    const q2 = new IcmpQuote6();
    assert.ok(q2.read(g));
    assert.deepEqual([[...q2.saddr], q2.sport, [...q2.daddr], q2.dport], [[...C], 40000, [...V], 53]);
    const reply = frame6({ saddr: V, daddr: C, sport: 53, dport: 40000, proto: 17 });
    const e = icmp6Error(C, V, 2, reply);
    const h = parse(e);
    const q3 = new IcmpQuote6();
    assert.ok(q3.read(h));
    fullnatIcmp6In(h, q3, RIP, 8080, L, 1025);
    const k = parse(e);
    assert.ok(k.l4ChecksumOk());
    assert.deepEqual([[...k.saddr6], [...k.daddr6]], [[...L], [...RIP]]);
  });

  it('informational messages and non-TCP/UDP quotes are not errors to translate', () => {
    const req = frame6({ saddr: C, daddr: RIP, sport: 1, dport: 2 });
    assert.equal(new IcmpQuote6().read(parse(icmp6Error(RIP, C, 128, req))), false);
    const other = Uint8Array.from(req);
    other[20] = 47;
    assert.equal(new IcmpQuote6().read(parse(icmp6Error(RIP, C, 1, other))), false);
  });
});
