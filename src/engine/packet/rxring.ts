// A TPACKET_V3 receive ring on one interface (docs/notes/packet-io.md). The kernel fills blocks of
// back-to-back frames in shared memory; user space walks a block once its status says USER and
// hands it back by writing KERNEL. Nothing is allocated per frame: the handler gets the ring's
// Uint8Array with an offset.
//
// Block descriptor (struct tpacket_block_desc + tpacket_hdr_v1): block_status @8, num_pkts @12,
// offset_to_first_pkt @16. Frame header (struct tpacket3_hdr): tp_next_offset @0,
// tp_snaplen @12, tp_len @16, tp_status @20, tp_mac @24, tp_net @26, hv1.tp_vlan_tci @32.

import {
  AF_PACKET,
  ETH_P_ALL_BE,
  PACKET_FANOUT,
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
  SOL_PACKET,
  TP_STATUS_KERNEL,
  TP_STATUS_USER,
  TP_STATUS_VLAN_VALID,
  TPACKET_V3,
  VNET_HDR_LEN,
} from './constants.js';
import { MAP_SHARED, POLLIN, PROT_READ, PROT_WRITE, SOCK_RAW } from '../../sys/constants.js';
import { check, libc, type Mapping } from '../../sys/libc.js';
import type { RxPort } from './port.js';
import { int32, SOCKADDR_LL_LEN, sockaddrLl } from './sockaddr.js';

export interface RxOptions {
  ifname: string;
  /** Prefix each frame with a virtio_net_hdr (partial checksums on veth, GRO). */
  vnetHdr?: boolean;
  /** Join a PACKET_FANOUT hash group: workers with the same id split flows between them. */
  fanoutGroup?: number;
  blockSize?: number;
  blockNr?: number;
}

/**
 * Called per frame: `off`/`len` locate the Ethernet frame in `buf`; `vnetOff` is the offset of
 * its virtio_net_hdr or -1; `vlanTci` is the stripped 802.1Q tag or -1.
 */
export type FrameHandler = (buf: Uint8Array, off: number, len: number, vnetOff: number, vlanTci: number) => void;

export class RxRing implements RxPort {
  /** Options that failed without stopping the engine, for the log and `tsvs status`. */
  readonly warnings: string[] = [];
  readonly fd: number;
  readonly ifindex: number;
  readonly buf: Uint8Array;
  /** Native address of buf[0], for iovecs that send straight from the ring. */
  readonly addr: number;
  private readonly dv: DataView;
  private readonly map: Mapping;
  private readonly blockSize: number;
  private readonly blockNr: number;
  private readonly vnet: boolean;
  private cur = 0;
  private readonly pfd = new Uint8Array(8);
  /** struct tpacket_stats_v3 read by statistics(), kept to spare the housekeeping tick allocations. */
  private readonly statsBuf = new Uint8Array(12);
  private readonly statsView = new DataView(this.statsBuf.buffer);
  private readonly statsLen = new Int32Array(1);
  frames = 0;
  bytes = 0;

  private constructor(fd: number, ifindex: number, map: Mapping, o: Required<Omit<RxOptions, 'fanoutGroup'>>) {
    this.fd = fd;
    this.ifindex = ifindex;
    this.map = map;
    this.buf = new Uint8Array(libc().view(map));
    this.addr = map.addr;
    this.dv = new DataView(this.buf.buffer);
    this.blockSize = o.blockSize;
    this.blockNr = o.blockNr;
    this.vnet = o.vnetHdr;
    const p = new DataView(this.pfd.buffer);
    p.setInt32(0, fd, true);
    p.setInt16(4, POLLIN, true);
  }

