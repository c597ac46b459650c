// The connection table of one address family, as struct-of-arrays storage (ip_vs_conn).
// Spec: ipvs-kernel.md §2.1. Nothing here allocates per connection or per lookup: a conn is an
// index into typed arrays, addresses are 32-bit words (1 per IPv4 address, 4 per IPv6 address,
// host order), and one open-addressing index serves every lookup.
//
// The index. The kernel hashes a conn once, by <protocol, client address, client port>, and
// both directions look it up by that key: a client→VIP packet carries it as its source, a
// RS→client reply as its destination. Persistence templates are keyed the same way (their
// client port is 0). FULLNAT conns are entered a second time under <protocol, local address,
// local port>, the destination of replies from the real server; that second entry is tagged
// with the top bit. Linear probing, power-of-two capacity at most half full, backward-shift
// deletion (no tombstones).
//
// Time is in ticks of TICK_MS, counted by the caller's clock; expiry is a timer wheel with one
// doubly linked chain per slot (see timer.ts).

import { IPPROTO_IP } from '../constants.js';

/** Marks a FULLNAT second index entry (keyed by local address and port). */
const LTAG = 0x80000000;
const EMPTY = -1;
const NIL = -1;
/** Internal flag: slot in use (bit 30; the kernel's flags stay below it). */
export const CONN_F_USED = 1 << 30;

export interface ConnKey {
  proto: number;
  /** Client address words (w words). */
  c: ArrayLike<number>;
  cport: number;
  v: ArrayLike<number>;
  vport: number;
}

export class ConnTable {
  /** 32-bit words per address: 1 (IPv4) or 4 (IPv6). */
  readonly w: number;
  cap = 0;
  count = 0;
  /** Entries in the index (a FULLNAT conn takes two). */
  private indexed = 0;

  caddr!: Uint32Array;
  vaddr!: Uint32Array;
  daddr!: Uint32Array;
  laddr!: Uint32Array;
  cport!: Uint16Array;
  vport!: Uint16Array;
  dport!: Uint16Array;
  lport!: Uint16Array;
  proto!: Uint8Array;
  state!: Uint8Array;
  flags!: Uint32Array;
  /** Idle timeout in ticks, re-armed by every packet. */
  timeout!: Uint32Array;
  /** Expiry tick. */
  expires!: Uint32Array;
  /** Tick of the wheel slot the conn is filed in (see timer.ts). */
  filed!: Uint32Array;
  /** Dest registry id, or -1. */
  dest!: Int32Array;
  /** Controlling conn (persistence template), or -1. */
  control!: Int32Array;
  nControl!: Uint32Array;
  inPkts!: Uint32Array;
  /** Timer chain links; `next` also threads the free list. */
  next!: Int32Array;
  prev!: Int32Array;

  private index!: Int32Array;
  private mask = 0;
  private freeHead = NIL;
  /** Slots never used yet: [hwm, cap). */
  private hwm = 0;

  constructor(wordsPerAddr: 1 | 4, capacity = 1024) {
    this.w = wordsPerAddr;
    this.resize(Math.max(16, capacity));
    this.rebuildIndex(indexSizeFor(this.cap));
  }

  // --- storage -------------------------------------------------------------------------------

  private resize(cap: number): void {
    const w = this.w;
    const grow32 = (a: Uint32Array | undefined, n: number) => {
      const b = new Uint32Array(n);
      if (a) b.set(a);
      return b;
    };
    const grow16 = (a: Uint16Array | undefined, n: number) => {
      const b = new Uint16Array(n);
      if (a) b.set(a);
      return b;
    };
    const grow8 = (a: Uint8Array | undefined, n: number) => {
      const b = new Uint8Array(n);
      if (a) b.set(a);
      return b;
    };
    const growI = (a: Int32Array | undefined, n: number) => {
      const b = new Int32Array(n);
      if (a) b.set(a);
      return b;
    };
    this.caddr = grow32(this.caddr, cap * w);
    this.vaddr = grow32(this.vaddr, cap * w);
    this.daddr = grow32(this.daddr, cap * w);
    this.laddr = grow32(this.laddr, cap * w);
    this.cport = grow16(this.cport, cap);
    this.vport = grow16(this.vport, cap);
    this.dport = grow16(this.dport, cap);
    this.lport = grow16(this.lport, cap);
    this.proto = grow8(this.proto, cap);
    this.state = grow8(this.state, cap);
    this.flags = grow32(this.flags, cap);
    this.timeout = grow32(this.timeout, cap);
    this.expires = grow32(this.expires, cap);
    this.filed = grow32(this.filed, cap);
    this.dest = growI(this.dest, cap);
    this.control = growI(this.control, cap);
    this.nControl = grow32(this.nControl, cap);
    this.inPkts = grow32(this.inPkts, cap);
    this.next = growI(this.next, cap);
    this.prev = growI(this.prev, cap);
    this.cap = cap;
  }

