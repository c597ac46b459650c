// A TPACKET_V3 receive ring on one interface (docs/notes/packet-io.md). The kernel fills blocks of
// back-to-back frames in shared memory; user space walks a block once its status says USER and
// hands it back by writing KERNEL. Nothing is allocated per frame: the handler gets the ring's
// Uint8Array with an offset.
//
// The ring starts small and grows once under load (docs/packet-engine.md, "Ring growth"): the
// kernel maps every page of a ring at mmap, and an idle director should not hold 32 MiB per
// interface. Growing swaps sockets without losing or repeating a frame: both are members of one
// PACKET_FANOUT_CBPF group whose one-instruction program names the member that receives.
//
// Block descriptor (struct tpacket_block_desc + tpacket_hdr_v1): block_status @8, num_pkts @12,
// offset_to_first_pkt @16. Frame header (struct tpacket3_hdr): tp_next_offset @0,
// tp_snaplen @12, tp_len @16, tp_status @20, tp_mac @24, tp_net @26, hv1.tp_vlan_tci @32.

import {
  AF_PACKET,
  ETH_P_ALL_BE,
  PACKET_FANOUT,
  PACKET_FANOUT_CBPF,
  PACKET_FANOUT_DATA,
  PACKET_FANOUT_FLAG_IGNORE_OUTGOING,
  PACKET_FANOUT_FLAG_UNIQUEID,
  PACKET_FANOUT_HASH,
  PACKET_IGNORE_OUTGOING,
  PACKET_RX_RING,
  PACKET_STATISTICS,
  PACKET_VERSION,
  PACKET_VNET_HDR,
  RX_BLOCK_NR,
  RX_BLOCK_SIZE,
  RX_BLOCK_TIMEOUT_MS,
  RX_FRAME_SIZE,
  RX_GROW_BACKLOG,
  RX_GROW_TURNOVER_MS,
  RX_HANDOVER_MAX_MS,
  RX_HANDOVER_MIN_MS,
  RX_SMALL_BLOCK_NR,
  RX_SMALL_BLOCK_SIZE,
  RX_SMALL_BLOCK_TIMEOUT_MS,
  SO_ATTACH_FILTER,
  SO_DETACH_FILTER,
  SOL_PACKET,
  TP_STATUS_KERNEL,
  TP_STATUS_USER,
  TP_STATUS_VLAN_VALID,
  TPACKET_V3,
  VNET_HDR_LEN,
} from './constants.js';
import {
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_EVENT_SIZE,
  EPOLLIN,
  MAP_SHARED,
  POLLIN,
  PROT_READ,
  PROT_WRITE,
  SOCK_RAW,
  SOL_SOCKET,
} from '../../sys/constants.js';
import { check, libc, type Mapping } from '../../sys/libc.js';
import type { RxPort } from './port.js';
import { int32, SOCKADDR_LL_LEN, sockaddrLl } from './sockaddr.js';

export interface RxOptions {
  ifname: string;
  /** Prefix each frame with a virtio_net_hdr (partial checksums on veth, GRO). */
  vnetHdr?: boolean;
  /** Join a PACKET_FANOUT hash group: workers with the same id split flows between them. The ring is `blockNr` from the start. */
  fanoutGroup?: number;
  blockSize?: number;
  /** Blocks of the full ring (RX_BLOCK_NR). */
  blockNr?: number;
  /** Blocks the ring starts with (RX_SMALL_BLOCK_NR); equal to blockNr, the ring never grows. */
  smallBlockNr?: number;
  /** Told when the ring grew or could not (for the daemon's log). */
  log?: (msg: string) => void;
}

/**
 * Called per frame: `off`/`len` locate the Ethernet frame in `buf`; `vnetOff` is the offset of
 * its virtio_net_hdr or -1; `vlanTci` is the stripped 802.1Q tag or -1.
 */
export type FrameHandler = (buf: Uint8Array, off: number, len: number, vnetOff: number, vlanTci: number) => void;

/** How the ring stands: `fixed` never grows; `small` may; `growing` is swapping sockets; `grown` is done. */
export type RingState = 'fixed' | 'small' | 'growing' | 'grown';

/** One packet socket with its mapped ring. */
class Ring {
  readonly buf: Uint8Array;
  /** Native address of buf[0], for iovecs that send straight from the ring. */
  readonly addr: number;
  readonly dv: DataView;
  cur = 0;
  frames = 0;
  bytes = 0;

