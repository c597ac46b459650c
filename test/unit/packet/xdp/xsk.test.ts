// The AF_XDP socket's ring handling (xsk.ts) over plain memory, the test playing the kernel: it
// takes frame addresses from the fill ring, copies frames in after the headroom and produces RX
// descriptors, as copy mode does. The root tests (test/integration/xdp*.test.ts) run the same
// code over the kernel's mappings.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  VNET_HDR_LEN,
  XDP_FILL_RING_SIZE,
  XDP_FRAME_SIZE,
  XDP_FRAMES,
  XDP_RX_BATCH,
  XDP_RX_RING_SIZE,
} from '../../../../src/engine/packet/constants.js';
import type { RxPort, TxPort } from '../../../../src/engine/packet/port.js';
import { XskTx } from '../../../../src/engine/packet/xdp/xsk-tx.js';
import { Umem } from '../../../../src/engine/packet/xdp/umem.js';
import type { XdpRx } from '../../../../src/engine/packet/xdp/xsk.js';
import { FakeKernel, HEADROOM } from './fake-kernel.js';

const TWO32 = 4294967296;

interface Seen {
  off: number;
  len: number;
  vnet: number;
  tci: number;
  first: number;
}
import { checksum, fold, pseudo4, read16, write16 } from '../../../../src/wire/csum.js';
import { frame4, ip } from '../../wire/build.js';

function someFrames(n: number, len = 60): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array(len + (i % 7)).fill((i % 250) + 1));
}

function collect(p: XdpRx, how: 'walk' | 'peek'): Seen[] {
  const out: Seen[] = [];
  const n = p[how]((buf, off, len, vnet, tci) => {
    assert.equal(buf, p.buf);
    out.push({ off, len, vnet, tci, first: buf[off]! });
  });
  assert.equal(n, out.length, `${how}'s count`);
  return out;
}

function expected(addrs: readonly number[], fs: readonly Uint8Array[]): Seen[] {
  return addrs.map((off, i) => ({ off, len: fs[i]!.length, vnet: off - VNET_HDR_LEN, tci: -1, first: fs[i]![0]! }));
}

