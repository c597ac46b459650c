// An AF_XDP socket receiving on one queue of one interface, in copy mode (XDP_COPY: veth and most
// drivers have no zero-copy), as an RxPort (port.ts). Its frames are a slice of XDP_FRAMES chunks
// of the engine's shared UMEM (umem.ts); the fill ring hands the kernel empty frames, the RX ring
// returns filled ones (struct xdp_desc { u64 addr; u32 len; u32 options }). Rings are mmapped at
// the offsets getsockopt(XDP_MMAP_OFFSETS) gives; producer and consumer are u32 indexes that only
// grow. The TX and completion rings are mapped here too and driven by xsk-tx.ts.
//
// One "block" here is up to XDP_RX_BATCH descriptors: walk() hands them to the forwarder in
// place, release() gives their frames back through the fill ring and moves the RX consumer, so the
// ring's contract is the packet socket's: frames sent straight from the UMEM are flushed first.
// Each frame gets a virtio_net_hdr written in its headroom (partial.ts), so that the forwarder and
// the transmit side (the TX ring, or a packet socket with PACKET_VNET_HDR) treat it as a
// packet-socket frame. The UMEM is shared by the engine's AF_XDP sockets (umem.ts): this socket
// fills from its slice, and a frame the forwarder sends from a TX ring (xsk-tx.ts) is lent, not
// refilled at release, until that ring's completion brings it back.

import {
  VNET_HDR_LEN,
  XDP_COMPLETION_RING_SIZE,
  XDP_FILL_RING_SIZE,
  XDP_FRAME_SIZE,
  XDP_FRAMES,
  XDP_RX_BATCH,
  XDP_RX_RING_SIZE,
  XDP_TX_RING_SIZE,
} from '../constants.js';
import { SOCK_RAW } from '../../../sys/constants.js';
import { check, libc, type Mapping } from '../../../sys/libc.js';
import type { RxPort } from '../port.js';
import type { FrameHandler } from '../rxring.js';
import { int32 } from '../sockaddr.js';
import { writeVnetHdr } from './partial.js';
import type { SliceHolder, Umem } from './umem.js';

export const AF_XDP = 44;
const SOL_XDP = 283;
const XDP_MMAP_OFFSETS = 1;
const XDP_RX_RING = 2;
const XDP_TX_RING = 3;
const XDP_UMEM_REG = 4;
const XDP_UMEM_FILL_RING = 5;
const XDP_UMEM_COMPLETION_RING = 6;
const XDP_STATISTICS = 7;
const XDP_SHARED_UMEM = 1;
const XDP_COPY = 2;
const XDP_PGOFF_RX_RING = 0;
const XDP_PGOFF_TX_RING = 0x80000000;
const XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
const XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000;
const DESC = 16;
/** heldAddrs mark of a frame lent to a TX ring: release() does not refill it. */
const LENT = 0xffffffff;

/** Where a ring's producer and consumer words and its descriptors lie in its memory (XDP_MMAP_OFFSETS). */
export interface RingOffsets {
  producer: number;
  consumer: number;
  desc: number;
}

/** A ring: its producer and consumer words as views, its descriptors as a DataView. */
export class Ring {
  readonly prod: Uint32Array;
  readonly cons: Uint32Array;
  readonly desc: DataView;
  constructor(ab: ArrayBuffer, o: RingOffsets) {
    this.prod = new Uint32Array(ab, o.producer, 1);
    this.cons = new Uint32Array(ab, o.consumer, 1);
    this.desc = new DataView(ab, o.desc);
  }
}

/**
 * The memory an XdpRx works over: the kernel's mappings (open()), or plain memory in which a test
 * plays the kernel (over()). The UMEM is XDP_FRAMES * XDP_FRAME_SIZE bytes; the RX ring holds
 * XDP_RX_RING_SIZE descriptors of 16 bytes, the fill ring XDP_FILL_RING_SIZE addresses of 8.
 */