  constructor(
    readonly fd: number,
    readonly map: Mapping,
    readonly blockSize: number,
    readonly blockNr: number,
  ) {
    this.buf = new Uint8Array(libc().view(map));
    this.addr = map.addr;
    this.dv = new DataView(this.buf.buffer);
  }

  ready(): boolean {
    return (this.dv.getUint32(this.cur * this.blockSize + 8, true) & TP_STATUS_USER) !== 0;
  }

  /** Blocks ready from the current one on, counted up to `max`. */
  backlog(max: number): number {
    let n = 0;
    while (n < max && (this.dv.getUint32(((this.cur + n) % this.blockNr) * this.blockSize + 8, true) & TP_STATUS_USER) !== 0) n++;
    return n;
  }

  /**
   * No frame left: the current block is not ready and holds none. release() zeroes num_pkts,
   * and the kernel zeroes it when it opens a block, so a KERNEL block with frames is the one
   * being filled (or waiting for its timer).
   */
  empty(): boolean {
    const base = this.cur * this.blockSize;
    return (this.dv.getUint32(base + 8, true) & TP_STATUS_USER) === 0 && this.dv.getUint32(base + 12, true) === 0;
  }

  walk(h: FrameHandler, vnet: boolean): number {
    const base = this.cur * this.blockSize;
    const dv = this.dv;
    if ((dv.getUint32(base + 8, true) & TP_STATUS_USER) === 0) return 0;
    const n = dv.getUint32(base + 12, true);
    let p = base + dv.getUint32(base + 16, true);
    for (let i = 0; i < n; i++) {
      const snap = dv.getUint32(p + 12, true);
      const status = dv.getUint32(p + 20, true);
      const mac = p + dv.getUint16(p + 24, true);
      const tci = status & TP_STATUS_VLAN_VALID ? dv.getUint16(p + 32, true) : -1;
      h(this.buf, mac, snap, vnet ? mac - VNET_HDR_LEN : -1, tci);
      this.frames++;
      this.bytes += snap;
      const next = dv.getUint32(p, true);
      if (next === 0) break;
      p += next;
    }
    return n;
  }

  peek(h: FrameHandler, vnet: boolean): number {
    const base = this.cur * this.blockSize;
    const dv = this.dv;
    if ((dv.getUint32(base + 8, true) & TP_STATUS_USER) === 0) return 0;
    const n = dv.getUint32(base + 12, true);
    let p = base + dv.getUint32(base + 16, true);
    for (let i = 0; i < n; i++) {
      const status = dv.getUint32(p + 20, true);
      const mac = p + dv.getUint16(p + 24, true);
      const tci = status & TP_STATUS_VLAN_VALID ? dv.getUint16(p + 32, true) : -1;
      h(this.buf, mac, dv.getUint32(p + 12, true), vnet ? mac - VNET_HDR_LEN : -1, tci);
      const next = dv.getUint32(p, true);
      if (next === 0) break;
      p += next;
    }
    return n;
  }

  release(): void {
    const base = this.cur * this.blockSize;
    // num_pkts first: empty() reads a KERNEL block's count as frames not yet retired.
    this.dv.setUint32(base + 12, 0, true);
    this.dv.setUint32(base + 8, TP_STATUS_KERNEL, true);
    this.cur = (this.cur + 1) % this.blockNr;
  }
}

/** struct sock_fprog over a one-instruction classic BPF program `ret #k`, in native memory (the kernel copies it). */
function retProgram(k: number): Mapping {
  const c = libc();
  const m = c.alloc(24);
  const dv = new DataView(c.view(m));
  // struct sock_fprog { u16 len; struct sock_filter *filter } at 0, the filter at 16.
  dv.setUint16(0, 1, true);
  dv.setUint32(8, (m.addr + 16) % 2 ** 32, true);
  dv.setUint32(12, Math.floor((m.addr + 16) / 2 ** 32), true);
  // struct sock_filter { u16 code = BPF_RET|BPF_K; u8 jt, jf; u32 k }
  dv.setUint16(16, 0x06, true);
  dv.setUint32(20, k, true);
  return m;
}