describe('XdpRx over plain memory', () => {
  it('starts with every frame in the fill ring, once each, chunk-aligned', () => {
    const k = new FakeKernel();
    assert.equal(k.filled, Math.min(XDP_FRAMES, XDP_FILL_RING_SIZE));
    const addrs = k.fillEntries(0, k.filled);
    assert.equal(new Set(addrs).size, addrs.length);
    for (const a of addrs) assert.ok(a % XDP_FRAME_SIZE === 0 && a < XDP_FRAMES * XDP_FRAME_SIZE, `fill address ${a}`);
    assert.equal(k.port.fd, -1);
    assert.deepEqual(k.port.close(), []);
  });

  it('an empty ring is not ready: walk and peek hand nothing', () => {
    const k = new FakeKernel();
    assert.equal(k.port.ready(), false);
    assert.deepEqual(collect(k.port, 'peek'), []);
    assert.deepEqual(collect(k.port, 'walk'), []);
    k.port.release();
    assert.equal(k.rxCons, 0);
    assert.equal(k.port.frames, 0);
  });

  it("walk hands each descriptor's frame in place; release moves the consumer and refills exactly those chunks", () => {
    const k = new FakeKernel();
    const fs = someFrames(3);
    const addrs = k.receive(fs);
    assert.equal(k.port.ready(), true);
    const fillBefore = k.fillProd;
    assert.deepEqual(collect(k.port, 'walk'), expected(addrs, fs));
    assert.equal(k.port.frames, 3);
    assert.equal(
      k.port.bytes,
      fs.reduce((a, f) => a + f.length, 0),
    );
    // Walked but held: the descriptors stay ours until release, which the turn calls after the flush.
    assert.equal(k.port.ready(), true);
    assert.equal(k.rxCons, 0);
    assert.equal(k.fillProd, fillBefore);
    k.port.release();
    assert.equal(k.rxCons, 3);
    assert.equal(k.fillProd, fillBefore + 3);
    assert.deepEqual(
      k.fillEntries(fillBefore, 3),
      addrs.map((a) => a - HEADROOM),
    );
    assert.equal(k.port.ready(), false);
    k.port.release();
    assert.equal(k.rxCons, 3, 'a second release moves nothing');
  });

  it('a block is at most XDP_RX_BATCH descriptors; the rest come in the next', () => {
    const k = new FakeKernel();
    const fs = someFrames(XDP_RX_BATCH + 44);
    const addrs = k.receive(fs);
    assert.deepEqual(collect(k.port, 'peek'), expected(addrs.slice(0, XDP_RX_BATCH), fs));
    assert.deepEqual(collect(k.port, 'walk'), expected(addrs.slice(0, XDP_RX_BATCH), fs));
    k.port.release();
    assert.equal(k.rxCons, XDP_RX_BATCH);
    assert.deepEqual(collect(k.port, 'walk'), expected(addrs.slice(XDP_RX_BATCH), fs.slice(XDP_RX_BATCH)));
    k.port.release();
    assert.equal(k.rxCons, XDP_RX_BATCH + 44);
    assert.equal(k.port.ready(), false);
  });

  it('peek counts nothing, takes nothing, is idempotent and hands what the next walk hands', () => {
    const k = new FakeKernel();
    const fs = someFrames(5);
    const addrs = k.receive(fs);
    const a = collect(k.port, 'peek');
    const b = collect(k.port, 'peek');
    assert.deepEqual(a, expected(addrs, fs));
    assert.deepEqual(b, a);
    assert.equal(k.port.frames, 0);
    assert.equal(k.port.bytes, 0);
    assert.equal(k.rxCons, 0);
    assert.deepEqual(collect(k.port, 'walk'), a);
    k.port.release();
    assert.equal(k.rxCons, 5);
  });

  it('the block is fixed by peek: frames the kernel adds before the walk wait for the next block', () => {
    const k = new FakeKernel();
    const fs = someFrames(6);
    const first = k.receive(fs.slice(0, 4));
    const peeked = collect(k.port, 'peek');
    const later = k.receive(fs.slice(4));
    assert.deepEqual(collect(k.port, 'peek'), peeked);
    assert.deepEqual(collect(k.port, 'walk'), expected(first, fs));
    k.port.release();
    assert.equal(k.rxCons, 4);
    assert.deepEqual(collect(k.port, 'peek'), expected(later, fs.slice(4)));
    assert.deepEqual(collect(k.port, 'walk'), expected(later, fs.slice(4)));
    k.port.release();
    assert.equal(k.rxCons, 6);
  });

  it('a release after a peek without a walk takes nothing, and the next walk sees what came since', () => {
    const k = new FakeKernel();
    const fs = someFrames(3);
    const addrs = k.receive(fs.slice(0, 1));
    collect(k.port, 'peek');
    k.port.release();
    assert.equal(k.rxCons, 0);
    addrs.push(...k.receive(fs.slice(1)));
    assert.deepEqual(collect(k.port, 'walk'), expected(addrs, fs));
  });

  it('indexes wrap past 2^32 and around both rings, every chunk coming back once', () => {
    // Producers and consumers are free-running u32: start them just short of 2^32 (the RX index
    // then also crosses the ring's end, 2^32 - 5 being the fifth slot from its end).
    const k = new FakeKernel(TWO32 - 5, TWO32 - 2);
    assert.equal(k.fillProd, (TWO32 - 2 + XDP_FILL_RING_SIZE) % TWO32);
    const fs = someFrames(12);
    const addrs = k.receive(fs);
    assert.equal(k.rxProd, 7);
    assert.deepEqual(collect(k.port, 'peek'), expected(addrs, fs));
    assert.deepEqual(collect(k.port, 'walk'), expected(addrs, fs));
    const fillBefore = k.fillProd;
    k.port.release();
    assert.equal(k.rxCons, 7);
    assert.deepEqual(
      k.fillEntries(fillBefore, 12),
      addrs.map((a) => a - HEADROOM),
    );
    assert.equal(k.port.ready(), false);
  });

  it('runs many times round both rings without losing or duplicating a chunk', () => {
    const k = new FakeKernel();
    let n = 0;
    // 9 rings of descriptors in blocks of uneven sizes: RX slots and fill slots wrap many times.
    for (let round = 0; n < 9 * XDP_RX_RING_SIZE; round++) {
      const fs = someFrames(1 + ((round * 37) % 300));
      const addrs = k.receive(fs);
      const seen: Seen[] = [];
      while (k.port.ready()) {
        seen.push(...collect(k.port, 'walk'));
        k.port.release();
      }
      assert.deepEqual(seen, expected(addrs, fs));
      n += fs.length;
      assert.equal(k.rxCons, n);
      assert.equal(k.filled, XDP_FRAMES, 'every chunk back in the fill ring');
    }
    const chunks = k.fillEntries(k.fillCons, k.filled);
    assert.equal(new Set(chunks).size, XDP_FRAMES);
  });

  it('walk, not peek, writes the virtio_net_hdr: NEEDS_CSUM for a partial checksum, zeros otherwise', () => {
    const k = new FakeKernel();
    const saddr = ip('10.0.0.1');
    const daddr = ip('10.0.0.2');
    const full = frame4({ saddr, daddr, sport: 1000, dport: 80, payload: new Uint8Array(20).fill(3) });
    const part = frame4({ saddr, daddr, sport: 1001, dport: 80, payload: new Uint8Array(20).fill(3) });
    // What a local stack hands over with CHECKSUM_PARTIAL: the pseudo-header's sum only.
    write16(part, 34 + 16, fold(pseudo4(saddr, daddr, 6, part.length - 34)));
    const [a, b] = k.receive([full, part]);
    k.umem.fill(0xee, a! - VNET_HDR_LEN, a!);
    k.umem.fill(0xee, b! - VNET_HDR_LEN, b!);
    collect(k.port, 'peek');
    assert.deepEqual([...k.umem.subarray(a! - VNET_HDR_LEN, a!)], new Array(VNET_HDR_LEN).fill(0xee), 'peek wrote a header');
    collect(k.port, 'walk');
    assert.deepEqual([...k.umem.subarray(a! - VNET_HDR_LEN, a!)], new Array(VNET_HDR_LEN).fill(0));
    const h = new DataView(k.umem.buffer, b! - VNET_HDR_LEN, VNET_HDR_LEN);
    assert.equal(h.getUint8(0), 1, 'VIRTIO_NET_HDR_F_NEEDS_CSUM');
    assert.equal(h.getUint16(6, true), 34, 'csum_start');
    assert.equal(h.getUint16(8, true), 16, 'csum_offset');
    assert.equal(k.port.partial, 1);
  });

  it('statistics: drops are rx_dropped + rx_ring_full (a fill-empty drop is in rx_dropped already), deltas per read', () => {
    const k = new FakeKernel();
    // struct xdp_statistics: rx_dropped, rx_invalid_descs, tx_invalid_descs, rx_ring_full,
    // rx_fill_ring_empty_descs, tx_ring_empty_descs, u64 each.
    const stats = (rxDropped: number, ringFull: number, fillEmpty: number): DataView => {
      const dv = new DataView(new ArrayBuffer(48));
      dv.setBigUint64(0, BigInt(rxDropped), true);
      dv.setBigUint64(24, BigInt(ringFull), true);
      dv.setBigUint64(32, BigInt(fillEmpty), true);
      return dv;
    };
    assert.equal(k.port.account(stats(754, 143, 754)).drops, 897);
    assert.equal(k.port.fillEmptyDrops, 754);
    assert.equal(k.port.ringFullDrops, 143);
    assert.equal(k.port.account(stats(760, 150, 756)).drops, 13);
    assert.equal(k.port.fillEmptyDrops, 756);
    assert.equal(k.port.ringFullDrops, 150);
  });
});