  /** Takes a free slot (growing the storage when full) and marks it used. */
  alloc(): number {
    let i: number;
    if (this.freeHead !== NIL) {
      i = this.freeHead;
      this.freeHead = this.next[i]!;
    } else {
      if (this.hwm === this.cap) this.resize(this.cap * 2);
      i = this.hwm++;
    }
    this.flags[i] = CONN_F_USED;
    this.dest[i] = -1;
    this.control[i] = -1;
    this.nControl[i] = 0;
    this.inPkts[i] = 0;
    this.state[i] = 0;
    this.next[i] = NIL;
    this.prev[i] = NIL;
    this.count++;
    return i;
  }

  /** Returns a slot to the free list; it must be unindexed and off the timer wheel. */
  free(i: number): void {
    this.flags[i] = 0;
    this.next[i] = this.freeHead;
    this.freeHead = i;
    this.count--;
  }

  used(i: number): boolean {
    return i >= 0 && i < this.hwm && (this.flags[i]! & CONN_F_USED) !== 0;
  }

  /** Highest slot ever used + 1: iterate [0, end()) and skip unused slots. */
  end(): number {
    return this.hwm;
  }

  /** Copies `w` words from `src` (at `off`) into address array `dst` for conn `i`. */
  setAddr(dst: Uint32Array, i: number, src: ArrayLike<number>, off = 0): void {
    const w = this.w;
    for (let k = 0; k < w; k++) dst[i * w + k] = src[off + k]! >>> 0;
  }

  // --- hashing ---------------------------------------------------------------------------------

  private hashOf(proto: number, a: ArrayLike<number>, aOff: number, port: number): number {
    let h = Math.imul(proto ^ (port << 8), 0x9e3779b1);
    for (let k = 0; k < this.w; k++) {
      h = Math.imul(h ^ a[aOff + k]!, 0x85ebca6b);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
    return (h ^ (h >>> 15)) >>> 0;
  }

  private hashEntry(e: number): number {
    const i = e & ~LTAG;
    return e & LTAG
      ? this.hashOf(this.proto[i]!, this.laddr, i * this.w, this.lport[i]!)
      : this.hashOf(this.proto[i]!, this.caddr, i * this.w, this.cport[i]!);
  }

  private rebuildIndex(size: number): void {
    this.index = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
    this.indexed = 0;
    for (let i = 0; i < this.hwm; i++) {
      const f = this.flags[i]!;
      if ((f & CONN_F_USED) === 0 || (f & CONN_HASHED) === 0) continue;
      this.place(i);
      if (f & CONN_LHASHED) this.place(i | LTAG);
    }
  }

  private place(e: number): void {
    let p = this.hashEntry(e) & this.mask;
    while (this.index[p] !== EMPTY) p = (p + 1) & this.mask;
    this.index[p] = e;
    this.indexed++;
  }

  /** Enters conn i in the index (and under its local address when `local`). */
  hash(i: number, local: boolean): void {
    if ((this.indexed + 2) * 2 > this.index.length) this.rebuildIndex(this.index.length * 2);
    this.place(i);
    this.flags[i]! |= CONN_HASHED;
    if (local) {
      this.place(i | LTAG);
      this.flags[i]! |= CONN_LHASHED;
    }
  }

  /** Removes conn i from the index (both entries). */
  unhash(i: number): void {
    const f = this.flags[i]!;
    if (f & CONN_HASHED) this.remove(i);
    if (f & CONN_LHASHED) this.remove(i | LTAG);
    this.flags[i] = f & ~(CONN_HASHED | CONN_LHASHED);
  }

  private remove(e: number): void {
    const idx = this.index;
    const mask = this.mask;
    let p = this.hashEntry(e) & mask;
    while (idx[p] !== e) {
      if (idx[p] === EMPTY) throw new Error(`conn table: entry ${e} missing from the index`);
      p = (p + 1) & mask;
    }
    // Backward-shift deletion: pull later entries of the run into the hole when their home
    // slot does not lie cyclically in (hole, j].
    let hole = p;
    let j = p;
    for (;;) {
      j = (j + 1) & mask;
      const x = idx[j]!;
      if (x === EMPTY) break;
      const home = this.hashEntry(x) & mask;
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        idx[hole] = x;
        hole = j;
      }
    }
    idx[hole] = EMPTY;
    this.indexed--;
  }