let programs: { drop: Mapping; first: Mapping; second: Mapping } | null = null;
/** `ret #0` drops everything as a socket filter and picks member 0 as a fanout program; `ret #1` picks member 1. Allocated once (alloc() memory is never freed). */
function progs(): { drop: Mapping; first: Mapping; second: Mapping } {
  if (!programs) {
    const zero = retProgram(0);
    programs = { drop: zero, first: zero, second: retProgram(1) };
  }
  return programs;
}

/** A Uint8Array copy of a native sock_fprog, for the synchronous setsockopt (which takes a typed array). */
function fprogBytes(m: Mapping): Uint8Array {
  return new Uint8Array(libc().view(m), 0, 16);
}

interface Geometry {
  ifname: string;
  ifindex: number;
  vnetHdr: boolean;
  blockSize: number;
}

/** A ring's blocks: how big, how many, and how long a partly filled one waits to retire. */
interface Shape {
  blockSize: number;
  blockNr: number;
  timeoutMs: number;
}

/**
 * A packet socket not yet bound, with TPACKET_V3 (and vnet headers) set. It is created with
 * protocol 0, so it receives nothing, from any interface, until bind; with `dropAll` a filter
 * drops every frame until the caller detaches it.
 */
function packetSocket(g: Geometry, dropAll: boolean): number {
  const c = libc();
  const fd = check('socket(AF_PACKET)', c.socket(AF_PACKET, SOCK_RAW, 0), 'needs CAP_NET_RAW');
  try {
    check('setsockopt(PACKET_VERSION)', c.setsockopt(fd, SOL_PACKET, PACKET_VERSION, int32(TPACKET_V3), 4));
    if (g.vnetHdr) check('setsockopt(PACKET_VNET_HDR)', c.setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, int32(1), 4));
    if (dropAll) check('setsockopt(SO_ATTACH_FILTER)', c.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprogBytes(progs().drop), 16));
    return fd;
  } catch (e) {
    c.close(fd);
    throw e;
  }
}

/** struct tpacket_req3 for a ring of shape `sh`, written into `req` (28 bytes). */
function ringRequest(req: Uint8Array, sh: Shape): Uint8Array {
  const rv = new DataView(req.buffer, req.byteOffset, 28);
  rv.setUint32(0, sh.blockSize, true);
  rv.setUint32(4, sh.blockNr, true);
  rv.setUint32(8, RX_FRAME_SIZE, true);
  rv.setUint32(12, (sh.blockSize / RX_FRAME_SIZE) * sh.blockNr, true);
  rv.setUint32(16, sh.timeoutMs, true);
  return req;
}

/** Maps the ring set on `fd` and binds it to the interface; on failure `fd` is closed. */
function bindRing(g: Geometry, fd: number, sh: Shape, warnings: string[]): Ring {
  const c = libc();
  const map = c.mmap(sh.blockSize * sh.blockNr, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
  if (!map) {
    try {
      check('mmap(rx ring)', -1);
    } finally {
      c.close(fd);
    }
  }
  return bindMapped(g, fd, map!, sh, warnings);
}

/** Binds a socket whose ring is mapped at `map`; on failure unmaps it and closes the socket. */
function bindMapped(g: Geometry, fd: number, map: Mapping, sh: Shape, warnings: string[]): Ring {
  const c = libc();
  try {
    check(`bind(${g.ifname})`, c.bind(fd, sockaddrLl(g.ifindex, ETH_P_ALL_BE), SOCKADDR_LL_LEN));
    // Frames we transmit ourselves must not come back into the ring (a fanout group has its own flag).
    if (c.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, int32(1), 4) < 0) {
      const e = c.errno();
      warnings.push(
        `setsockopt(PACKET_IGNORE_OUTGOING) on ${g.ifname} failed: ${c.strerror(e)} (errno ${e}); the engine's own frames come back into its ring (a kernel before 4.20): upgrade the kernel`,
      );
    }
    return new Ring(fd, map, sh.blockSize, sh.blockNr);
  } catch (e) {
    c.munmap(map.addr, map.len);
    c.close(fd);
    throw e;
  }
}

/** Opens one packet socket with a ring of shape `sh`, bound to the interface (setting the ring waits for a grace period: at open only). */
function openSocket(g: Geometry, sh: Shape, warnings: string[]): Ring {
  const c = libc();
  const fd = packetSocket(g, false);
  try {
    check('setsockopt(PACKET_RX_RING)', c.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, ringRequest(new Uint8Array(28), sh), 28));
  } catch (e) {
    c.close(fd);
    throw e;
  }
  return bindRing(g, fd, sh, warnings);
}

