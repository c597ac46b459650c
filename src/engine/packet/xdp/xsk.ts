// An AF_XDP socket receiving on one queue of one interface, in copy mode (XDP_COPY: veth and most
// drivers have no zero-copy), as an RxPort (port.ts). The UMEM is one anonymous mapping of
// XDP_FRAMES pages; the fill ring hands the kernel empty frames, the RX ring returns filled ones
// (struct xdp_desc { u64 addr; u32 len; u32 options }). Rings are mmapped at the offsets
// getsockopt(XDP_MMAP_OFFSETS) gives; producer and consumer are u32 indexes that only grow.
//
// One "block" here is up to XDP_RX_BATCH descriptors: walk() hands them to the forwarder in
// place, release() gives their frames back through the fill ring and moves the RX consumer, so the
// ring's contract is the packet socket's: frames sent straight from the UMEM are flushed first.
// Each frame gets a virtio_net_hdr written in its headroom (partial.ts), so that the forwarder and
// the transmit socket (a packet socket with PACKET_VNET_HDR) treat it as a packet-socket frame.
// Transmit stays on the packet socket: AF_XDP TX is not built.

import { VNET_HDR_LEN, XDP_FILL_RING_SIZE, XDP_FRAME_SIZE, XDP_FRAMES, XDP_RX_BATCH, XDP_RX_RING_SIZE } from '../constants.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, SOCK_RAW } from '../../../sys/constants.js';
import { check, libc, type Mapping } from '../../../sys/libc.js';
import type { RxPort } from '../port.js';
import type { FrameHandler } from '../rxring.js';
import { int32 } from '../sockaddr.js';
import { writeVnetHdr } from './partial.js';

export const AF_XDP = 44;
const SOL_XDP = 283;
const XDP_MMAP_OFFSETS = 1;
const XDP_RX_RING = 2;
const XDP_UMEM_REG = 4;
const XDP_UMEM_FILL_RING = 5;
const XDP_UMEM_COMPLETION_RING = 6;
const XDP_STATISTICS = 7;
const XDP_COPY = 2;
const XDP_PGOFF_RX_RING = 0;
const XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
/** The completion ring is required for a bind, though nothing is transmitted through it. */
const COMPLETION_RING_SIZE = 64;
const DESC = 16;

/** Where a ring's producer and consumer words and its descriptors lie in its memory (XDP_MMAP_OFFSETS). */
export interface RingOffsets {
  producer: number;
  consumer: number;
  desc: number;
}

/** A ring: its producer and consumer words as views, its descriptors as a DataView. */
class Ring {
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
  umem: ArrayBuffer;
  /** Native address of the UMEM's first byte (for sends straight from it); 0 in plain memory. */
  addr: number;
  rx: ArrayBuffer;
  rxOffsets: RingOffsets;
  fill: ArrayBuffer;
  fillOffsets: RingOffsets;
}

export interface XskOptions {
  ifname: string;
  queue?: number;
}

export class XdpRx implements RxPort {
  readonly warnings: string[] = [];
  readonly fd: number;
  readonly ifindex: number;
  /** The UMEM: frames are handed to the forwarder as offsets into it. */
  readonly buf: Uint8Array;
  /** Native address of buf[0], for iovecs that send straight from the UMEM (TxQueue.pushRx). */
  readonly addr: number;
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
  /** Their frame addresses, to give back through the fill ring. */
  private readonly heldAddrs = new Uint32Array(XDP_RX_BATCH);
  private readonly stats = new Uint8Array(48);
  private readonly statsDv = new DataView(this.stats.buffer);
  private readonly statsLen = new Int32Array(1);
  private lastDrops = 0;
  private lastPackets = 0;