export interface XskMemory {
  umem: Umem;
  /** The slice of the UMEM this socket fills from (Umem.free). */
  slice: number;
  rx: ArrayBuffer;
  rxOffsets: RingOffsets;
  fill: ArrayBuffer;
  fillOffsets: RingOffsets;
  /** The TX and completion rings (xsk-tx.ts); absent in the receive-only tests. */
  tx?: ArrayBuffer;
  txOffsets?: RingOffsets;
  comp?: ArrayBuffer;
  compOffsets?: RingOffsets;
}

export interface XskOptions {
  ifname: string;
  umem: Umem;
  queue?: number;
}

export class XdpRx implements RxPort, SliceHolder {
  readonly warnings: string[] = [];
  readonly fd: number;
  readonly ifindex: number;
  /** The UMEM: frames are handed to the forwarder as offsets into it. */
  readonly buf: Uint8Array;
  /** Native address of buf[0], for iovecs that send straight from the UMEM (TxQueue.pushRx). */
  readonly addr: number;
  readonly umem: Umem;
  readonly slice: number;
  /** The TX and completion rings, when mapped (xsk-tx.ts uses them). */
  readonly txRing: Ring | null;
  readonly compRing: Ring | null;
  /** This socket's mark on frames lent to its TX ring (Umem.lentVia). */
  readonly via: number;
  frames = 0;
  bytes = 0;
  /** Frames whose partial checksum was marked for completion. */
  partial = 0;
  /** The kernel's mappings (UMEM, RX ring, fill ring), unmapped by close(); none in plain memory. */
  private readonly maps: readonly Mapping[];
  private readonly rx: Ring;
  private readonly fill: Ring;
  private rxCons = 0;
  private fillProd = 0;
  /** The descriptors peek() fixed as the next block, -1 when it has not looked since the last walk. */
  private peeked = -1;
  /** Descriptors walked but not yet released. */
  private held = 0;
  /** Their frame addresses, to give back through the fill ring (LENT: the TX side gives it back). */
  private readonly heldAddrs = new Uint32Array(XDP_RX_BATCH);
  /** Index in heldAddrs of the frame the handler is looking at (lendCurrent). */
  private cur = 0;
  /** Frames the kernel dropped for want of a free frame in the fill ring (struct xdp_statistics). */
  fillEmptyDrops = 0;
  /** Frames the kernel dropped with the RX ring full. */
  ringFullDrops = 0;
  private readonly stats = new Uint8Array(48);
  private readonly statsDv = new DataView(this.stats.buffer);
  private readonly statsLen = new Int32Array(1);
  private lastDrops = 0;
  private lastFull = 0;
  private lastFillEmpty = 0;
  private lastPackets = 0;

  private constructor(fd: number, ifindex: number, mem: XskMemory, maps: readonly Mapping[]) {
    this.fd = fd;
    this.ifindex = ifindex;
    this.maps = maps;
    this.umem = mem.umem;
    this.slice = mem.slice;
    mem.umem.slices[mem.slice] = this;
    mem.umem.members++;
    this.via = mem.umem.via();
    this.buf = mem.umem.buf;
    this.addr = mem.umem.addr;
    this.rx = new Ring(mem.rx, mem.rxOffsets);
    this.fill = new Ring(mem.fill, mem.fillOffsets);
    this.txRing = mem.tx && mem.txOffsets ? new Ring(mem.tx, mem.txOffsets) : null;
    this.compRing = mem.comp && mem.compOffsets ? new Ring(mem.comp, mem.compOffsets) : null;
    // The indexes start where the ring's words are: 0 on a new socket; a test may start them
    // anywhere (near 2^32, to cross the wrap).
    this.rxCons = this.rx.cons[0]!;
    this.fillProd = this.fill.prod[0]!;
    // Every frame of the slice starts in the fill ring, but those a previous holder lent out,
    // which completions bring back (Umem.back).
    const base = mem.slice * XDP_FRAMES * XDP_FRAME_SIZE;
    for (let i = 0; i < XDP_FRAMES && i < XDP_FILL_RING_SIZE; i++) {
      const a = base + i * XDP_FRAME_SIZE;
      if (mem.umem.home(a)) this.pushFill(a);
    }
    this.fill.prod[0] = this.fillProd;
  }

