// The PROXY header in a FULLNAT stream: the first data segment carries it (every copy of it),
// later client sequence numbers move up by its length, the real server's acknowledgments, SACK
// edges and offered MSS move down by it, and every checksum stays right.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from '../../fc.js';
import { checksum, pseudo4, read16, read32, write16, write32 } from '../../../src/wire/csum.js';
import { Frame, PARSE_IP4 } from '../../../src/wire/frame.js';
import { fixReply, needsHeader, type ProxyInsert, writeWithHeader } from '../../../src/xmit/proxy-insert.js';
import { frame4, ip } from './build.js';

const C = ip('10.0.2.100');
const R = ip('10.0.3.11');
const HDR = new TextEncoder().encode('PROXY TCP4 172.16.0.200 172.16.0.100 40000 80\r\n');

/** A TCP frame with options, seq/ack/flags set, checksums right. */
function seg(o: { seq: number; ack?: number; flags: number; payload?: number; opts?: number[]; from?: 'client' | 'server' }): Uint8Array {
  const opts = Uint8Array.from(o.opts ?? []);
  const pay = new Uint8Array(o.payload ?? 0).map((_, i) => i & 255);
  const client = o.from !== 'server';
  const base = frame4({
    saddr: client ? C : R,
    daddr: client ? R : C,
    sport: 1025,
    dport: 80,
    payload: new Uint8Array(opts.length + pay.length),
  });
  const l4 = 34;
  write32(base, l4 + 4, o.seq >>> 0);
  write32(base, l4 + 8, (o.ack ?? 0) >>> 0);
  base[l4 + 12] = (5 + opts.length / 4) << 4;
  base[l4 + 13] = o.flags;
  base.set(opts, l4 + 20);
  base.set(pay, l4 + 20 + opts.length);
  write16(base, l4 + 16, 0);
  const l4len = base.length - 34;
  write16(base, l4 + 16, checksum(base, l4, l4len, pseudo4(client ? C : R, client ? R : C, 6, l4len)));
  return base;
}

function parse(b: Uint8Array): Frame {
  const f = new Frame();
  assert.equal(f.parse(b, 0, b.length, -1), PARSE_IP4);
  return f;
}

function tcpOk(b: Uint8Array): void {
  assert.ok(parse(b).l4ChecksumOk(), 'TCP checksum');
}

describe('PROXY protocol insertion in a FULLNAT stream', () => {
  const isn = 0xfffffff0; // the stream starts just before the sequence space wraps
  const s: ProxyInsert = { isn, hdr: HDR };
  const start = (isn + 1) >>> 0;

  it('the first data segment gets the header in front of its payload, as a new packet', () => {
    const b = seg({ seq: start, ack: 5, flags: 0x18, payload: 300 });
    const f = parse(b);
    assert.equal(needsHeader(f, s), true);
    const out = new Uint8Array(2000);
    write16(out, 12, 0x0800);
    const n = writeWithHeader(f, s, out, 14);
    assert.equal(n, 20 + 20 + HDR.length + 300);
    const g = parse(out.subarray(0, 14 + n));
    assert.ok(g.l4ChecksumOk());
    assert.equal(read32(out, 14 + 24), start, 'the sequence number is the stream start');
    assert.deepEqual(out.subarray(54, 54 + HDR.length), HDR);
    assert.deepEqual(out.subarray(54 + HDR.length, 14 + n), b.subarray(54));
  });

  it('a bare ACK at the stream start is left alone; later segments move up by the header length', () => {
    const ack = seg({ seq: start, ack: 5, flags: 0x10 });
    assert.equal(needsHeader(parse(ack), s), false);
    assert.equal(read32(ack, 38), start);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), fc.integer({ min: 0, max: 1400 }), (off, len) => {
        const b = seg({ seq: (start + off) >>> 0, ack: 5, flags: 0x10, payload: len });
        assert.equal(needsHeader(parse(b), s), false);
        assert.equal(read32(b, 38), (start + off + HDR.length) >>> 0);
        tcpOk(b);
      }),
      { numRuns: 300 },
    );
  });

  it('replies: ack and SACK edges move down (never below the stream start), the SYN+ACK MSS shrinks', () => {
    const sack = [1, 1, 5, 18, ...[0, 0, 0, 0, 0, 0, 0, 0].map((_, i) => i), ...[0, 0, 0, 0, 0, 0, 0, 0]];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100000 }), (past) => {
        const ackv = (start + past) >>> 0;
        const opts = Uint8Array.from(sack);
        const dv = new DataView(opts.buffer);
        dv.setUint32(4, (ackv + 100) >>> 0);
        dv.setUint32(8, (ackv + 200) >>> 0);
        dv.setUint32(12, (ackv + 300) >>> 0);
        dv.setUint32(16, (ackv + 400) >>> 0);
        const b = seg({ seq: 7, ack: ackv, flags: 0x10, opts: [...opts], from: 'server' });
        fixReply(parse(b), s);
        const want = past < HDR.length ? start : (ackv - HDR.length) >>> 0;
        assert.equal(read32(b, 42), want);
        assert.equal(read32(b, 58), (ackv + 100 - HDR.length) >>> 0);
        assert.equal(read32(b, 66), (ackv + 300 - HDR.length) >>> 0);
        tcpOk(b);
      }),
      { numRuns: 200 },
    );
    const synack = seg({ seq: 7, ack: start, flags: 0x12, opts: [2, 4, 0x05, 0xb4, 1, 1, 4, 2], from: 'server' });
    fixReply(parse(synack), s);
    assert.equal(read16(synack, 56), 1460 - HDR.length);
    assert.equal(read32(synack, 42), start, 'the handshake acknowledgment is untouched');
    tcpOk(synack);
  });

  it('a SACK edge at an odd offset still leaves a right checksum', () => {
    const ackv = (start + 5000) >>> 0;
    const opts = [1, 5, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const b = seg({ seq: 7, ack: ackv, flags: 0x10, opts, from: 'server' });
    write32(b, 34 + 20 + 3, (ackv + 10) >>> 0);
    write32(b, 34 + 20 + 7, (ackv + 20) >>> 0);
    write16(b, 50, 0);
    write16(b, 50, checksum(b, 34, b.length - 34, pseudo4(R, C, 6, b.length - 34)));
    fixReply(parse(b), s);
    assert.equal(read32(b, 34 + 20 + 3), (ackv + 10 - HDR.length) >>> 0);
    tcpOk(b);
  });
});