/** The full ring: `blockNr` blocks of the interface's block size, retired after RX_BLOCK_TIMEOUT_MS. */
function bigShape(g: Geometry, blockNr: number): Shape {
  return { blockSize: g.blockSize, blockNr, timeoutMs: RX_BLOCK_TIMEOUT_MS };
}

/** Unmaps and closes a ring now; returns what failed. */
function closeRing(r: Ring, failed: string[]): void {
  const c = libc();
  const why = (call: string) => {
    const e = c.errno();
    failed.push(`${call} of the receive ring failed: ${c.strerror(e)} (errno ${e})`);
  };
  if (c.munmap(r.map.addr, r.map.len) < 0) why('munmap');
  if (c.close(r.fd) < 0) why('close');
}

export class RxRing implements RxPort {
  /** Options that failed without stopping the engine, for the log and `tsvs status`. */
  readonly warnings: string[] = [];
  /** The fd to poll: the socket of a fixed ring, else an epoll set over the socket(s) of the moment. */
  readonly fd: number;
  readonly ifindex: number;
  /** Why and when the ring grew (or why it cannot), for `tsvs status`. */
  growth = '';
  private state: RingState;
  /** Where new frames go: the small ring until the handover, the big one after. */
  private main: Ring;
  /** The small ring after the handover, walked first until it holds no frame. */
  private old: Ring | null = null;
  /** The big ring while the handover is set up; before its ring is mapped, only its socket. */
  private next: Ring | null = null;
  private nextFd = -1;
  /** The ring walk() or peek() chose: release() and addr are about it. */
  private src: Ring;
  private switchedAt = 0;
  /** When each worker step of the growth came back, ms after it began: the note says where a slow handover went. */
  private readonly steps = { ring: 0, map: 0, joined: 0 };
  /** Blocks released since `turnStart`, while the ring is small. */
  private turned = 0;
  private turnStart = 0;
  /** Counters of rings already closed. */
  private doneFrames = 0;
  private doneBytes = 0;
  private pendingStats = { packets: 0, drops: 0 };
  private closed = false;
  /** A worker thread is in a system call on the big socket. */
  private inFlight = false;
  /** `fd` is an epoll set of ours (a growable ring), not the socket itself. */
  private readonly ownEpoll: boolean;
  private readonly g: Geometry;
  private readonly bigBlockNr: number;
  private readonly vnet: boolean;
  private log: (msg: string) => void = () => undefined;
  private readonly ev = new Uint8Array(EPOLL_EVENT_SIZE);
  private readonly pfd = new Uint8Array(8);
  /** struct tpacket_stats_v3 read by statistics(), kept to spare the housekeeping tick allocations. */
  private readonly statsBuf = new Uint8Array(12);
  private readonly statsView = new DataView(this.statsBuf.buffer);
  private readonly statsLen = new Int32Array(1);

  private constructor(g: Geometry, ring: Ring, fd: number, state: RingState, bigBlockNr: number) {
    this.g = g;
    this.ifindex = g.ifindex;
    this.main = ring;
    this.src = ring;
    this.fd = fd;
    this.ownEpoll = fd !== ring.fd;
    this.state = state;
    this.bigBlockNr = bigBlockNr;
    this.vnet = g.vnetHdr;
    new DataView(this.ev.buffer).setUint32(0, EPOLLIN, true);
    const p = new DataView(this.pfd.buffer);
    p.setInt32(0, fd, true);
    p.setInt16(4, POLLIN, true);
  }

