import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from '../../fc.js';
import { RouteTable } from '../../../src/engine/packet/routes.js';
import { fold, pseudo4, read16, read32, sum16, write16 } from '../../../src/wire/csum.js';
import { Frame, PARSE_IP4 } from '../../../src/wire/frame.js';
import { fullnatIcmpIn, fullnatIcmpOut, IcmpQuote, natIcmpIn, natIcmpOut } from '../../../src/xmit/icmp.js';
import { decTtl } from '../../../src/xmit/ip.js';
import { dnat, snat } from '../../../src/xmit/nat.js';
import { frame4, icmpError, ip } from './build.js';

function parse(b: Uint8Array, vnet = -1, off = 0, len = b.length): Frame {
  const f = new Frame();
  assert.equal(f.parse(b, off, len, vnet), PARSE_IP4);
  return f;
}

/** The frame's IP and L4 checksums both verify from scratch. */
function verify(b: Uint8Array): void {
  const f = parse(b);
  assert.ok(f.l4ChecksumOk(), 'L4 checksum');
}

describe('NAT rewrites', () => {
  it('DNAT then SNAT keep every checksum right (TCP and UDP, any addresses and ports)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<6 | 17>(6, 17),
        fc.array(fc.integer({ min: 1, max: 0xffffffff }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 4, maxLength: 4 }),
        fc.uint8Array({ maxLength: 300 }),
        (proto, [c, v, r, x], [cp, vp, rp], payload) => {
          const b = frame4({ saddr: c!, daddr: v!, sport: cp!, dport: vp!, proto, payload });
          const f = parse(b);
          dnat(f, r!, rp!);
          verify(b);
          assert.equal(read32(b, 30), r);
          assert.equal(read16(b, 36), rp);
          const g = parse(b);
          snat(g, x!, 1234);
          verify(b);
          assert.equal(read32(b, 26), x);
          assert.equal(read16(b, 34), 1234);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a UDP datagram without a checksum stays without one', () => {
    const b = frame4({ saddr: 1, daddr: 2, sport: 3, dport: 4, proto: 17, noUdpCsum: true });
    dnat(parse(b), ip('10.1.1.1'), 8080);
    assert.equal(read16(b, 40), 0);
    const f = parse(b);
    assert.ok(f.l4ChecksumOk());
  });

  it('with a partial checksum only the address delta is added; ports are summed later', () => {
    const c = ip('172.16.0.5');
    const v = ip('172.16.0.100');
    const r = ip('192.168.0.10');
    const b = frame4({ saddr: c, daddr: v, sport: 5555, dport: 80, payload: new Uint8Array(10) });
    const vnet = new Uint8Array(10 + b.length);
    vnet.set(b, 10);
    vnet[0] = 1; // NEEDS_CSUM
    write16(vnet, 10 + 50, fold(pseudo4(c, v, 6, 30)));
    const f = parse(vnet, 0, 10, b.length);
    dnat(f, r, 8080);
    assert.equal(read16(vnet, 10 + 50), fold(pseudo4(c, r, 6, 30)));
    // What the sender's stack finishes later: the sum over the segment from the pseudo sum.
    const done = ~fold(sum16(vnet, 10 + 34, 30)) & 0xffff;
    write16(vnet, 10 + 50, done);
    const g = new Frame();
    g.parse(vnet, 10, b.length, -1);
    assert.ok(g.l4ChecksumOk());
  });
});

describe('TTL', () => {
  it('decrements with the header checksum kept right, and refuses to reach zero', () => {
    const b = frame4({ saddr: 1, daddr: 2, sport: 3, dport: 4, ttl: 2 });
    const f = parse(b);
    assert.ok(decTtl(f));
    assert.equal(b[22], 1);
    assert.equal(fold(sum16(b, 14, 20)), 0xffff);
    assert.ok(!decTtl(parse(b)));
    assert.equal(b[22], 1);
  });
});