  /**
   * A port over plain memory, no socket (fd -1): the caller plays the kernel, producing RX
   * descriptors and consuming the fill ring. For the unit tests of the ring handling.
   */
  static over(mem: XskMemory): XdpRx {
    return new XdpRx(-1, 0, mem, []);
  }

  /** Opens the socket, registers the UMEM and maps the rings; bind() attaches it to the queue. */
  static open(o: XskOptions): XdpRx {
    const c = libc();
    const um = o.umem;
    const ifindex = c.ifNameToIndex(o.ifname);
    if (ifindex === 0) throw new Error(`interface ${o.ifname} not found`);
    const slice = um.free();
    if (slice < 0) throw new Error(`the shared UMEM has room for ${um.slices.length} AF_XDP sockets, all taken`);
    const fd = check('socket(AF_XDP)', c.socket(AF_XDP, SOCK_RAW, 0), 'needs CAP_NET_RAW and a kernel with CONFIG_XDP_SOCKETS');
    const maps: Mapping[] = [];
    try {
      // The first socket registers the UMEM; the others share it at bind (XDP_SHARED_UMEM), each
      // with its own fill and completion rings (another device or queue needs them).
      if (um.bound.length === 0) {
        const reg = new Uint8Array(32);
        const rv = new DataView(reg.buffer);
        rv.setUint32(0, um.addr % 4294967296, true);
        rv.setUint32(4, Math.floor(um.addr / 4294967296), true);
        rv.setUint32(8, um.len, true);
        rv.setUint32(16, XDP_FRAME_SIZE, true);
        check('setsockopt(XDP_UMEM_REG)', c.setsockopt(fd, SOL_XDP, XDP_UMEM_REG, reg, 32));
      }
      check('setsockopt(XDP_UMEM_FILL_RING)', c.setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, int32(XDP_FILL_RING_SIZE), 4));
      check(
        'setsockopt(XDP_UMEM_COMPLETION_RING)',
        c.setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, int32(XDP_COMPLETION_RING_SIZE), 4),
      );
      check('setsockopt(XDP_RX_RING)', c.setsockopt(fd, SOL_XDP, XDP_RX_RING, int32(XDP_RX_RING_SIZE), 4));
      check('setsockopt(XDP_TX_RING)', c.setsockopt(fd, SOL_XDP, XDP_TX_RING, int32(XDP_TX_RING_SIZE), 4));
      // struct xdp_mmap_offsets: rx, tx, fr, cr, each { producer, consumer, desc, flags } as u64.
      const offs = new Uint8Array(128);
      const len = Int32Array.of(128);
      check('getsockopt(XDP_MMAP_OFFSETS)', c.getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, offs, len));
      const od = new DataView(offs.buffer);
      const ring = (i: number): RingOffsets => ({
        producer: Number(od.getBigUint64(i * 32, true)),
        consumer: Number(od.getBigUint64(i * 32 + 8, true)),
        desc: Number(od.getBigUint64(i * 32 + 16, true)),
      });
      const mapRing = (what: string, at: RingOffsets, bytes: number, pgoff: number): ArrayBuffer => {
        const m = c.mmapAt(at.desc + bytes, fd, pgoff);
        if (!m) check(`mmap(AF_XDP ${what} ring)`, -1);
        maps.push(m!);
        return c.view(m!);
      };
      const rxo = ring(0);
      const txo = ring(1);
      const fro = ring(2);
      const cro = ring(3);
      const mem: XskMemory = {
        umem: um,
        slice,
        rx: mapRing('RX', rxo, XDP_RX_RING_SIZE * DESC, XDP_PGOFF_RX_RING),
        rxOffsets: rxo,
        fill: mapRing('fill', fro, XDP_FILL_RING_SIZE * 8, XDP_UMEM_PGOFF_FILL_RING),
        fillOffsets: fro,
        tx: mapRing('TX', txo, XDP_TX_RING_SIZE * DESC, XDP_PGOFF_TX_RING),
        txOffsets: txo,
        comp: mapRing('completion', cro, XDP_COMPLETION_RING_SIZE * 8, XDP_UMEM_PGOFF_COMPLETION_RING),
        compOffsets: cro,
      };
      return new XdpRx(fd, ifindex, mem, maps);
    } catch (e) {
      for (const m of maps) c.munmap(m.addr, m.len);
      c.close(fd);
      throw e;
    }
  }

  /**
   * Binds to `queue` of the interface in copy mode, or sharing the UMEM of a socket bound before:
   * from then on the XSKMAP may point at it.
   */
  bind(ifname: string, queue = 0): void {
    const sa = new Uint8Array(16);
    const dv = new DataView(sa.buffer);
    const shareWith = this.umem.bound[0];
    dv.setUint16(0, AF_XDP, true);
    // XDP_SHARED_UMEM takes no other flag: the mode is the UMEM's.
    dv.setUint16(2, shareWith === undefined ? XDP_COPY : XDP_SHARED_UMEM, true);
    dv.setUint32(4, this.ifindex, true);
    dv.setUint32(8, queue, true);
    dv.setUint32(12, shareWith ?? 0, true);
    check(`bind(AF_XDP ${ifname} queue ${queue}${shareWith === undefined ? '' : ', shared UMEM'})`, libc().bind(this.fd, sa, 16));
    this.umem.bound.push(this.fd);
  }

  private pushFill(addr: number): void {
    const i = this.fillProd & (XDP_FILL_RING_SIZE - 1);
    this.fill.desc.setUint32(i * 8, addr, true);
    this.fill.desc.setUint32(i * 8 + 4, 0, true);
    this.fillProd = (this.fillProd + 1) >>> 0;
  }

  ready(): boolean {
    return this.held > 0 || this.rx.prod[0] !== this.rxCons;
  }

  /** Descriptors of the next block: fixed by peek() until walk() takes them, else what the kernel produced so far. */
  private next(): number {
    if (this.peeked >= 0) return this.peeked;
    const avail = (this.rx.prod[0]! - this.rxCons) >>> 0;
    return Math.min(avail, XDP_RX_BATCH) - this.held;
  }

  walk(h: FrameHandler): number {
    const n = this.next();
    this.peeked = -1;
    if (n <= 0 && this.held === 0) return 0;
    const d = this.rx.desc;
    const b = this.buf;
    let k = this.held;
    for (let j = 0; j < n; j++, k++) {
      const at = ((this.rxCons + k) & (XDP_RX_RING_SIZE - 1)) * DESC;
      // The UMEM is below 4 GiB: the high word of addr is 0.
      const off = d.getUint32(at, true);
      const len = d.getUint32(at + 8, true);
      this.heldAddrs[k] = off - (off % XDP_FRAME_SIZE);
      const vnet = off - VNET_HDR_LEN;
      if (writeVnetHdr(b, off, len, vnet)) this.partial++;
      this.frames++;
      this.bytes += len;
      this.cur = k;
      h(b, off, len, vnet, -1);
    }
    this.held = k;
    return n;
  }

  /**
   * As walk(), without counting or taking anything (RxPort.peek). The block is fixed here, so
   * that the next walk() hands exactly these frames even if the kernel produced more since. The
   * virtio_net_hdr at vnetOff is written by walk(), not here: before it, those bytes are stale.
   */
  peek(h: FrameHandler): number {
    const n = (this.peeked = this.next());
    const d = this.rx.desc;
    const b = this.buf;
    const base = this.rxCons + this.held;
    for (let j = 0; j < n; j++) {
      const at = ((base + j) & (XDP_RX_RING_SIZE - 1)) * DESC;
      const off = d.getUint32(at, true);
      h(b, off, d.getUint32(at + 8, true), off - VNET_HDR_LEN, -1);
    }
    return n > 0 ? n : 0;
  }

  release(): void {
    this.peeked = -1;
    const n = this.held;
    if (n === 0) return;
    for (let i = 0; i < n; i++) {
      const a = this.heldAddrs[i]!;
      if (a !== LENT) this.pushFill(a);
    }
    this.fill.prod[0] = this.fillProd;
    this.rxCons = (this.rxCons + n) >>> 0;
    this.rx.cons[0] = this.rxCons;
    this.held = 0;
  }

  /** The UMEM chunk of the frame the handler is looking at. */
  currentChunk(): number {
    return this.heldAddrs[this.cur]!;
  }

  /** The chunk's bytes before `start` of the frame being walked (copy mode leaves XDP_HEADROOM there). */
  headroom(start: number): number {
    return Math.max(0, start - this.heldAddrs[this.cur]!);
  }

  /**
   * Takes the frame the handler is looking at out of this block's refill: a TX ring sends it from
   * the UMEM, and its completion gives it back (Umem.back). Returns the frame's chunk.
   */
  lendCurrent(): number {
    const a = this.heldAddrs[this.cur]!;
    this.heldAddrs[this.cur] = LENT;
    return a;
  }

  /** A frame of this socket's slice is back from a TX ring: into the fill ring. */
  giveBack(addr: number): void {
    this.pushFill(addr);
    this.fill.prod[0] = this.fillProd;
  }

  /**
   * struct xdp_statistics deltas: rx_dropped + rx_ring_full as drops. In copy mode a frame the
   * fill ring had no room for counts in both rx_dropped and rx_fill_ring_empty_descs (xp_alloc
   * counts the empty fill ring, __xsk_rcv the drop), so the latter only says why.
   */
  statistics(): { packets: number; drops: number } {
    this.statsLen[0] = 48;
    if (libc().getsockopt(this.fd, SOL_XDP, XDP_STATISTICS, this.stats, this.statsLen) < 0) return { packets: 0, drops: 0 };
    return this.account(this.statsDv);
  }

  /** statistics() over a struct xdp_statistics the caller read (the tests write one). */
  account(dv: DataView): { packets: number; drops: number } {
    const full = Number(dv.getBigUint64(24, true));
    const fillEmpty = Number(dv.getBigUint64(32, true));
    const drops = Number(dv.getBigUint64(0, true)) + full;
    const d = drops - this.lastDrops;
    this.lastDrops = drops;
    this.ringFullDrops += full - this.lastFull;
    this.lastFull = full;
    this.fillEmptyDrops += fillEmpty - this.lastFillEmpty;
    this.lastFillEmpty = fillEmpty;
    const p = this.frames - this.lastPackets;
    this.lastPackets = this.frames;
    return { packets: p, drops: d };
  }

  /**
   * Closes the socket and its rings. Its slice is free again, and frames lent to its TX ring go
   * home (copy mode copied them at send; the kernel reads none of them after the close).
   */
  close(): string[] {
    const c = libc();
    const failed: string[] = [];
    if (this.fd >= 0 && c.close(this.fd) < 0) failed.push(`close of the AF_XDP socket failed: ${c.strerror(c.errno())}`);
    for (const m of this.maps) {
      if (c.munmap(m.addr, m.len) < 0) failed.push(`munmap of the AF_XDP socket failed: ${c.strerror(c.errno())}`);
    }
    failed.push(...this.umem.leave(this.slice, this.fd, this.via));
    return failed;
  }
}