  /**
   * Opens the ring: small and growable unless `fanoutGroup` is given or the sizes are equal;
   * where the kernel lacks what growing needs, the full ring at once with a warning. Needs
   * CAP_NET_RAW; fails with the syscall and errno named.
   */
  static open(o: RxOptions): RxRing {
    const c = libc();
    const ifindex = c.ifNameToIndex(o.ifname);
    if (ifindex === 0) throw new Error(`interface ${o.ifname} not found`);
    const g: Geometry = { ifname: o.ifname, ifindex, vnetHdr: o.vnetHdr ?? false, blockSize: o.blockSize ?? RX_BLOCK_SIZE };
    const big = o.blockNr ?? RX_BLOCK_NR;
    const small = Math.min(o.smallBlockNr ?? RX_SMALL_BLOCK_NR, big);
    const warnings: string[] = [];
    if (o.fanoutGroup !== undefined || small === big) {
      const ring = openSocket(g, bigShape(g, big), warnings);
      try {
        if (o.fanoutGroup !== undefined) {
          const v = (o.fanoutGroup & 0xffff) | (PACKET_FANOUT_HASH << 16);
          check('setsockopt(PACKET_FANOUT)', c.setsockopt(ring.fd, SOL_PACKET, PACKET_FANOUT, int32(v), 4));
        }
      } catch (e) {
        closeRing(ring, []);
        throw e;
      }
      const rx = new RxRing(g, ring, ring.fd, 'fixed', big);
      rx.warnings.push(...warnings);
      return rx;
    }
    let ring: Ring | null = null;
    let ep = -1;
    try {
      // A frame in flight while the group replaces the socket's own hook may reach it either
      // way, or (one already past the new hook) not at all: at open, before any is handled.
      // The socket's PACKET_IGNORE_OUTGOING does not matter in a group (its flag does), so
      // the socket's warnings are not kept.
      ring = openSocket(
        g,
        { blockSize: Math.min(RX_SMALL_BLOCK_SIZE, g.blockSize), blockNr: small, timeoutMs: RX_SMALL_BLOCK_TIMEOUT_MS },
        [],
      );
      const flags = PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_UNIQUEID | PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
      check(
        'setsockopt(PACKET_FANOUT, CBPF|UNIQUEID|IGNORE_OUTGOING)',
        c.setsockopt(ring.fd, SOL_PACKET, PACKET_FANOUT, int32(flags << 16), 4),
      );
      check('setsockopt(PACKET_FANOUT_DATA)', c.setsockopt(ring.fd, SOL_PACKET, PACKET_FANOUT_DATA, fprogBytes(progs().first), 16));
      ep = check('epoll_create1(rx ring)', c.epollCreate());
      const rx = new RxRing(g, ring, ep, 'small', big);
      check('epoll_ctl(rx ring)', c.epollCtl(ep, EPOLL_CTL_ADD, ring.fd, rx.ev));
      rx.growth = `starts at ${small} blocks, grows to ${big} under load`;
      if (o.log) rx.log = o.log;
      return rx;
    } catch (e) {
      if (ring) closeRing(ring, []);
      if (ep >= 0) c.close(ep);
      const rx = RxRing.open({ ...o, smallBlockNr: big });
      rx.warnings.push(
        `the receive ring of ${o.ifname} cannot start small and grow (${(e as Error).message}; a CBPF fanout group with UNIQUEID and IGNORE_OUTGOING needs Linux 6.2): it holds ${big} blocks (${(big * g.blockSize) >> 20} MiB) from the start`,
      );
      return rx;
    }
  }

  /** Blocks of the ring frames go to now. */
  get blocks(): number {
    return this.main.blockNr;
  }

  get grown(): boolean {
    return this.state === 'grown';
  }

  get ringState(): RingState {
    return this.state;
  }

  /** Bytes of ring mapped now (both rings during a handover). */
  get mappedBytes(): number {
    let n = this.main.map.len;
    if (this.old) n += this.old.map.len;
    if (this.next) n += this.next.map.len;
    return n;
  }

  get frames(): number {
    return this.doneFrames + this.main.frames + (this.old ? this.old.frames : 0);
  }

  get bytes(): number {
    return this.doneBytes + this.main.bytes + (this.old ? this.old.bytes : 0);
  }

  /** The walked ring's memory (frames handed to the handler point into it). */
  get buf(): Uint8Array {
    return this.src.buf;
  }

  /** Native address of buf[0], for iovecs that send straight from the ring (TxQueue.pushRx). */
  get addr(): number {
    return this.src.addr;
  }

  /** Blocks ready in the ring frames go to, up to `max` (tests, status). */
  backlog(max = this.main.blockNr): number {
    return this.main.backlog(max);
  }

  /** Waits up to `timeoutMs` for the current block to be ready. */
  wait(timeoutMs: number): boolean {
    if (this.ready()) return true;
    this.pfd[6] = 0;
    this.pfd[7] = 0;
    libc().poll(this.pfd, 1, timeoutMs);
    return this.ready();
  }

