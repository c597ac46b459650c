// The PROXY protocol encoder (wire/proxy-protocol.ts), against the bytes HAProxy's specification
// gives for versions 1 and 2, for both families, mixed families and unparsable text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Addr } from '../../../src/core/inet.js';
import { proxyHeader, proxyHeaderText, proxyV1, proxyV2 } from '../../../src/wire/proxy-protocol.js';

const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const a = (s: string) => Addr.parse(s)!;
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe('PROXY protocol encoder', () => {
  it('v1 over IPv4 and IPv6', () => {
    assert.equal(str(proxyHeader(1, a('192.0.2.1'), 40000, a('198.51.100.7'), 80)), 'PROXY TCP4 192.0.2.1 198.51.100.7 40000 80\r\n');
    assert.equal(str(proxyHeader(1, a('2001:db8::1'), 1, a('2001:db8::2'), 443)), 'PROXY TCP6 2001:db8::1 2001:db8::2 1 443\r\n');
  });

  it('v2 over IPv4: signature, PROXY command, TCP4, 12 address bytes', () => {
    const h = proxyHeader(2, a('192.0.2.1'), 40000, a('198.51.100.7'), 80);
    assert.deepEqual([...h], [...SIG, 0x21, 0x11, 0, 12, 192, 0, 2, 1, 198, 51, 100, 7, 0x9c, 0x40, 0, 80]);
  });

  it('v2 over IPv6, and UDP over IPv4', () => {
    const h = proxyHeader(2, a('2001:db8::1'), 1, a('2001:db8::2'), 2);
    assert.equal(h.length, 16 + 36);
    assert.deepEqual([...h.subarray(12, 16)], [0x21, 0x21, 0, 36]);
    assert.deepEqual([...h.subarray(16, 32)], [...a('2001:db8::1').toBytes()]);
    assert.deepEqual([...h.subarray(48)], [0, 1, 0, 2]);
    assert.equal(proxyHeader(2, a('10.0.0.1'), 1, a('10.0.0.2'), 2, true)[13], 0x12);
  });

  it('mixed families: v1 UNKNOWN, v2 LOCAL without addresses', () => {
    assert.equal(str(proxyHeader(1, a('10.0.0.1'), 1, a('::1'), 2)), 'PROXY UNKNOWN\r\n');
    assert.deepEqual([...proxyHeader(2, a('10.0.0.1'), 1, a('::1'), 2)], [...SIG, 0x20, 0, 0, 0]);
  });

  it('text input: IPv4-mapped addresses are IPv4, unparsable ones unknown', () => {
    assert.equal(str(proxyV1('::ffff:10.0.0.1', 5, '10.0.0.2', 6)), 'PROXY TCP4 10.0.0.1 10.0.0.2 5 6\r\n');
    assert.deepEqual([...proxyV2('::ffff:10.0.0.1', 5, '10.0.0.2', 6)], [...proxyHeader(2, a('10.0.0.1'), 5, a('10.0.0.2'), 6)]);
    assert.equal(str(proxyHeaderText(1, '', 0, '10.0.0.2', 6)), 'PROXY UNKNOWN\r\n');
    assert.deepEqual([...proxyHeaderText(2, 'nonsense', 0, '10.0.0.2', 6)], [...SIG, 0x20, 0, 0, 0]);
  });
});
