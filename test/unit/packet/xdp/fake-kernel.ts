// The kernel's side of an AF_XDP socket in plain memory, for the tests of the ring handling
// (xsk.test.ts) and the packet fixtures through XdpRx and XskTx (director.ts): it takes frame
// addresses from the fill ring, copies frames in after the headroom and produces RX descriptors,
// as copy mode does, and sends and completes what the TX ring holds.

import assert from 'node:assert/strict';
import {
  XDP_COMPLETION_RING_SIZE,
  XDP_FILL_RING_SIZE,
  XDP_FRAME_SIZE,
  XDP_FRAMES,
  XDP_RX_RING_SIZE,
  XDP_TX_RING_SIZE,
} from '../../../../src/engine/packet/constants.js';
import { Umem } from '../../../../src/engine/packet/xdp/umem.js';
import { type RingOffsets, XdpRx } from '../../../../src/engine/packet/xdp/xsk.js';

/** XDP_PACKET_HEADROOM: where copy mode puts a frame's first byte in its UMEM chunk. */
export const HEADROOM = 256;
/** The kernel's layout: producer, consumer, then the descriptors, each on its own cache line. */
const OFFS: RingOffsets = { producer: 0, consumer: 64, desc: 128 };
export class FakeKernel {
  /** The UMEM's bytes (the whole shared UMEM; this socket's slice is `slice`). */
  readonly umem: Uint8Array;
  readonly rx = new ArrayBuffer(OFFS.desc + XDP_RX_RING_SIZE * 16);
  readonly fill = new ArrayBuffer(OFFS.desc + XDP_FILL_RING_SIZE * 8);
  readonly rxWords = new Uint32Array(this.rx, 0, 32);
  readonly fillWords = new Uint32Array(this.fill, 0, 32);
  readonly rxDesc = new DataView(this.rx, OFFS.desc);
  readonly fillDesc = new DataView(this.fill, OFFS.desc);
  readonly tx = new ArrayBuffer(OFFS.desc + XDP_TX_RING_SIZE * 16);
  readonly comp = new ArrayBuffer(OFFS.desc + XDP_COMPLETION_RING_SIZE * 8);
  readonly txWords = new Uint32Array(this.tx, 0, 32);
  readonly compWords = new Uint32Array(this.comp, 0, 32);
  readonly txDesc = new DataView(this.tx, OFFS.desc);
  readonly compDesc = new DataView(this.comp, OFFS.desc);
  readonly port: XdpRx;

  /**
   * `rxAt`/`fillAt`: where the ring indexes start (a new socket's are 0). `shared`: a UMEM other
   * sockets use too, this one on `slice` of it; by default a UMEM of one slice of its own.
   */
  constructor(rxAt = 0, fillAt = 0, shared?: Umem, slice = 0) {
    const um = shared ?? Umem.over(new ArrayBuffer(XDP_FRAMES * XDP_FRAME_SIZE));
    this.umem = um.buf;
    this.rxWords[0] = this.rxWords[16] = rxAt;
    this.fillWords[0] = this.fillWords[16] = fillAt;
    this.port = XdpRx.over({
      umem: um,
      slice,
      rx: this.rx,
      rxOffsets: OFFS,
      fill: this.fill,
      fillOffsets: OFFS,
      tx: this.tx,
      txOffsets: OFFS,
      comp: this.comp,
      compOffsets: OFFS,
    });
  }

  get rxProd(): number {
    return this.rxWords[0]!;
  }
  get rxCons(): number {
    return this.rxWords[16]!;
  }
  get fillProd(): number {
    return this.fillWords[0]!;
  }
  get fillCons(): number {
    return this.fillWords[16]!;
  }

  /** Frames in the fill ring, not yet taken by the kernel. */
  get filled(): number {
    return (this.fillProd - this.fillCons) >>> 0;
  }

  /** The fill ring's entries from `from` (an index) on, `n` of them. */
  fillEntries(from: number, n: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const at = ((from + i) & (XDP_FILL_RING_SIZE - 1)) * 8;
      assert.equal(this.fillDesc.getUint32(at + 4, true), 0, 'high word of a fill address');
      out.push(this.fillDesc.getUint32(at, true));
    }
    return out;
  }

  /**
   * Sends what the TX ring holds and completes it, as copy mode does; returns the descriptors, and
   * the frames' bytes (copied as the kernel copies them into an skb). A frame whose chunk is in
   * the fill ring meanwhile (refilled while lent) fails the test: the kernel could overwrite it.
   */
  transmit(frames: Uint8Array[] = [], filled: ReadonlySet<number> = this.fillSet()): { addr: number; len: number }[] {
    const out: { addr: number; len: number }[] = [];
    let c = this.txWords[16]!;
    for (; c !== this.txWords[0]; c = (c + 1) >>> 0) {
      const at = (c & (XDP_TX_RING_SIZE - 1)) * 16;
      assert.equal(this.txDesc.getUint32(at + 4, true), 0, 'high word of a TX address');
      const d = { addr: this.txDesc.getUint32(at, true), len: this.txDesc.getUint32(at + 8, true) };
      const chunk = d.addr - (d.addr % XDP_FRAME_SIZE);
      assert.ok(d.addr + d.len <= chunk + XDP_FRAME_SIZE, `TX descriptor ${d.addr}+${d.len} leaves its chunk`);
      assert.ok(!filled.has(chunk), `frame at ${d.addr} sent from the TX ring while its chunk is in the fill ring`);
      frames.push(this.umem.slice(d.addr, d.addr + d.len));
      out.push(d);
      const p = this.compWords[0]!;
      this.compDesc.setUint32((p & (XDP_COMPLETION_RING_SIZE - 1)) * 8, d.addr, true);
      this.compWords[0] = (p + 1) >>> 0;
    }
    this.txWords[16] = c;
    return out;
  }

  /** The chunks in the fill ring now. */
  fillSet(): Set<number> {
    return new Set(this.fillEntries(this.fillCons, this.filled));
  }

  /** Receives `frames`: each into a chunk from the fill ring, then one descriptor each; returns their addresses. */
  receive(frames: readonly Uint8Array[]): number[] {
    const addrs: number[] = [];
    for (const f of frames) {
      assert.ok(f.length <= XDP_FRAME_SIZE - HEADROOM, `a ${f.length} B frame does not fit a UMEM frame (the kernel drops it)`);
      assert.ok(this.filled > 0, 'fill ring empty');
      assert.ok((this.rxProd - this.rxCons) >>> 0 < XDP_RX_RING_SIZE, 'RX ring full');
      const chunk = this.fillEntries(this.fillCons, 1)[0]!;
      this.fillWords[16] = (this.fillCons + 1) >>> 0;
      const addr = chunk + HEADROOM;
      this.umem.set(f, addr);
      const at = (this.rxProd & (XDP_RX_RING_SIZE - 1)) * 16;
      this.rxDesc.setUint32(at, addr, true);
      this.rxDesc.setUint32(at + 4, 0, true);
      this.rxDesc.setUint32(at + 8, f.length, true);
      this.rxDesc.setUint32(at + 12, 0, true);
      this.rxWords[0] = (this.rxProd + 1) >>> 0;
      addrs.push(addr);
    }
    return addrs;
  }
}