  /** True when the current block belongs to user space. */
  ready(): boolean {
    return this.pick() !== null;
  }

  /**
   * The ring whose current block is next: the old one's while it has frames (they are older
   * than any in the big ring, so order is kept), else the main one's; null when none is ready.
   */
  private pick(): Ring | null {
    const o = this.old;
    if (o !== null) {
      if (o.ready()) return o;
      const age = performance.now() - this.switchedAt;
      if (!o.empty() && age > RX_HANDOVER_MAX_MS) {
        this.warnings.push(
          `the small receive ring of ${this.g.ifname} still held an unretired block ${RX_HANDOVER_MAX_MS} ms after the handover; closed it anyway (its frames are lost)`,
        );
      } else if (!o.empty() || age < RX_HANDOVER_MIN_MS) {
        return o.empty() && this.main.ready() ? this.main : null;
      }
      this.retireOld();
    }
    return this.main.ready() ? this.main : null;
  }

  /**
   * Walks the current block if it is ready, calling `h` per frame; returns the number of
   * frames (0 if the block was not ready). The block stays owned by user space until
   * `release()`, so frames may be sent straight from the ring in between.
   */
  walk(h: FrameHandler): number {
    const r = this.pick();
    if (r === null) return 0;
    this.src = r;
    return r.walk(h, this.vnet);
  }

  /** As walk(), but nothing is counted and the block stays current (RxPort.peek). */
  peek(h: FrameHandler): number {
    const r = this.pick();
    if (r === null) return 0;
    this.src = r;
    return r.peek(h, this.vnet);
  }

  /** Hands the walked block back to the kernel and moves to the next; grows when the small ring is too small for the traffic. */
  release(): void {
    const r = this.src;
    r.release();
    if (this.state === 'small') this.measure(r);
  }

  /** The growth triggers seen at a release: the small ring fell behind, or turns over too fast. */
  private measure(r: Ring): void {
    if (r.backlog(RX_GROW_BACKLOG) >= RX_GROW_BACKLOG) {
      this.grow(`${RX_GROW_BACKLOG} of its ${r.blockNr} blocks were waiting to be walked`);
      return;
    }
    if (this.turned++ === 0) this.turnStart = performance.now();
    if (this.turned < r.blockNr) return;
    const ms = performance.now() - this.turnStart;
    this.turned = 0;
    if (ms < RX_GROW_TURNOVER_MS) this.grow(`its ${r.blockNr} blocks turned over in ${ms.toFixed(0)} ms`);
  }

  /** Kernel counters since the last call (PACKET_STATISTICS resets them), of every socket. */
  statistics(): { packets: number; drops: number } {
    let packets = this.pendingStats.packets;
    let drops = this.pendingStats.drops;
    this.pendingStats = { packets: 0, drops: 0 };
    for (const r of [this.main, this.old, this.next]) {
      if (r === null) continue;
      const s = this.readStats(r.fd);
      packets += s.packets;
      drops += s.drops;
    }
    if (this.state === 'small' && drops > 0) this.grow(`the kernel dropped ${drops} frames for a full ring`);
    // The tick also closes a drained old ring when no frame came to walk.
    if (this.old !== null) this.pick();
    return { packets, drops };
  }

