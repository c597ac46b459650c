import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from '../../fc.js';
import { ARP_REPLY, ARP_REQUEST, ArpInfo, writeArp } from '../../../src/wire/arp.js';
import { checksum, csumReplace16, csumReplace32, fold, pseudo4, read16, sum16, write16, write32 } from '../../../src/wire/csum.js';
import { DROP } from '../../../src/wire/drops.js';
import { formatMac, parseMac } from '../../../src/wire/eth.js';
import { Frame, PARSE_ARP, PARSE_IP4, PARSE_IP6, PARSE_MALFORMED, PARSE_OTHER } from '../../../src/wire/frame.js';
import { frame4, ip, MAC_A } from './build.js';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));

describe('checksums', () => {
  it('an IPv4 header checksum (the worked example everyone uses)', () => {
    const h = hex('450000730000400040110000c0a80001c0a800c7');
    assert.equal(checksum(h, 0, 20), 0xb861);
    write16(h, 10, 0xb861);
    assert.equal(fold(sum16(h, 0, 20)), 0xffff);
  });

  it('odd lengths pad with a zero byte', () => {
    assert.equal(sum16(Uint8Array.of(1, 2, 3), 0, 3), 0x0102 + 0x0300);
  });

  it('incremental 32- and 16-bit replacement equals recomputing (RFC 1624)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 24, maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (data, pos, v32, v16) => {
          const b = Uint8Array.from(data.length % 2 ? [...data, 0] : data);
          write16(b, 0, 0);
          write16(b, 0, checksum(b, 0, b.length));
          const at = 2 + 2 * (pos % ((b.length - 6) / 2));
          const old32 = (read16(b, at) * 65536 + read16(b, at + 2)) >>> 0;
          csumReplace32(b, 0, old32, v32, false);
          write32(b, at, v32);
          assert.equal(fold(sum16(b, 0, b.length)), 0xffff);
          const old16 = read16(b, at);
          csumReplace16(b, 0, old16, v16);
          write16(b, at, v16);
          assert.equal(fold(sum16(b, 0, b.length)), 0xffff);
        },
      ),
    );
  });

  it('a partial checksum (pseudo-header sum only) follows an address change without inversion', () => {
    const s = ip('10.0.0.1');
    const d = ip('10.0.0.2');
    const d2 = ip('192.168.7.9');
    const b = new Uint8Array(2);
    write16(b, 0, fold(pseudo4(s, d, 6, 40)));
    csumReplace32(b, 0, d, d2, true);
    assert.equal(read16(b, 0), fold(pseudo4(s, d2, 6, 40)));
  });
});

/** Recomputes the IPv4 header checksum after a test changed the header. */
function reseal(b: Uint8Array): Uint8Array {
  write16(b, 24, 0);
  write16(b, 24, checksum(b, 14, 20));
  return b;
}

