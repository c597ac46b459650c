// An interface port in memory: frames go in as blocks, as a TPACKET_V3 ring hands them over,
// and what the forwarder transmits is captured instead of sent. The unit tests, the fixture
// tester, the fuzzer and the benchmark run the real per-frame path over it without root.
//
// It keeps the ring's one hard rule visible: a block's bytes belong to the kernel again once
// released. release() overwrites them (RELEASED_FILL), and flush() counts a queued frame whose
// block went back before it was sent (`stale`), so a loop that gets the order wrong is caught.

import { VNET_HDR_LEN } from './constants.js';
import type { RxPort, TxPort } from './port.js';
import type { FrameHandler } from './rxring.js';

/** What a released block's bytes become: what the kernel writes next is unrelated to them. */
export const RELEASED_FILL = 0xee;
/** Transmit slots (frames queued before an automatic flush), as TX_BATCH in small. */
const MEM_TX_BATCH = 64;
/** Bytes per slot: a 64 KiB super-packet with its headers, as TX_SLOT_SIZE. */
const MEM_TX_SLOT = 65536 + 64;

interface Block {
  buf: Uint8Array;
  /** Frame offsets (of the Ethernet header) and lengths in buf. */
  at: number[];
  len: number[];
  released: boolean;
}

export class MemRx implements RxPort {
  readonly fd = -1;
  frames = 0;
  private readonly blocks: Block[] = [];

  /**
   * `vnet`: each frame is preceded by a virtio_net_hdr, as the engine's sockets deliver them.
   * `addr` stands for the ring's native address (TxQueue.pushRx); tests tell two ports apart by it.
   */
  constructor(
    private readonly vnet: boolean,
    readonly addr = 0,
  ) {}

  /**
   * Appends one block holding `frames` (Ethernet frames; with `vnet`, each may bring its own
   * virtio_net_hdr as `hdrs[i]`, zeros otherwise).
   */
  push(frames: readonly Uint8Array[], hdrs: readonly (Uint8Array | undefined)[] = []): void {
    const pre = this.vnet ? VNET_HDR_LEN : 0;
    let size = 0;
    for (const f of frames) size += pre + f.length;
    const b: Block = { buf: new Uint8Array(size), at: [], len: [], released: false };
    let at = 0;
    frames.forEach((f, i) => {
      const h = hdrs[i];
      if (h) b.buf.set(h.subarray(0, pre), at);
      b.at.push(at + pre);
      b.len.push(f.length);
      b.buf.set(f, at + pre);
      at += pre + f.length;
    });
    this.blocks.push(b);
  }

  ready(): boolean {
    return this.blocks.length > 0;
  }

  walk(h: FrameHandler): number {
    const b = this.blocks[0];
    if (!b) return 0;
    for (let i = 0; i < b.at.length; i++) {
      this.frames++;
      h(b.buf, b.at[i]!, b.len[i]!, this.vnet ? b.at[i]! - VNET_HDR_LEN : -1, -1);
    }
    return b.at.length;
  }

  peek(h: FrameHandler): number {
    const b = this.blocks[0];
    if (!b) return 0;
    for (let i = 0; i < b.at.length; i++) h(b.buf, b.at[i]!, b.len[i]!, this.vnet ? b.at[i]! - VNET_HDR_LEN : -1, -1);
    return b.at.length;
  }

  release(): void {
    const b = this.blocks.shift();
    if (!b) return;
    b.released = true;
    b.buf.fill(RELEASED_FILL);
  }

  /** The block a view of `buf` belongs to, if it is one of ours. */
  blockOf(buf: Uint8Array): { released: boolean } | undefined {
    return this.blocks.find((b) => b.buf === buf);
  }

  /** The current block's bytes (what pushRx offsets index). */
  current(): Uint8Array | undefined {
    return this.blocks[0]?.buf;
  }

  statistics(): { packets: number; drops: number } {
    return { packets: 0, drops: 0 };
  }

  close(): void {
    this.blocks.length = 0;
  }
}

type Queued = { slot: number; len: number } | { block: { buf: Uint8Array; released: boolean }; off: number; len: number };

export class MemTx implements TxPort {
  readonly arena = new Uint8Array(MEM_TX_BATCH * MEM_TX_SLOT);
  dropped = 0;
  /** Frames sent, in order (copies taken at flush time, as the kernel reads them then). */
  readonly sent: Uint8Array[] = [];
  /** Frames sent from a ring block that had already been released (a data path bug). */
  stale = 0;
  private readonly q: Queued[] = [];

  slot(): number {
    return this.q.length * MEM_TX_SLOT;
  }

  pushSlot(len: number): void {
    this.q.push({ slot: this.slot(), len });
    if (this.q.length === MEM_TX_BATCH) this.flush();
  }

  pushRx(rx: RxPort, off: number, len: number): void {
    const buf = (rx as MemRx).current();
    if (!buf) throw new Error('MemTx.pushRx: the receive port has no current block');
    // Keep the block itself: its bytes are read at flush time, as sendmmsg reads the ring.
    this.q.push({ block: (rx as MemRx).blockOf(buf) as { buf: Uint8Array; released: boolean }, off, len });
    if (this.q.length === MEM_TX_BATCH) this.flush();
  }

  pushCopy(src: Uint8Array, off: number, len: number): void {
    this.arena.set(src.subarray(off, off + len), this.slot());
    this.pushSlot(len);
  }

  flush(): number {
    const n = this.q.length;
    for (const e of this.q) {
      if ('slot' in e) this.sent.push(this.arena.slice(e.slot, e.slot + e.len));
      else {
        if (e.block.released) this.stale++;
        this.sent.push(e.block.buf.slice(e.off, e.off + e.len));
      }
    }
    this.q.length = 0;
    return n;
  }

  discard(): number {
    const n = this.q.length;
    this.q.length = 0;
    return n;
  }

  /** Takes the frames sent so far. */
  take(): Uint8Array[] {
    return this.sent.splice(0);
  }

  close(): void {
    this.q.length = 0;
  }
}