  private readStats(fd: number): { packets: number; drops: number } {
    this.statsLen[0] = 12;
    if (libc().getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, this.statsBuf, this.statsLen) < 0) return { packets: 0, drops: 0 };
    return { packets: this.statsView.getUint32(0, true), drops: this.statsView.getUint32(4, true) };
  }

  /**
   * Starts the handover to the big ring (once; never back: a ring that was needed once will be
   * again, and shrinking would need a second handover under the load that grew it):
   *  1. the big socket opens with a drop-all filter, so that frames its own hook sees while it is
   *     bound outside the group are not doubled; its ring is set, it binds and joins the group
   *     (member 1: the kernel appends members). Joining takes it off its own hook, but a frame on
   *     another CPU may still be inside that hook:
   *  2. setting the group program again (`ret #0`) returns after an RCU grace period
   *     (synchronize_net), after which none is; then the filter goes;
   *  3. the program becomes `ret #1`: new frames go to the big ring. That call too returns after
   *     a grace period, so nothing is still being written into the small ring;
   *  4. the small ring is walked until it holds no frame, then closed (pick()).
   * Setting a ring and swapping a program sleep in the kernel for a grace period (some 20 ms
   * measured), and mapping the big ring inserts its 8,192 pages: they run on a worker thread
   * while the small ring is walked.
   */
  private grow(why: string): void {
    if (this.state !== 'small' || this.closed) return;
    this.state = 'growing';
    const c = libc();
    const t0 = performance.now();
    let fd: number;
    try {
      fd = packetSocket(this.g, true);
    } catch (e) {
      this.fail(why, `opening the big ring failed: ${(e as Error).message}`);
      return;
    }
    this.nextFd = fd;
    // Native memory, read on the worker thread; one per growth, and a ring grows once.
    const req = c.alloc(28);
    ringRequest(new Uint8Array(c.view(req)), bigShape(this.g, this.bigBlockNr));
    this.inFlight = true;
    c.setsockoptAsync(fd, SOL_PACKET, PACKET_RX_RING, req, 28, (rc) => {
      if (this.landed()) return;
      this.steps.ring = performance.now() - t0;
      if (rc < 0) return this.abandon(why, `setsockopt(PACKET_RX_RING) of ${this.bigBlockNr} blocks on a worker thread failed`);
      // Mapping 32 MiB inserts every page of the ring: on a worker thread too, while this one
      // keeps walking the small ring (its 16 blocks hold some 32 ms of light traffic).
      this.inFlight = true;
      c.mmapAsync(this.g.blockSize * this.bigBlockNr, fd, (map) => {
        if (this.landed()) {
          if (map) c.munmap(map.addr, map.len);
          return;
        }
        if (!map) return this.abandon(why, `mmap of the ${this.bigBlockNr}-block ring on a worker thread failed`);
        this.steps.map = performance.now() - t0;
        this.joinBig(why, fd, map, t0);
      });
    });
  }

  /** Growth, once the big ring is set and mapped: bind it, join the group, swap the program to it. */
  private joinBig(why: string, fd: number, map: Mapping, t0: number): void {
    const c = libc();
    this.nextFd = -1;
    let big: Ring;
    try {
      big = bindMapped(this.g, fd, map, bigShape(this.g, this.bigBlockNr), this.warnings);
    } catch (e) {
      return this.fail(why, `the big ring: ${(e as Error).message}`);
    }
    this.next = big;
    try {
      const id = this.groupId(this.main.fd);
      const flags = PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
      check('setsockopt(PACKET_FANOUT, join)', c.setsockopt(fd, SOL_PACKET, PACKET_FANOUT, int32(id | (flags << 16)), 4));
    } catch (e) {
      return this.abandon(why, `joining the fanout group failed: ${(e as Error).message}`);
    }
    this.inFlight = true;
    c.setsockoptAsync(fd, SOL_PACKET, PACKET_FANOUT_DATA, progs().first, 16, (rc1) => {
      if (this.landed()) return;
      if (rc1 < 0) return this.abandon(why, 'setsockopt(PACKET_FANOUT_DATA) on a worker thread failed');
      this.steps.joined = performance.now() - t0;
      try {
        check('setsockopt(SO_DETACH_FILTER)', c.setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, int32(0), 4));
        check('epoll_ctl(big ring)', c.epollCtl(this.fd, EPOLL_CTL_ADD, fd, this.ev));
      } catch (e) {
        return this.abandon(why, (e as Error).message);
      }
      this.inFlight = true;
      c.setsockoptAsync(fd, SOL_PACKET, PACKET_FANOUT_DATA, progs().second, 16, (rc2) => {
        if (this.landed()) return;
        // The kernel installs the new program before it waits: a failure here is one to
        // allocate it, and the old one (`ret #0`) still stands.
        if (rc2 < 0) return this.abandon(why, 'setsockopt(PACKET_FANOUT_DATA) to the big ring on a worker thread failed');
        const small = this.main;
        this.old = small;
        this.main = big;
        this.next = null;
        this.switchedAt = performance.now();
        this.state = 'grown';
        const st = this.steps;
        this.growth =
          `grew from ${small.blockNr} to ${big.blockNr} blocks (${why}; handover ${(this.switchedAt - t0).toFixed(1)} ms: ` +
          `ring set at ${st.ring.toFixed(1)}, mapped at ${st.map.toFixed(1)}, joined at ${st.joined.toFixed(1)})`;
        this.log(`the receive ring of ${this.g.ifname} ${this.growth}`);
        // An empty small ring goes once RX_HANDOVER_MIN_MS passed, even if no frame comes
        // to wake the loop then (one with frames left wakes it through the epoll set).
        setTimeout(() => {
          if (!this.closed && this.old !== null) this.pick();
        }, RX_HANDOVER_MIN_MS + 1).unref();
      });
    });
  }

  /**
   * A worker's call came back: true when the ring was closed meanwhile, after closing the big
   * socket, which close() left to this callback so that its fd number could not be reused
   * under the worker's call.
   */
  private landed(): boolean {
    this.inFlight = false;
    if (!this.closed) return false;
    const failed: string[] = [];
    if (this.next) closeRing(this.next, failed);
    if (this.nextFd >= 0) libc().close(this.nextFd);
    this.next = null;
    this.nextFd = -1;
    return true;
  }

  /** The group id the small socket's group got (getsockopt PACKET_FANOUT: id in the low 16 bits). */
  private groupId(fd: number): number {
    const v = new Uint8Array(4);
    const len = Int32Array.of(4);
    check('getsockopt(PACKET_FANOUT)', libc().getsockopt(fd, SOL_PACKET, PACKET_FANOUT, v, len));
    return new DataView(v.buffer).getUint32(0, true) & 0xffff;
  }

  /** Growing failed before the switch: the big socket goes (it received nothing), the small ring stays. */
  private abandon(why: string, what: string): void {
    const c = libc();
    const big = this.next;
    this.next = null;
    if (big) {
      c.epollCtl(this.fd, EPOLL_CTL_DEL, big.fd, null);
      const failed: string[] = [];
      closeRing(big, failed);
      this.warnings.push(...failed);
    }
    if (this.nextFd >= 0) c.close(this.nextFd);
    this.nextFd = -1;
    this.fail(why, what);
  }

  private fail(why: string, what: string): void {
    this.state = 'fixed';
    this.growth = `stays at ${this.main.blockNr} blocks: growing (${why}) failed`;
    const msg = `the receive ring of ${this.g.ifname} could not grow: ${what}; it stays at ${this.main.blockNr} blocks and may drop frames under load`;
    this.warnings.push(msg);
    this.log(msg);
  }

  /** The old ring holds no frame and gets none: its last counters are kept, then it goes. */
  private retireOld(): void {
    const o = this.old!;
    this.old = null;
    this.src = this.main;
    const c = libc();
    const s = this.readStats(o.fd);
    this.pendingStats.packets += s.packets;
    this.pendingStats.drops += s.drops;
    if (s.drops > 0) this.growth += `; the small ring dropped ${s.drops} frames since the last count`;
    this.doneFrames += o.frames;
    this.doneBytes += o.bytes;
    if (c.epollCtl(this.fd, EPOLL_CTL_DEL, o.fd, null) < 0) {
      const e = c.errno();
      this.warnings.push(`epoll_ctl(DEL) of the small ring failed: ${c.strerror(e)} (errno ${e})`);
    }
    if (c.munmap(o.map.addr, o.map.len) < 0) {
      const e = c.errno();
      this.warnings.push(`munmap of the small ring failed: ${c.strerror(e)} (errno ${e})`);
    }
    // Releasing a packet socket waits for a grace period: not on the frame loop.
    c.closeAsync(o.fd, (rc) => {
      if (rc < 0) this.warnings.push('close of the small ring on a worker thread failed');
    });
  }

  /** Unmaps the ring(s) and closes the socket(s); returns what failed (for the log), empty when all went well. */
  close(): string[] {
    const c = libc();
    const failed: string[] = [];
    this.closed = true;
    for (const r of [this.main, this.old]) if (r !== null) closeRing(r, failed);
    this.old = null;
    // A big socket a worker is using is closed when its call returns (landed()).
    if (!this.inFlight) {
      if (this.next) closeRing(this.next, failed);
      if (this.nextFd >= 0) c.close(this.nextFd);
      this.next = null;
      this.nextFd = -1;
    }
    if (this.ownEpoll) {
      if (c.close(this.fd) < 0) failed.push(`close of the receive ring's epoll set failed: ${c.strerror(c.errno())}`);
    }
    return failed;
  }
}