/** The packet socket behind an XskTx: records what it was given. */
class FallbackTx implements TxPort {
  readonly arena = new Uint8Array(4096);
  readonly dropped = 0;
  sent = 0;
  queued: number[] = [];
  slot(): number {
    return 0;
  }
  pushSlot(len: number): void {
    this.queued.push(len);
  }
  pushRx(_rx: RxPort, _off: number, len: number): void {
    this.queued.push(len);
  }
  pushCopy(_src: Uint8Array, _off: number, len: number): void {
    this.queued.push(len);
  }
  flush(): number {
    const n = this.queued.length;
    this.sent += n;
    this.queued = [];
    return n;
  }
  discard(): number {
    const n = this.queued.length;
    this.queued = [];
    return n;
  }
  close(): void {}
}

/** Walks the port's block, sending the frames `send` picks through `tx` (from the UMEM: the lender is the port). */
function forward(k: FakeKernel, tx: XskTx, send: (i: number) => boolean, lender: XdpRx | null = k.port): void {
  const rx = { lender: () => lender } as unknown as RxPort;
  let i = 0;
  k.port.walk((_buf, _off, len, vnet) => {
    if (send(i++)) tx.pushRx(rx, vnet, len + VNET_HDR_LEN);
  });
}

describe('XskTx over plain memory', () => {
  it('sends UMEM frames from the TX ring; release skips them, their completion refills them', () => {
    const k = new FakeKernel();
    const fb = new FallbackTx();
    const tx = new XskTx(k.port, fb);
    const fs = someFrames(3);
    const addrs = k.receive(fs);
    const fillBefore = k.fillProd;
    forward(k, tx, (i) => i !== 1);
    tx.flush();
    assert.equal(tx.sent, 2);
    assert.equal(fb.sent, 0, 'nothing through the packet socket');
    k.port.release();
    assert.equal(k.fillProd, fillBefore + 1, 'only the frame not sent is refilled at release');
    assert.deepEqual(k.fillEntries(fillBefore, 1), [addrs[1]! - HEADROOM]);
    assert.deepEqual(k.transmit(), [
      { addr: addrs[0]!, len: fs[0]!.length },
      { addr: addrs[2]!, len: fs[2]!.length },
    ]);
    tx.flush();
    assert.equal(k.fillProd, fillBefore + 3, 'completions refill the sent frames');
    assert.deepEqual(k.fillEntries(fillBefore + 1, 2), [addrs[0]! - HEADROOM, addrs[2]! - HEADROOM]);
    assert.equal(k.compWords[16], 2, 'completion ring consumed');
    for (const a of addrs) assert.ok(k.port.umem.home(a));
  });

  it('discard takes back unpublished descriptors; each frame is refilled exactly once', () => {
    const k = new FakeKernel();
    const tx = new XskTx(k.port, new FallbackTx());
    const addrs = k.receive(someFrames(4));
    const fillBefore = k.fillProd;
    forward(k, tx, () => true);
    assert.equal(tx.discard(), 4);
    k.port.release();
    assert.equal(k.fillProd, fillBefore + 4);
    assert.deepEqual(k.fillEntries(fillBefore, 4).sort(), addrs.map((a) => a - HEADROOM).sort());
    tx.flush();
    assert.deepEqual(k.transmit(), [], 'nothing reached the TX ring');
  });

  it('frames not in this UMEM, and GSO frames, go through the packet socket', () => {
    const k = new FakeKernel();
    const fb = new FallbackTx();
    const tx = new XskTx(k.port, fb);
    k.receive(someFrames(2));
    forward(k, tx, () => true, null);
    assert.equal(fb.queued.length, 2);
    k.port.release();
    const [a] = k.receive(someFrames(1));
    let vnetAt = -1;
    k.port.walk((_b, _o, len, vnet) => {
      vnetAt = vnet;
      k.umem[vnet + 1] = 1; // gso_type TCPV4
      tx.pushRx({ lender: () => k.port } as unknown as RxPort, vnet, len + VNET_HDR_LEN);
    });
    assert.equal(vnetAt, a! - VNET_HDR_LEN);
    assert.equal(fb.queued.length, 3);
    tx.flush();
    assert.equal(tx.sent, 0);
    assert.equal(fb.sent, 3);
  });

  it('completes a partial checksum before the frame leaves the TX ring', () => {
    const k = new FakeKernel();
    const tx = new XskTx(k.port, new FallbackTx());
    const saddr = ip('10.0.0.1');
    const daddr = ip('10.0.0.2');
    const part = frame4({ saddr, daddr, sport: 1001, dport: 80, payload: new Uint8Array(21).fill(7) });
    const want = read16(part, 34 + 16);
    write16(part, 34 + 16, fold(pseudo4(saddr, daddr, 6, part.length - 34)));
    const [a] = k.receive([part]);
    forward(k, tx, () => true);
    tx.flush();
    assert.equal(read16(k.umem, a! + 34 + 16), want, 'the checksum a full frame carries');
    assert.equal(checksum(k.umem, a! + 34, part.length - 34, pseudo4(saddr, daddr, 6, part.length - 34)), 0);
  });
});