describe('Frame.parse', () => {
  const syn = () => frame4({ saddr: ip('1.2.3.4'), daddr: ip('10.0.0.100'), sport: 40000, dport: 80 });

  it('reads a TCP SYN: addresses, ports, flags, lengths, and a right checksum', () => {
    const f = new Frame();
    const b = syn();
    assert.equal(f.parse(b, 0, b.length, -1), PARSE_IP4);
    assert.equal(f.saddr, ip('1.2.3.4'));
    assert.equal(f.daddr, ip('10.0.0.100'));
    assert.equal(f.sport, 40000);
    assert.equal(f.dport, 80);
    assert.equal(f.tcpFlags, 0x02);
    assert.equal(f.totLen, 40);
    assert.equal(f.ttl, 64);
    assert.equal(f.l4, 34);
    assert.equal(f.csumAt, 50);
    assert.ok(f.l4ChecksumOk());
    b[60 - 7]! ^= 1; // the window's low byte: payload of the checksum
    assert.ok(!f.l4ChecksumOk());
  });

  it('reads UDP, with and without a checksum', () => {
    const f = new Frame();
    const b = frame4({ saddr: 1, daddr: 2, sport: 53, dport: 5353, proto: 17, payload: Uint8Array.of(1, 2, 3) });
    assert.equal(f.parse(b, 0, b.length, -1), PARSE_IP4);
    assert.equal(f.csumAt, 40);
    assert.ok(f.l4ChecksumOk());
    const n = frame4({ saddr: 1, daddr: 2, sport: 53, dport: 5353, proto: 17, noUdpCsum: true });
    assert.equal(f.parse(n, 0, n.length, -1), PARSE_IP4);
    assert.equal(f.csumAt, -1);
    assert.ok(f.l4ChecksumOk());
  });

  it('skips an 802.1Q tag', () => {
    const b0 = syn();
    const b = new Uint8Array(b0.length + 4);
    b.set(b0.subarray(0, 12), 0);
    b.set([0x81, 0x00, 0x00, 0x07], 12);
    b.set(b0.subarray(12), 16);
    const f = new Frame();
    assert.equal(f.parse(b, 0, b.length, -1), PARSE_IP4);
    assert.equal(f.l3, 18);
    assert.equal(f.dport, 80);
  });

  it('finds the frame at an offset, with a virtio header before it', () => {
    const b0 = syn();
    const b = new Uint8Array(b0.length + 30);
    b.set(b0, 20);
    b[10] = 1; // NEEDS_CSUM
    const f = new Frame();
    assert.equal(f.parse(b, 20, b0.length, 10), PARSE_IP4);
    assert.ok(f.partial);
    b[20 + 50]! ^= 0xff; // a partial checksum cannot be judged yet
    assert.ok(f.l4ChecksumOk());
  });

  const malformed: [string, (b: Uint8Array) => Uint8Array, number][] = [
    ['shorter than an Ethernet header', (b) => b.slice(0, 13), DROP.truncated],
    ['an IPv4 header cut short', (b) => b.slice(0, 30), DROP.truncated],
    ['a TCP header cut short', (b) => reseal(b.slice(0, 40).map((x, i) => (i === 17 ? 26 : x))), DROP.truncated],
    ['version 6 in an IPv4 frame', (b) => b.map((x, i) => (i === 14 ? 0x65 : x)), DROP.bad_ip_header],
    ['IHL below 5', (b) => b.map((x, i) => (i === 14 ? 0x44 : x)), DROP.bad_ip_header],
    ['total length beyond the frame', (b) => reseal(b.map((x, i) => (i === 17 ? 41 : x))), DROP.bad_length],
    ['bad header checksum', (b) => b.map((x, i) => (i === 25 ? x ^ 1 : x)), DROP.bad_ip_checksum],
  ];
  for (const [what, mangle, reason] of malformed) {
    it(`drops ${what}`, () => {
      const f = new Frame();
      const b = mangle(syn());
      assert.equal(f.parse(b, 0, b.length, -1), PARSE_MALFORMED);
      assert.equal(f.reason, reason);
    });
  }

  it('a TCP data offset beyond the segment is a bad length', () => {
    const b = syn();
    b[46] = 0xf0;
    const f = new Frame();
    assert.equal(f.parse(b, 0, b.length, -1), PARSE_MALFORMED);
    assert.equal(f.reason, DROP.bad_length);
  });

  it('marks fragments and reads no ports from them', () => {
    const b = syn();
    write16(b, 20, 0x2000 | 0); // MF, offset 0: the first fragment
    reseal(b);
    const f = new Frame();
    assert.equal(f.parse(b, 0, b.length, -1), PARSE_IP4);
    assert.ok(f.fragment);
    assert.equal(f.dport, 0);
  });

  it('random bytes never throw', () => {
    const f = new Frame();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (data, ipv4) => {
        const b = Uint8Array.from(data);
        if (ipv4 && b.length >= 14) {
          b[12] = 8;
          b[13] = 0;
        }
        const k = f.parse(b, 0, b.length, -1);
        assert.ok(k === PARSE_IP4 || k === PARSE_IP6 || k === PARSE_ARP || k === PARSE_OTHER || k === PARSE_MALFORMED);
        if (k === PARSE_IP4 || k === PARSE_IP6) f.l4ChecksumOk();
      }),
      { numRuns: 5000 },
    );
  });

  it('an IPv4 packet labelled IPv6 is malformed; other types are left alone', () => {
    const b = syn();
    b[12] = 0x86;
    b[13] = 0xdd;
    const f = new Frame();
    assert.equal(f.parse(b, 0, b.length, -1), PARSE_MALFORMED);
    b[12] = 0x88;
    b[13] = 0xcc; // LLDP
    assert.equal(f.parse(b, 0, b.length, -1), PARSE_OTHER);
  });
});

describe('ARP', () => {
  it('writes a request and a reply that read back', () => {
    const buf = new Uint8Array(42);
    const f = new Frame();
    const a = new ArpInfo();
    writeArp(buf, 0, ARP_REQUEST, MAC_A, ip('10.0.0.1'), null, ip('10.0.0.100'));
    assert.equal(formatMac(buf, 0), 'ff:ff:ff:ff:ff:ff');
    assert.equal(f.parse(buf, 0, 42, -1), PARSE_ARP);
    assert.ok(a.read(buf, f.l3));
    assert.equal(a.op, ARP_REQUEST);
    assert.equal(a.spa, ip('10.0.0.1'));
    assert.equal(a.tpa, ip('10.0.0.100'));
    assert.equal(formatMac(buf, a.shaAt), formatMac(MAC_A));
    const tha = parseMac('02:00:00:00:00:0b')!;
    writeArp(buf, 0, ARP_REPLY, MAC_A, ip('10.0.0.100'), tha, ip('10.0.0.1'));
    assert.equal(formatMac(buf, 0), '02:00:00:00:00:0b');
    assert.ok(a.read(buf, 14));
    assert.equal(a.op, ARP_REPLY);
  });

  it('refuses ARP that is not IPv4 over Ethernet', () => {
    const buf = new Uint8Array(42);
    writeArp(buf, 0, ARP_REQUEST, MAC_A, 1, null, 2);
    buf[18] = 8;
    assert.ok(!new ArpInfo().read(buf, 14));
    const short = buf.slice(0, 30);
    const f = new Frame();
    assert.equal(f.parse(short, 0, short.length, -1), PARSE_MALFORMED);
  });

  it('parses MACs strictly', () => {
    assert.equal(parseMac('02:00:00:00:00:0g'), null);
    assert.equal(parseMac('02:00:00:00:00'), null);
    assert.equal(formatMac(parseMac('AA:bb:0c:00:00:01')!), 'aa:bb:0c:00:00:01');
  });
});