describe('ICMP errors about NAT conns', () => {
  const c = ip('172.25.254.200');
  const v = ip('172.25.254.100');
  const r = ip('192.168.0.10');

  it("out: the real server's port unreachable about RIP:8080 becomes one about VIP:80", () => {
    const delivered = frame4({ saddr: c, daddr: r, sport: 40000, dport: 8080, proto: 17 });
    const b = icmpError(r, c, 3, 3, delivered);
    const f = parse(b);
    const q = new IcmpQuote();
    assert.ok(q.read(f));
    assert.deepEqual([q.saddr, q.sport, q.daddr, q.dport], [c, 40000, r, 8080]);
    natIcmpOut(f, q, v, 80);
    assert.equal(read32(b, 26), v);
    assert.equal(fold(sum16(b, 14, 20)), 0xffff, 'outer IP checksum');
    assert.equal(fold(sum16(b, 34, b.length - 34)), 0xffff, 'ICMP checksum');
    assert.equal(fold(sum16(b, 42, 20)), 0xffff, 'quoted IP checksum');
    assert.equal(read32(b, 42 + 16), v);
    assert.equal(read16(b, 62 + 2), 80);
  });

  it("in: a client's error about our VIP:80 reply reaches the real server as one about RIP:8080", () => {
    const reply = frame4({ saddr: v, daddr: c, sport: 80, dport: 40000 });
    const b = icmpError(c, v, 3, 4, reply);
    const f = parse(b);
    const q = new IcmpQuote();
    assert.ok(q.read(f));
    natIcmpIn(f, q, r, 8080);
    assert.equal(read32(b, 30), r);
    assert.equal(fold(sum16(b, 14, 20)), 0xffff);
    assert.equal(fold(sum16(b, 34, b.length - 34)), 0xffff);
    assert.equal(read32(b, 42 + 12), r);
    assert.equal(read16(b, 62), 8080);
  });

  it("FULLNAT out: an error sent to laddr:lport about RIP:8080 becomes the client's error about VIP:80", () => {
    const l = ip('192.168.0.100');
    const delivered = frame4({ saddr: l, daddr: r, sport: 1025, dport: 8080, proto: 17 });
    const b = icmpError(r, l, 3, 3, delivered);
    const f = parse(b);
    const q = new IcmpQuote();
    assert.ok(q.read(f));
    fullnatIcmpOut(f, q, v, 80, c, 40000);
    assert.deepEqual([read32(b, 26), read32(b, 30)], [v, c], 'from the VIP to the client');
    assert.deepEqual([read32(b, 42 + 12), read16(b, 62), read32(b, 42 + 16), read16(b, 62 + 2)], [c, 40000, v, 80]);
    assert.equal(fold(sum16(b, 14, 20)), 0xffff, 'outer IP checksum');
    assert.equal(fold(sum16(b, 42, 20)), 0xffff, 'quoted IP checksum');
    assert.equal(fold(sum16(b, 34, b.length - 34)), 0xffff, 'ICMP checksum');
  });

  it("FULLNAT in: a client's error about our VIP:80 reply reaches the real server from laddr:lport", () => {
    const l = ip('192.168.0.100');
    const reply = frame4({ saddr: v, daddr: c, sport: 80, dport: 40000 });
    const b = icmpError(c, v, 3, 4, reply);
    const f = parse(b);
    const q = new IcmpQuote();
    assert.ok(q.read(f));
    fullnatIcmpIn(f, q, r, 8080, l, 1025);
    assert.deepEqual([read32(b, 26), read32(b, 30)], [l, r]);
    assert.deepEqual([read32(b, 42 + 12), read16(b, 62), read32(b, 42 + 16), read16(b, 62 + 2)], [r, 8080, l, 1025]);
    assert.equal(fold(sum16(b, 14, 20)), 0xffff);
    assert.equal(fold(sum16(b, 42, 20)), 0xffff);
    assert.equal(fold(sum16(b, 34, b.length - 34)), 0xffff);
  });

  it('echo messages and quotes of other protocols are not errors to translate', () => {
    const reply = frame4({ saddr: v, daddr: c, sport: 80, dport: 40000 });
    const echo = icmpError(c, v, 8, 0, reply);
    assert.ok(!new IcmpQuote().read(parse(echo)));
    const b = icmpError(c, v, 3, 3, reply);
    b[42 + 9] = 47; // GRE
    write16(b, 36, 0);
    assert.ok(!new IcmpQuote().read(parse(b)));
  });
});

describe('RouteTable', () => {
  it('longest prefix wins; default last; gateway reported', () => {
    const t = new RouteTable();
    t.load([
      { dst: 'default', gateway: '10.0.0.1', ifindex: 2 },
      { dst: '10.0.0.0/24', ifindex: 2 },
      { dst: '192.168.0.0/16', ifindex: 3 },
      { dst: '192.168.5.7', gateway: '192.168.0.1', ifindex: 3 },
      { dst: 'bogus/99', ifindex: 4 },
    ]);
    assert.equal(t.size, 4);
    assert.equal(t.lookup(ip('10.0.0.77')), 2);
    assert.equal(t.gateway, 0);
    assert.equal(t.lookup(ip('192.168.5.7')), 3);
    assert.equal(t.gateway, ip('192.168.0.1'));
    assert.equal(t.lookup(ip('192.168.9.9')), 3);
    assert.equal(t.gateway, 0);
    assert.equal(t.lookup(ip('8.8.8.8')), 2);
    assert.equal(t.gateway, ip('10.0.0.1'));
    t.load([]);
    assert.equal(t.lookup(ip('8.8.8.8')), -1);
  });
});