describe('one UMEM shared by two sockets', () => {
  const shared = () => Umem.over(new ArrayBuffer(2 * XDP_FRAMES * XDP_FRAME_SIZE));

  it("a frame received on one socket and sent from the other's TX ring returns to its own fill ring", () => {
    const u = shared();
    const a = new FakeKernel(0, 0, u, 0);
    const b = new FakeKernel(0, 0, u, 1);
    assert.ok(
      b.fillEntries(0, b.filled).every((c) => c >= XDP_FRAMES * XDP_FRAME_SIZE),
      'b fills from its own slice',
    );
    const tx = new XskTx(b.port, new FallbackTx());
    const addrs = a.receive(someFrames(2));
    const aFill = a.fillProd;
    const bFill = b.fillProd;
    forward(a, tx, () => true);
    tx.flush();
    a.port.release();
    assert.equal(a.fillProd, aFill, 'lent frames are not refilled at release');
    assert.deepEqual(
      b.transmit().map((d) => d.addr),
      addrs,
    );
    tx.flush();
    assert.equal(a.fillProd, aFill + 2, "the completions on b's ring refill a's fill ring");
    assert.equal(b.fillProd, bFill);
    assert.deepEqual(
      a.fillEntries(aFill, 2),
      addrs.map((x) => x - HEADROOM),
    );
  });

  it('closing the sending socket brings its lent frames home; a socket on a freed slice fills only frames that are home', () => {
    const u = shared();
    const a = new FakeKernel(0, 0, u, 0);
    const b = new FakeKernel(0, 0, u, 1);
    const tx = new XskTx(b.port, new FallbackTx());
    const addrs = a.receive(someFrames(3));
    forward(a, tx, () => true);
    tx.flush();
    a.port.release();
    const aFill = a.fillProd;
    // b goes away with the three frames in its TX ring: they are a's again.
    assert.deepEqual(b.port.close(), []);
    assert.equal(a.fillProd, aFill + 3);
    for (const x of addrs) assert.ok(u.home(x));

    // Now a's frames are lent to a new socket c when a closes: d, opened on a's slice, starts
    // without them, and gets them when c completes them.
    const c = new FakeKernel(0, 0, u, 1);
    const txc = new XskTx(c.port, new FallbackTx());
    const more = a.receive(someFrames(2));
    forward(a, txc, () => true);
    txc.flush();
    a.port.release();
    assert.deepEqual(a.port.close(), []);
    const d = new FakeKernel(0, 0, u, 0);
    assert.equal(d.filled, XDP_FRAMES - 2, 'the two lent frames are not in the new fill ring');
    c.transmit();
    txc.flush();
    assert.equal(d.filled, XDP_FRAMES, 'they join it when completed');
    assert.deepEqual(
      d.fillEntries(d.fillProd - 2, 2),
      more.map((x) => x - HEADROOM),
    );
  });

  it("a socket opened after hundreds of others never shares a live socket's id", () => {
    const u = shared();
    const a = new FakeKernel(0, 0, u, 0);
    for (let i = 0; i < 600; i++) {
      const b = new FakeKernel(0, 0, u, 1);
      assert.notEqual(b.port.via, a.port.via);
      assert.deepEqual(b.port.close(), []);
    }
  });
});
