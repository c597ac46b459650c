// Batched transmit on one interface: frames are queued as iovecs (pointing into the receive
// ring, or into our own arena after a copy) and sent with one sendmmsg per batch. The msghdr
// and iovec arrays live in native memory laid out as on x86-64/arm64 Linux:
// struct mmsghdr { struct msghdr { void *name @0; u32 namelen @8; struct iovec *iov @16;
// size_t iovlen @24; void *control @32; size_t controllen @40; int flags @48 } @0; u32 len @56 }
// = 64 bytes; struct iovec { void *base @0; size_t len @8 } = 16 bytes.

import { AF_PACKET, PACKET_QDISC_BYPASS, PACKET_VNET_HDR, SOL_PACKET, TX_BATCH, TX_SLOT_SIZE } from './constants.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, SOCK_RAW } from '../../sys/constants.js';
import { check, libc, type Mapping } from '../../sys/libc.js';
import type { RxPort, TxPort } from './port.js';
import type { RxRing } from './rxring.js';
import { int32, SOCKADDR_LL_LEN, sockaddrLl } from './sockaddr.js';

const MMSG = 64;
const IOV = 16;
const TWO32 = 4294967296;

export interface TxOptions {
  ifname: string;
  /** Frames carry a virtio_net_hdr prefix (must match how they are built). */
  vnetHdr?: boolean;
  batch?: number;
}

export class TxQueue implements TxPort {
  /** Options that failed without stopping the engine, for the log and `tsvs status`. */
  readonly warnings: string[] = [];
  readonly fd: number;
  readonly ifindex: number;
  /** Copy arena: slot i starts at i * TX_SLOT_SIZE. */
  readonly arena: Uint8Array;
  private readonly ctl: DataView;
  private readonly ctlMap: Mapping;
  private readonly arenaMap: Mapping;
  private readonly batch: number;
  private n = 0;
  sent = 0;
  dropped = 0;

  private constructor(fd: number, ifindex: number, batch: number) {
    const c = libc();
    this.fd = fd;
    this.ifindex = ifindex;
    this.batch = batch;
    const ctl = c.mmap(batch * (MMSG + IOV), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    const arena = c.mmap(batch * TX_SLOT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    if (!ctl || !arena) check('mmap(tx arena)', -1);
    this.ctlMap = ctl!;
    this.arenaMap = arena!;
    this.ctl = new DataView(c.view(this.ctlMap));
    this.arena = new Uint8Array(c.view(this.arenaMap));
    // Each mmsghdr points at its own single iovec; only base and len change per frame.
    for (let i = 0; i < batch; i++) {
      const iovAddr = this.ctlMap.addr + batch * MMSG + i * IOV;
      this.setPtr(i * MMSG + 16, iovAddr);
      this.setPtr(i * MMSG + 24, 1);
    }
  }

  static open(o: TxOptions): TxQueue {
    const c = libc();
    const ifindex = c.ifNameToIndex(o.ifname);
    if (ifindex === 0) throw new Error(`interface ${o.ifname} not found`);
    const fd = check('socket(AF_PACKET)', c.socket(AF_PACKET, SOCK_RAW, 0), 'needs CAP_NET_RAW');
    try {
      if (o.vnetHdr) {
        check('setsockopt(PACKET_VNET_HDR)', c.setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, int32(1), 4));
      }
      // Best effort: bypassing the qdisc saves a lock per frame; older kernels lack it.
      const bypass = c.setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, int32(1), 4);
      const errno = bypass < 0 ? c.errno() : 0;
      check(`bind(${o.ifname})`, c.bind(fd, sockaddrLl(ifindex, 0), SOCKADDR_LL_LEN));
      const q = new TxQueue(fd, ifindex, o.batch ?? TX_BATCH);
      if (bypass < 0) {
        q.warnings.push(
          `setsockopt(PACKET_QDISC_BYPASS) on ${o.ifname} failed: ${c.strerror(errno)} (errno ${errno}); frames go through the qdisc (slower, still correct)`,
        );
      }
      return q;
    } catch (e) {
      c.close(fd);
      throw e;
    }
  }

  private setPtr(off: number, v: number): void {
    this.ctl.setUint32(off, v % TWO32, true);
    this.ctl.setUint32(off + 4, Math.floor(v / TWO32), true);
  }

  /** Queues a frame already in native memory at `addr` (e.g. the receive ring). */
  pushAddr(addr: number, len: number): void {
    const iov = this.batch * MMSG + this.n * IOV;
    this.setPtr(iov, addr);
    this.setPtr(iov + 8, len);
    if (++this.n === this.batch) this.flush();
  }

  /** Queues a frame in `rx`'s ring (a RxRing: the iovec points into its shared memory). */
  pushRx(rx: RxPort, off: number, len: number): void {
    this.pushAddr((rx as RxRing).addr + off, len);
  }

  /** Reserves the next arena slot for a frame built in place; returns its offset in `arena`. */
  slot(): number {
    return this.n * TX_SLOT_SIZE;
  }

  /** Queues the frame written at `slot()` with length `len`. */
  pushSlot(len: number): void {
    this.pushAddr(this.arenaMap.addr + this.n * TX_SLOT_SIZE, len);
  }

  /** Copies a frame into the arena and queues it. */
  pushCopy(src: Uint8Array, off: number, len: number): void {
    this.arena.set(src.subarray(off, off + len), this.slot());
    this.pushSlot(len);
  }

  /** Sends everything queued; frames the kernel refuses are counted as dropped. */
  flush(): number {
    const n = this.n;
    if (n === 0) return 0;
    this.n = 0;
    const c = libc();
    let done = 0;
    while (done < n) {
      const rc = c.sendmmsg(this.fd, this.ctlMap.addr + done * MMSG, n - done, 0);
      if (rc <= 0) {
        this.dropped += n - done;
        break;
      }
      done += rc;
    }
    this.sent += done;
    return done;
  }

  /** Drops what is queued: after an error the ring blocks it points into are handed back unsent. */
  discard(): number {
    const n = this.n;
    this.n = 0;
    return n;
  }

  /** Unmaps the arenas and closes the socket; returns what failed (for the log), empty when all went well. */
  close(): string[] {
    const c = libc();
    const failed: string[] = [];
    const why = (call: string) => {
      const e = c.errno();
      failed.push(`${call} of the transmit queue failed: ${c.strerror(e)} (errno ${e})`);
    };
    if (c.munmap(this.ctlMap.addr, this.ctlMap.len) < 0) why('munmap(ctl)');
    if (c.munmap(this.arenaMap.addr, this.arenaMap.len) < 0) why('munmap(arena)');
    if (c.close(this.fd) < 0) why('close');
    return failed;
  }
}
