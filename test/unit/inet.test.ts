import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AF_INET, AF_INET6 } from '../../src/core/constants.js';
import { Addr, format4, formatAddrPort } from '../../src/core/inet.js';

describe('Addr parse and inet_ntop formatting', () => {
  const roundTrip: [string, string][] = [
    ['10.0.0.1', '10.0.0.1'],
    ['255.255.255.255', '255.255.255.255'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:ABCD', '2001:db8::abcd'],
    ['::', '::'],
    ['::1', '::1'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['::0.0.0.2', '::2'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['fe80::1:2', 'fe80::1:2'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    ['2001:db8::1:0', '2001:db8::1:0'],
  ];
  for (const [input, text] of roundTrip) {
    it(`${input} → ${text}`, () => {
      const a = Addr.parse(input);
      assert.ok(a, `parse ${input}`);
      assert.equal(a.toString(), text);
      assert.equal(Addr.parse(text)!.equals(a), true);
    });
  }

  const invalid = ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', ':::', '1::2::3', '12345::', 'g::1'];
  for (const s of invalid) {
    it(`rejects ${JSON.stringify(s)}`, () => assert.equal(Addr.parse(s), null));
  }
});

describe('Addr semantics used by the kernel model', () => {
  it('fold is w0 for IPv4 and the xor of words for IPv6', () => {
    assert.equal(Addr.parse('10.0.0.1')!.fold(), 0x0a000001);
    const a = Addr.parse('2001:db8::1')!;
    assert.equal(a.fold(), (0x20010db8 ^ 0 ^ 0 ^ 1) >>> 0);
  });

  it('families', () => {
    assert.equal(Addr.parse('1.2.3.4')!.af, AF_INET);
    assert.equal(Addr.parse('::1')!.af, AF_INET6);
  });

  const unicast: [string, boolean][] = [
    ['10.0.0.1', true],
    ['0.1.2.3', false],
    ['224.0.0.1', false],
    ['239.255.255.255', false],
    ['255.255.255.255', false],
    ['2001:db8::1', true],
    ['::', false],
    ['ff02::1', false],
    ['fe80::1', false],
  ];
  for (const [s, want] of unicast) {
    it(`isUnicast(${s}) = ${want}`, () => assert.equal(Addr.parse(s)!.isUnicast(), want));
  }

  it('prefix keeps the first plen bits', () => {
    assert.equal(Addr.parse('2001:db8:aaaa:bbbb::1')!.prefix(48).toString(), '2001:db8:aaaa::');
    assert.equal(Addr.parse('2001:db8:aaaa:bbbb::1')!.prefix(128).toString(), '2001:db8:aaaa:bbbb::1');
    assert.equal(Addr.parse('10.1.2.3')!.prefix(24).toString(), '10.1.2.0');
    assert.equal(Addr.parse('10.1.2.3')!.and4(0xffff0000).toString(), '10.1.0.0');
  });

  it('bytes round trip', () => {
    for (const s of ['192.168.1.100', '2001:db8::a0a0']) {
      const a = Addr.parse(s)!;
      assert.equal(Addr.fromBytes(a.toBytes()).toString(), s);
    }
  });
});

describe('address and port formatting (one place for the engines, control and tsvsadm)', () => {
  it('brackets IPv6 only', () => {
    assert.equal(formatAddrPort(Addr.parse('10.0.0.1')!, 80), '10.0.0.1:80');
    assert.equal(formatAddrPort(Addr.parse('2001:db8::1')!, 443), '[2001:db8::1]:443');
    assert.equal(formatAddrPort(Addr.parse('::ffff:1.2.3.4')!, 0), '[::ffff:1.2.3.4]:0');
  });

  it('format4 takes a host-order word', () => {
    assert.equal(format4(0xc0a80101), '192.168.1.1');
    assert.equal(format4(0xffffffff), '255.255.255.255');
  });
});