  private constructor(fd: number, ifindex: number, mem: XskMemory, maps: readonly Mapping[]) {
    this.fd = fd;
    this.ifindex = ifindex;
    this.maps = maps;
    this.buf = new Uint8Array(mem.umem);
    this.addr = mem.addr;
    this.rx = new Ring(mem.rx, mem.rxOffsets);
    this.fill = new Ring(mem.fill, mem.fillOffsets);
    // The indexes start where the ring's words are: 0 on a new socket; a test may start them
    // anywhere (near 2^32, to cross the wrap).
    this.rxCons = this.rx.cons[0]!;
    this.fillProd = this.fill.prod[0]!;
    // Every frame starts in the fill ring.
    for (let i = 0; i < XDP_FRAMES && i < XDP_FILL_RING_SIZE; i++) this.pushFill(i * XDP_FRAME_SIZE);
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
    const ifindex = c.ifNameToIndex(o.ifname);
    if (ifindex === 0) throw new Error(`interface ${o.ifname} not found`);
    const fd = check('socket(AF_XDP)', c.socket(AF_XDP, SOCK_RAW, 0), 'needs CAP_NET_RAW and a kernel with CONFIG_XDP_SOCKETS');
    const maps: Mapping[] = [];
    try {
      const umem = c.mmap(XDP_FRAMES * XDP_FRAME_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
      if (!umem) check('mmap(AF_XDP UMEM)', -1);
      maps.push(umem!);
      const reg = new Uint8Array(32);
      const rv = new DataView(reg.buffer);
      rv.setUint32(0, umem!.addr % 4294967296, true);
      rv.setUint32(4, Math.floor(umem!.addr / 4294967296), true);
      rv.setUint32(8, umem!.len, true);
      rv.setUint32(16, XDP_FRAME_SIZE, true);
      check('setsockopt(XDP_UMEM_REG)', c.setsockopt(fd, SOL_XDP, XDP_UMEM_REG, reg, 32));
      check('setsockopt(XDP_UMEM_FILL_RING)', c.setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, int32(XDP_FILL_RING_SIZE), 4));
      check('setsockopt(XDP_UMEM_COMPLETION_RING)', c.setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, int32(COMPLETION_RING_SIZE), 4));
      check('setsockopt(XDP_RX_RING)', c.setsockopt(fd, SOL_XDP, XDP_RX_RING, int32(XDP_RX_RING_SIZE), 4));
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
      const rxo = ring(0);
      const fro = ring(2);
      const rxMap = c.mmapAt(rxo.desc + XDP_RX_RING_SIZE * DESC, fd, XDP_PGOFF_RX_RING);
      if (!rxMap) check('mmap(AF_XDP RX ring)', -1);
      maps.push(rxMap!);
      const frMap = c.mmapAt(fro.desc + XDP_FILL_RING_SIZE * 8, fd, XDP_UMEM_PGOFF_FILL_RING);
      if (!frMap) check('mmap(AF_XDP fill ring)', -1);
      maps.push(frMap!);
      const mem = { umem: c.view(umem!), addr: umem!.addr, rx: c.view(rxMap!), rxOffsets: rxo, fill: c.view(frMap!), fillOffsets: fro };
      return new XdpRx(fd, ifindex, mem, [rxMap!, frMap!, umem!]);
    } catch (e) {
      for (const m of maps) c.munmap(m.addr, m.len);
      c.close(fd);
      throw e;
    }
  }

  /** Binds to `queue` of the interface in copy mode: from then on the XSKMAP may point at it. */
  bind(ifname: string, queue = 0): void {
    const sa = new Uint8Array(16);
    const dv = new DataView(sa.buffer);
    dv.setUint16(0, AF_XDP, true);
    dv.setUint16(2, XDP_COPY, true);
    dv.setUint32(4, this.ifindex, true);
    dv.setUint32(8, queue, true);
    check(`bind(AF_XDP ${ifname} queue ${queue})`, libc().bind(this.fd, sa, 16));
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
    for (let i = 0; i < n; i++) this.pushFill(this.heldAddrs[i]!);
    this.fill.prod[0] = this.fillProd;
    this.rxCons = (this.rxCons + n) >>> 0;
    this.rx.cons[0] = this.rxCons;
    this.held = 0;
  }

  /** struct xdp_statistics deltas: rx_dropped + rx_ring_full + rx_fill_ring_empty_descs as drops. */
  statistics(): { packets: number; drops: number } {
    this.statsLen[0] = 48;
    if (libc().getsockopt(this.fd, SOL_XDP, XDP_STATISTICS, this.stats, this.statsLen) < 0) return { packets: 0, drops: 0 };
    const dv = this.statsDv;
    const drops = Number(dv.getBigUint64(0, true) + dv.getBigUint64(24, true) + dv.getBigUint64(32, true));
    const d = drops - this.lastDrops;
    this.lastDrops = drops;
    const p = this.frames - this.lastPackets;
    this.lastPackets = this.frames;
    return { packets: p, drops: d };
  }

  close(): string[] {
    const c = libc();
    const failed: string[] = [];
    if (this.fd >= 0 && c.close(this.fd) < 0) failed.push(`close of the AF_XDP socket failed: ${c.strerror(c.errno())}`);
    for (const m of this.maps) {
      if (c.munmap(m.addr, m.len) < 0) failed.push(`munmap of the AF_XDP socket failed: ${c.strerror(c.errno())}`);
    }
    return failed;
  }
}