  /** Opens the ring. Needs CAP_NET_RAW; fails with the syscall and errno named. */
  static open(o: RxOptions): RxRing {
    const c = libc();
    const ifindex = c.ifNameToIndex(o.ifname);
    if (ifindex === 0) throw new Error(`interface ${o.ifname} not found`);
    const opts = {
      ifname: o.ifname,
      vnetHdr: o.vnetHdr ?? false,
      blockSize: o.blockSize ?? RX_BLOCK_SIZE,
      blockNr: o.blockNr ?? RX_BLOCK_NR,
    };
    const fd = check('socket(AF_PACKET)', c.socket(AF_PACKET, SOCK_RAW, ETH_P_ALL_BE), 'needs CAP_NET_RAW');
    try {
      check('setsockopt(PACKET_VERSION)', c.setsockopt(fd, SOL_PACKET, PACKET_VERSION, int32(TPACKET_V3), 4));
      if (opts.vnetHdr) {
        check('setsockopt(PACKET_VNET_HDR)', c.setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, int32(1), 4));
      }
      const req = new Uint8Array(28);
      const rv = new DataView(req.buffer);
      rv.setUint32(0, opts.blockSize, true);
      rv.setUint32(4, opts.blockNr, true);
      rv.setUint32(8, RX_FRAME_SIZE, true);
      rv.setUint32(12, (opts.blockSize / RX_FRAME_SIZE) * opts.blockNr, true);
      rv.setUint32(16, RX_BLOCK_TIMEOUT_MS, true);
      check('setsockopt(PACKET_RX_RING)', c.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req, 28));
      const map = c.mmap(opts.blockSize * opts.blockNr, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
      if (!map) check('mmap(rx ring)', -1);
      const sll = sockaddrLl(ifindex, ETH_P_ALL_BE);
      check(`bind(${o.ifname})`, c.bind(fd, sll, SOCKADDR_LL_LEN));
      // Frames we transmit ourselves must not come back into the ring.
      const warnings: string[] = [];
      if (c.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, int32(1), 4) < 0) {
        const e = c.errno();
        warnings.push(
          `setsockopt(PACKET_IGNORE_OUTGOING) on ${o.ifname} failed: ${c.strerror(e)} (errno ${e}); the engine's own frames come back into its ring (a kernel before 4.20): upgrade the kernel`,
        );
      }
      if (o.fanoutGroup !== undefined) {
        const v = (o.fanoutGroup & 0xffff) | (PACKET_FANOUT_HASH << 16);
        check('setsockopt(PACKET_FANOUT)', c.setsockopt(fd, SOL_PACKET, PACKET_FANOUT, int32(v), 4));
      }
      const ring = new RxRing(fd, ifindex, map!, opts);
      ring.warnings.push(...warnings);
      return ring;
    } catch (e) {
      c.close(fd);
      throw e;
    }
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
    return (this.dv.getUint32(this.cur * this.blockSize + 8, true) & TP_STATUS_USER) !== 0;
  }

  /**
   * Walks the current block if it is ready, calling `h` per frame; returns the number of
   * frames (0 if the block was not ready). The block stays owned by user space until
   * `release()`, so frames may be sent straight from the ring in between.
   */
  walk(h: FrameHandler): number {
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
      h(this.buf, mac, snap, this.vnet ? mac - VNET_HDR_LEN : -1, tci);
      this.frames++;
      this.bytes += snap;
      const next = dv.getUint32(p, true);
      if (next === 0) break;
      p += next;
    }
    return n;
  }

  /** As walk(), but nothing is counted and the block stays current (RxPort.peek). */
  peek(h: FrameHandler): number {
    const base = this.cur * this.blockSize;
    const dv = this.dv;
    if ((dv.getUint32(base + 8, true) & TP_STATUS_USER) === 0) return 0;
    const n = dv.getUint32(base + 12, true);
    let p = base + dv.getUint32(base + 16, true);
    for (let i = 0; i < n; i++) {
      const status = dv.getUint32(p + 20, true);
      const mac = p + dv.getUint16(p + 24, true);
      const tci = status & TP_STATUS_VLAN_VALID ? dv.getUint16(p + 32, true) : -1;
      h(this.buf, mac, dv.getUint32(p + 12, true), this.vnet ? mac - VNET_HDR_LEN : -1, tci);
      const next = dv.getUint32(p, true);
      if (next === 0) break;
      p += next;
    }
    return n;
  }

  /** Hands the current block back to the kernel and moves to the next. */
  release(): void {
    this.dv.setUint32(this.cur * this.blockSize + 8, TP_STATUS_KERNEL, true);
    this.cur = (this.cur + 1) % this.blockNr;
  }

  /** Kernel counters since the last call (PACKET_STATISTICS resets them). */
  statistics(): { packets: number; drops: number } {
    const b = this.statsBuf;
    this.statsLen[0] = 12;
    if (libc().getsockopt(this.fd, SOL_PACKET, PACKET_STATISTICS, b, this.statsLen) < 0) return { packets: 0, drops: 0 };
    return { packets: this.statsView.getUint32(0, true), drops: this.statsView.getUint32(4, true) };
  }

  /** Unmaps the ring and closes the socket; returns what failed (for the log), empty when all went well. */
  close(): string[] {
    const c = libc();
    const failed: string[] = [];
    const why = (call: string) => {
      const e = c.errno();
      failed.push(`${call} of the receive ring failed: ${c.strerror(e)} (errno ${e})`);
    };
    if (c.munmap(this.map.addr, this.map.len) < 0) why('munmap');
    if (c.close(this.fd) < 0) why('close');
    return failed;
  }
}
