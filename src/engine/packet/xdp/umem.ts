// One UMEM shared by the engine's AF_XDP sockets, so that a frame received on one interface can
// leave from another's TX ring without a copy (XDP_SHARED_UMEM; docs/packet-engine.md, "AF_XDP
// transmit"). The kernel pins a UMEM whole when it is registered, so it is sized once, for
// XDP_UMEM_SLICES sockets of XDP_FRAMES frames each, and each socket fills its receive side from
// its own slice. A frame lent to a TX ring (of any socket) comes back through that socket's
// completion ring and is given to whoever holds its slice then: `lentVia` says which socket has
// it, so that a frame is never in two rings and none is lost when a socket closes.

import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../../sys/constants.js';
import { check, libc, type Mapping } from '../../../sys/libc.js';
import { XDP_FRAME_SIZE, XDP_FRAMES, XDP_UMEM_SLICES } from '../constants.js';

/** What holds a slice: takes a frame back into its fill ring. */
export interface SliceHolder {
  giveBack(addr: number): void;
}

/** Not lent: the frame is in its slice holder's rings or walk. */
const HOME = 0;
/** TX socket ids fit `lentVia`'s bytes; a UMEM has at most XDP_UMEM_SLICES sockets at once. */
const MAX_VIA = 255;

export class Umem {
  /** The whole UMEM; frame addresses are offsets into it. */
  readonly buf: Uint8Array;
  /** Native address of buf[0]; 0 over plain memory. */
  readonly addr: number;
  readonly len: number;
  readonly slices: (SliceHolder | null)[] = new Array<SliceHolder | null>(XDP_UMEM_SLICES).fill(null);
  /** Per frame: HOME, or the id (1-based) of the TX socket whose ring or completion holds it. */
  readonly lentVia: Uint8Array;
  /** Bound sockets on this UMEM: a later one binds with XDP_SHARED_UMEM to any of them. */
  readonly bound: number[] = [];
  /** Sockets open on it; the mapping goes with the last (then the Umem is spent). */
  members = 0;
  spent = false;
  /** TX socket ids in use (index 1..MAX_VIA): a closed socket's id is free once its frames are home. */
  private readonly viaUsed = new Uint8Array(MAX_VIA + 1);
  private readonly map: Mapping | null;

  private constructor(buf: ArrayBuffer, addr: number, map: Mapping | null) {
    this.buf = new Uint8Array(buf);
    this.addr = addr;
    this.len = buf.byteLength;
    this.map = map;
    this.lentVia = new Uint8Array(this.len / XDP_FRAME_SIZE);
  }

  /** Maps XDP_UMEM_SLICES × XDP_FRAMES frames (registered by the first socket, pinned by the kernel). */
  static map(): Umem {
    const c = libc();
    const len = XDP_UMEM_SLICES * XDP_FRAMES * XDP_FRAME_SIZE;
    const m = c.mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    if (!m) check('mmap(AF_XDP UMEM)', -1);
    return new Umem(c.view(m!), m!.addr, m!);
  }

  /** A UMEM over plain memory, for the unit tests (no kernel). */
  static over(buf: ArrayBuffer): Umem {
    return new Umem(buf, 0, null);
  }

  /** A slice nobody holds; -1 when every slice is held. */
  free(): number {
    return this.slices.indexOf(null);
  }

  /**
   * A closed socket leaves: its slice is free (frames of it still lent go to the slice's next
   * holder), the frames lent to its TX ring go home, then its id `via` is free for a new socket.
   */
  leave(slice: number, fd: number, via: number): string[] {
    this.slices[slice] = null;
    this.recall(via);
    this.viaUsed[via] = 0;
    const b = this.bound.indexOf(fd);
    if (b >= 0) this.bound.splice(b, 1);
    if (--this.members > 0) return [];
    this.spent = true;
    return this.unmap();
  }

  /** A free id for a TX socket's `lentVia` marks, held until the socket leaves. */
  via(): number {
    for (let v = 1; v <= MAX_VIA; v++) {
      if (this.viaUsed[v] === 0) {
        this.viaUsed[v] = 1;
        return v;
      }
    }
    throw new Error(`no free TX socket id on the AF_XDP UMEM (${MAX_VIA} in use)`);
  }

  /** True when the frame at `addr` is home (not in any TX ring). */
  home(addr: number): boolean {
    return this.lentVia[(addr / XDP_FRAME_SIZE) | 0] === HOME;
  }

  lend(addr: number, via: number): void {
    this.lentVia[(addr / XDP_FRAME_SIZE) | 0] = via;
  }

  /** A lent frame is back (completed, or never sent): to its slice's holder, if any. */
  back(addr: number): void {
    const f = (addr / XDP_FRAME_SIZE) | 0;
    this.lentVia[f] = HOME;
    const h = this.slices[(f / XDP_FRAMES) | 0];
    if (h) h.giveBack(f * XDP_FRAME_SIZE);
  }

  /** Every frame still marked lent through `via` (its socket closed): back home. */
  recall(via: number): number {
    let n = 0;
    for (let f = 0; f < this.lentVia.length; f++) {
      if (this.lentVia[f] === via) {
        this.back(f * XDP_FRAME_SIZE);
        n++;
      }
    }
    return n;
  }

  /** At the engine's stop: unmaps a UMEM no socket ever joined (the last socket's close unmaps the others). */
  dispose(): string[] {
    if (this.members > 0 || this.spent) return [];
    this.spent = true;
    return this.unmap();
  }

  private unmap(): string[] {
    if (!this.map) return [];
    const c = libc();
    return c.munmap(this.map.addr, this.map.len) < 0 ? [`munmap of the AF_XDP UMEM failed: ${c.strerror(c.errno())}`] : [];
  }
}