  // --- lookups ---------------------------------------------------------------------------------

  private eq(arr: Uint32Array, i: number, a: ArrayLike<number>, aOff: number): boolean {
    const w = this.w;
    const b = i * w;
    for (let k = 0; k < w; k++) if (arr[b + k] !== a[aOff + k]) return false;
    return true;
  }

  /**
   * In-direction lookup (ip_vs_conn_in_get): <proto, caddr, cport, vaddr, vport>, templates
   * excluded unless `template` (ip_vs_ct_in_get). Returns the conn or -1.
   */
  lookupIn(
    proto: number,
    c: ArrayLike<number>,
    cOff: number,
    cport: number,
    v: ArrayLike<number>,
    vOff: number,
    vport: number,
    template: boolean,
  ): number {
    const idx = this.index;
    const mask = this.mask;
    let p = this.hashOf(proto, c, cOff, cport) & mask;
    for (;;) {
      const e = idx[p]!;
      if (e === EMPTY) return -1;
      if ((e & LTAG) === 0) {
        const i = e;
        if (
          this.cport[i] === cport &&
          this.vport[i] === vport &&
          this.proto[i] === proto &&
          ((this.flags[i]! & TEMPLATE_BIT) !== 0) === template &&
          this.eq(this.caddr, i, c, cOff) &&
          this.eq(this.vaddr, i, v, vOff)
        ) {
          return i;
        }
      }
      p = (p + 1) & mask;
    }
  }

  /**
   * Out-direction lookup (ip_vs_conn_out_get) for a packet s:sport → d:dport from a real
   * server: d:dport is the client (or, FULLNAT, the local address), s:sport the real server
   * for NAT/FULLNAT conns or the VIP for the other methods. Returns the conn or -1.
   */
  lookupOut(
    proto: number,
    s: ArrayLike<number>,
    sOff: number,
    sport: number,
    d: ArrayLike<number>,
    dOff: number,
    dport: number,
  ): number {
    const idx = this.index;
    const mask = this.mask;
    let p = this.hashOf(proto, d, dOff, dport) & mask;
    for (;;) {
      const e = idx[p]!;
      if (e === EMPTY) return -1;
      const i = e & ~LTAG;
      if (this.proto[i] === proto && (this.flags[i]! & TEMPLATE_BIT) === 0) {
        if (e & LTAG) {
          if (
            this.lport[i] === dport &&
            this.dport[i] === sport &&
            this.eq(this.laddr, i, d, dOff) &&
            this.eq(this.daddr, i, s, sOff)
          ) {
            return i;
          }
        } else if (this.cport[i] === dport && this.eq(this.caddr, i, d, dOff)) {
          const fwd = this.flags[i]! & 7;
          if (fwd === 0) {
            if (this.dport[i] === sport && this.eq(this.daddr, i, s, sOff)) return i;
          } else if (fwd !== 5 && this.vport[i] === sport && this.eq(this.vaddr, i, s, sOff)) {
            return i;
          }
        }
      }
      p = (p + 1) & mask;
    }
  }

  /** Index occupancy, for tests and diagnostics. */
  indexSize(): number {
    return this.index.length;
  }

  indexEntries(): number {
    return this.indexed;
  }

  /** Whether the template key <IPPROTO_IP, …> form is in use: fwmark templates. */
  static readonly FWMARK_PROTO = IPPROTO_IP;
}

/** The kernel's IP_VS_CONN_F_HASHED: the conn is in the index. */
export const CONN_HASHED = 0x0040;
/** Internal: the conn also has its FULLNAT local-address entry (bit 29). */
export const CONN_LHASHED = 1 << 29;
const TEMPLATE_BIT = 0x1000;

function indexSizeFor(cap: number): number {
  let n = 16;
  while (n < cap * 2) n *= 2;
  return n;
}
