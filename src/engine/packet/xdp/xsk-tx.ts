// Transmit on an interface that receives through AF_XDP: frames received on an AF_XDP socket of
// the same UMEM leave from this socket's TX ring without a copy or a system call per frame
// (copy mode: the kernel builds one skb per descriptor and hands it to the driver, as a packet
// socket's send does, minus a sendmsg per frame: docs/packet-engine.md, "AF_XDP transmit").
// Everything else — frames built in the arena (ICMP, ARP, tunnels), frames from the packet ring,
// a GSO frame, frames from another UMEM — goes through the interface's packet socket, which the
// port keeps. The TX ring carries no virtio_net_hdr, so a partial checksum is completed here.

import { checksum } from '../../../wire/csum.js';
import { VNET_HDR_LEN, XDP_COMPLETION_RING_SIZE, XDP_FRAME_SIZE, XDP_TX_KICKS, XDP_TX_RING_SIZE } from '../constants.js';
import { libc } from '../../../sys/libc.js';
import type { RxPort, TxPort } from '../port.js';
import type { Ring, XdpRx } from './xsk.js';

const VNET_F_NEEDS_CSUM = 1;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const EBUSY = 16;
const ENOBUFS = 105;
const DESC = 16;
const ETH_HLEN = 14;
const EMPTY = new Uint8Array(0);

/** A receive port that can say whether its current frame lies in an AF_XDP socket's UMEM. */
export interface Lender {
  /** The AF_XDP socket the frame being walked came from, or null (the packet ring). */
  lender(): XdpRx | null;
}

export class XskTx implements TxPort {
  readonly arena: Uint8Array;
  /** Frames sent from the TX ring; the packet socket counts its own (`fallback.sent`). */
  sent = 0;
  /** Kicks the kernel answered with an error other than "busy": the frames wait in the ring. */
  kickErrors = 0;
  lastKickError = 0;
  private readonly ring: Ring;
  private readonly comp: Ring;
  private prod: number;
  private published: number;
  private cons: number;
  private compCons: number;

  constructor(
    readonly xsk: XdpRx,
    readonly fallback: TxPort,
  ) {
    if (!xsk.txRing || !xsk.compRing) throw new Error('XskTx needs an AF_XDP socket with TX and completion rings');
    this.arena = fallback.arena;
    this.ring = xsk.txRing;
    this.comp = xsk.compRing;
    this.prod = this.published = this.ring.prod[0]!;
    this.cons = this.ring.cons[0]!;
    this.compCons = this.comp.cons[0]!;
  }

  get warnings(): readonly string[] {
    return this.fallback.warnings ?? [];
  }

  get dropped(): number {
    return this.fallback.dropped;
  }

  slot(): number {
    return this.fallback.slot();
  }

  pushSlot(len: number): void {
    this.fallback.pushSlot(len);
  }

  pushCopy(src: Uint8Array, off: number, len: number): void {
    this.fallback.pushCopy(src, off, len);
  }

  /** `off` is the frame's virtio_net_hdr (every frame here carries one), `len` counts it. */
  pushRx(rx: RxPort, off: number, len: number): void {
    const src = (rx as Partial<Lender>).lender?.() ?? null;
    const b = this.xsk.buf;
    const start = off + VNET_HDR_LEN;
    const flen = len - VNET_HDR_LEN;
    // The kernel skips a descriptor that leaves its chunk and never completes it: such a frame
    // would be lent for good, so only a frame inside the chunk it was received in is sent here.
    const chunk = src === null ? -1 : src.currentChunk();
    if (
      src === null ||
      src.umem !== this.xsk.umem ||
      b[off + 1] !== 0 ||
      start < chunk ||
      start + flen > chunk + XDP_FRAME_SIZE ||
      flen < ETH_HLEN ||
      !this.room()
    ) {
      this.fallback.pushRx(rx, off, len);
      return;
    }
    if ((b[off]! & VNET_F_NEEDS_CSUM) !== 0)
      completeCsum(b, start, start + flen, b[off + 6]! | (b[off + 7]! << 8), b[off + 8]! | (b[off + 9]! << 8));
    this.xsk.umem.lend(src.lendCurrent(), this.xsk.via);
    const at = (this.prod & (XDP_TX_RING_SIZE - 1)) * DESC;
    const d = this.ring.desc;
    d.setUint32(at, start, true);
    d.setUint32(at + 4, 0, true);
    d.setUint32(at + 8, flen, true);
    d.setUint32(at + 12, 0, true);
    this.prod = (this.prod + 1) >>> 0;
  }

  /** True when the TX ring has a free descriptor (the kernel's consumer is read only when it looks full). */
  private room(): boolean {
    if ((this.prod - this.cons) >>> 0 < XDP_TX_RING_SIZE) return true;
    this.cons = this.ring.cons[0]!;
    return (this.prod - this.cons) >>> 0 < XDP_TX_RING_SIZE;
  }

  flush(): number {
    let n = this.fallback.flush();
    const fresh = (this.prod - this.published) >>> 0;
    if (fresh > 0) {
      this.ring.prod[0] = this.prod;
      this.published = this.prod;
      this.sent += fresh;
      n += fresh;
    }
    if (this.ring.cons[0] !== this.prod) this.kick();
    this.reap();
    return n;
  }

  /**
   * Has the kernel send what the ring holds. Copy mode sends a bounded batch per call, and answers
   * EAGAIN/EBUSY/ENOBUFS while its send buffer is full of frames not yet completed: reap, retry,
   * at most XDP_TX_KICKS times; what remains goes at the next flush.
   */
  private kick(): void {
    const c = libc();
    for (let k = 0; k < XDP_TX_KICKS && this.ring.cons[0] !== this.prod; k++) {
      if (c.sendto(this.xsk.fd, EMPTY, 0, MSG_DONTWAIT, EMPTY, 0) >= 0) continue;
      const e = c.errno();
      if (e === EAGAIN || e === EBUSY || e === ENOBUFS) {
        this.reap();
        continue;
      }
      this.kickErrors++;
      this.lastKickError = e;
      return;
    }
  }

  /** Frames the kernel is done with go back to the slice they came from (Umem.back). */
  private reap(): void {
    const p = this.comp.prod[0]!;
    let c = this.compCons;
    if (c === p) return;
    const d = this.comp.desc;
    const u = this.xsk.umem;
    for (; c !== p; c = (c + 1) >>> 0) u.back(d.getUint32((c & (XDP_COMPLETION_RING_SIZE - 1)) * 8, true));
    this.compCons = c;
    this.comp.cons[0] = c;
  }

  /** Forgets the unpublished descriptors (their frames go home) and the packet socket's queue. */
  discard(): number {
    let n = this.fallback.discard();
    const d = this.ring.desc;
    for (let i = this.published; i !== this.prod; i = (i + 1) >>> 0) {
      this.xsk.umem.back(d.getUint32((i & (XDP_TX_RING_SIZE - 1)) * DESC, true));
      n++;
    }
    this.prod = this.published;
    return n;
  }

  /** The packet socket; the AF_XDP socket is the receive port's to close. */
  close(): string[] {
    return this.fallback.close() ?? [];
  }
}

/** Completes a CHECKSUM_PARTIAL field as the kernel's skb_checksum_help would (0 sent as 0xffff). */
function completeCsum(b: Uint8Array, frame: number, end: number, csumStart: number, csumOffset: number): void {
  const s = frame + csumStart;
  const at = s + csumOffset;
  if (at + 2 > end) return;
  let c = checksum(b, s, end - s);
  if (c === 0) c = 0xffff;
  b[at] = c >>> 8;
  b[at + 1] = c & 0xff;
}
