// The connection table of one address family, as struct-of-arrays storage (ip_vs_conn).
// Spec: docs/spec/ipvs-kernel.md §2.1. Nothing here allocates per connection or per lookup: a conn is an
// index into typed arrays, addresses are 32-bit words (1 per IPv4 address, 4 per IPv6 address,
// host order), and one open-addressing index serves every lookup.
//
// The index. The kernel hashes a conn once, by <protocol, client address, client port>, and
// both directions look it up by that key: a client→VIP packet carries it as its source, a
// RS→client reply as its destination. Persistence templates are keyed the same way (their
// client port is 0). FULLNAT conns are entered a second time under <protocol, local address,
// local port>, the destination of replies from the real server; that second entry is tagged
// with the top bit. Linear probing, power-of-two capacity at most half full, backward-shift
// deletion (no tombstones). A slot is two words: the entry and its key's full 32-bit hash (the
// tag). A probe compares tags and reads a conn's record only when its tag matches, so a
// collision costs no record, and deletion finds an entry's home slot from its tag: at 10 M conns
// each record read is a DRAM miss.
//
// Growth never stops the data path for long. Doubling the index at 8 M conns and rehashing
// them in one go took 1.1 s, and copying the storage to twice its size 1.3 s more, while no
// frame was forwarded. So the index grows in steps: a second index of twice the size is
// filled as conns are moved to it, MIGRATE_PER_INSERT with each insert, while lookups keep
// using the first, which stays complete; when every conn has moved, the second replaces it.
// And storage can be reserved up front (`reserve`): the arrays are allocated at that size,
// and as a typed array's pages are only backed when first written, a reserved slot costs
// address space, not memory, until a conn takes it.
//
// Layout. Each conn has one record in `hot` (R = HOT_WORDS + K words): first what the
// established path reads and writes per packet (flags, dest, state and dport, the IPv4 real
// server, timeout, expiry, the wheel slot, packet count), then the lookup key (K = 2w + 2
// words: caddr, vaddr, cport | vport << 16, proto | template << 8). At 10 M conns every array a
// packet touches is a DRAM miss, so a hit costs the index slot and one 48-byte record instead
// of a dozen arrays (docs/packet-engine.md, "Large tables"); the rest is struct-of-arrays.
//
// Time is in ticks of TICK_MS, counted by the caller's clock; expiry is a timer wheel with one
// doubly linked chain per slot (see timer.ts).

import { IP_VS_CONN_F_FULLNAT, IP_VS_CONN_F_FWD_MASK, IP_VS_CONN_F_TEMPLATE, IPPROTO_IP } from '../constants.js';

/** Marks a FULLNAT second index entry (keyed by local address and port). */
const LTAG = 0x80000000;
const EMPTY = -1;
const NIL = -1;
/** Internal flag: slot in use (bit 30; the kernel's flags stay below it). */
export const CONN_F_USED = 1 << 30;

/** Words of a record before its key: the per-packet fields below. */
export const HOT_WORDS = 8;
const H_FLAGS = 0;
const H_DEST = 1;
/** state | dport << 16. */
const H_SD = 2;
/** IPv4: the real server's address (IPv6 keeps its four words in `daddr`). */
const H_DADDR = 3;
const H_TIMEOUT = 4;
const H_EXPIRES = 5;
const H_FILED = 6;
const H_INPKTS = 7;
/** `filed` of a conn not on the timer wheel (a tick the wheel never reaches in practice). */
export const UNFILED = 0xffffffff;
/**
 * Conn slots moved to the growing index per insert. Growth starts at half load; with n slots
 * in use it ends after about n / (MIGRATE_PER_INSERT - 1) inserts, so the old index is at most
 * 0.5 × (1 + 1/7) ≈ 57 % full by then, where linear probing is still short; each insert of
 * the period costs up to 8 random writes more (measured below 1 µs), never a stall.
 */
export const MIGRATE_PER_INSERT = 8;
/**
 * Words of the growing index set to EMPTY per insert before any conn moves (256 KiB, tens of
 * µs): filling 2^25 slots at once stopped the data path for about 60 ms at 8 M conns.
 */
const INDEX_FILL_CHUNK = 1 << 16;
/** If the old index still fills to this while growing (slots freed and reused), growth finishes at once. */
const MIGRATE_FORCE_LOAD = 0.75;

export class ConnTable {
  /** 32-bit words per address: 1 (IPv4) or 4 (IPv6). */
  readonly w: number;
  cap = 0;
  count = 0;
  /** Entries in the index (a FULLNAT conn takes two). */
  private indexed = 0;

  /** Words per key: caddr, vaddr, ports, proto/template. */
  readonly K: number;
  /** Words per record of `hot`: HOT_WORDS, then the key. */
  readonly R: number;
  /** One record per conn (see Layout above); use the accessors below. */
  hot!: Uint32Array;
  /** IPv6 only: the real server's address, 4 words per conn (IPv4 keeps it in `hot`). */
  daddr!: Uint32Array;
  /**
   * FULLNAT: the local address and port toward the real server. Written only for FULLNAT conns
   * (not templates); the others' are their client's, read from the key (see hasLocal).
   */
  laddr!: Uint32Array;
  lport!: Uint16Array;
  /**
   * Controlling conn (persistence template), valid while the hot flags have CONN_CONTROLLED;
   * conns controlled by a template (only templates control) are counted in its nControl. A
   * conn without a controller reads and writes neither (controlOf, nControlOf): at 10 M conns
   * each array a new conn writes is 40 MB of fresh pages to fault in, and each array a packet
   * or an expiry reads is one more DRAM miss.
   */
  private control!: Int32Array;
  private nControl!: Uint32Array;
  /**
   * Sync: the state at the last send (cp->old_state). Empty until syncState(): a director that
   * never syncs does not carry these 9 bytes a conn.
   */
  oldState: Uint8Array = new Uint8Array(0);
  /** Sync: expected end (ms) at the last send, low 2 bits a retry count (cp->sync_endtime). */
  syncEnd: Float64Array = new Float64Array(0);
  /** Timer chain links; `next` also threads the free list. */
  next!: Int32Array;
  prev!: Int32Array;

  /** Two words per slot: the entry (EMPTY, a conn, or a conn | LTAG), then its hash. */
  private index!: Int32Array;
  /** Slots - 1 (slot p is words 2p and 2p + 1). */
  private mask = 0;
  /** While the index grows: the next index, and conns [0, moved) are already in it. */
  private nextIndex: Int32Array | null = null;
  private nextMask = 0;
  private nextIndexed = 0;
  /** Words of nextIndex set to EMPTY so far: conns move only once it is all filled. */
  private filled = 0;
  private moved = 0;
  /** Slots moved per insert while growing (tests lower it to keep growth under way longer). */
  migratePerInsert = MIGRATE_PER_INSERT;
  private freeHead = NIL;
  /**
   * Advice for each large array before its pages are first written (the engine's huge pages,
   * sys/hugepages.ts): null, none. An injected call, so that the core makes no system call.
   */
  private advise: ((a: ArrayBufferView) => void) | null = null;
  /** Slots never used yet: [hwm, cap). */
  private hwm = 0;

  /**
   * `capacity` conns fit before the storage first grows (by copying it); `reserve`, if larger,
   * allocates the storage at that size at once (see the growth note above): an engine that
   * may hold millions of conns passes it so that the storage never has to be copied.
   */
  constructor(wordsPerAddr: 1 | 4, capacity = 1024, reserve = 0) {
    this.w = wordsPerAddr;
    this.K = 2 * wordsPerAddr + 2;
    this.R = HOT_WORDS + this.K;
    const cap = Math.max(16, capacity);
    if (reserve > cap) {
      try {
        this.resize(reserve);
      } catch (e) {
        // Address space refused (strict overcommit, ulimit -v): grow by copying instead.
        if (!(e instanceof RangeError)) throw e;
        this.resize(cap);
      }
    } else {
      this.resize(cap);
    }
    const size = indexSizeFor(cap);
    this.index = new Int32Array(2 * size).fill(EMPTY);
    this.mask = size - 1;
  }

  /**
   * Memory the table uses, in bytes (for /metrics): its indexes, and its storage up to the
   * highest slot used (reserved slots beyond it are address space only).
   */
  bytes(): number {
    let n = this.index.byteLength + (this.nextIndex?.byteLength ?? 0);
    const used = Math.max(this.hwm, 1);
    for (const a of [this.hot, this.daddr, this.laddr, this.lport, this.control, this.nControl, this.oldState, this.syncEnd]) {
      n += (a.byteLength / this.cap) * used;
    }
    return n + ((this.next.byteLength + this.prev.byteLength) / this.cap) * used;
  }

  // --- storage -------------------------------------------------------------------------------

  private resize(cap: number): void {
    const w = this.w;
    // Advised before the copy writes a page: huge pages are given at first touch.
    const grow32 = (a: Uint32Array | undefined, n: number) => {
      const b = this.advised(new Uint32Array(n));
      if (a) b.set(a);
      return b;
    };
    const grow16 = (a: Uint16Array | undefined, n: number) => {
      const b = this.advised(new Uint16Array(n));
      if (a) b.set(a);
      return b;
    };
    const grow8 = (a: Uint8Array | undefined, n: number) => {
      const b = new Uint8Array(n);
      if (a) b.set(a);
      return b;
    };
    const growI = (a: Int32Array | undefined, n: number) => {
      const b = this.advised(new Int32Array(n));
      if (a) b.set(a);
      return b;
    };
    this.hot = grow32(this.hot, cap * this.R);
    this.daddr = grow32(this.daddr, w === 1 ? 0 : cap * w);
    this.laddr = grow32(this.laddr, cap * w);
    this.lport = grow16(this.lport, cap);
    this.control = growI(this.control, cap);
    this.nControl = grow32(this.nControl, cap);
    if (this.syncEnd.length > 0) {
      this.oldState = grow8(this.oldState, cap);
      const se = new Float64Array(cap);
      se.set(this.syncEnd);
      this.syncEnd = se;
    }
    this.next = growI(this.next, cap);
    this.prev = growI(this.prev, cap);
    this.cap = cap;
  }

  private advised<T extends ArrayBufferView>(a: T): T {
    this.advise?.(a);
    return a;
  }

  /**
   * Gives every large array of the table, now and later, to `advise` (see `advise`). Arrays
   * already written keep what they have until the kernel's khugepaged gets to them.
   */
  setAdvise(advise: (a: ArrayBufferView) => void): void {
    this.advise = advise;
    const now = [this.hot, this.daddr, this.laddr, this.lport, this.control, this.nControl, this.next, this.prev, this.index];
    for (const a of now) advise(a);
    if (this.nextIndex) advise(this.nextIndex);
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
    const h = this.hot;
    const b = i * this.R;
    h[b + H_FLAGS] = CONN_F_USED;
    h[b + H_DEST] = -1;
    h[b + H_SD] = 0;
    h[b + H_DADDR] = 0;
    h[b + H_TIMEOUT] = 0;
    h[b + H_EXPIRES] = 0;
    h[b + H_FILED] = UNFILED;
    h[b + H_INPKTS] = 0;
    if (this.syncEnd.length > 0) {
      this.oldState[i] = 0;
      this.syncEnd[i] = 0;
    }
    this.next[i] = NIL;
    this.prev[i] = NIL;
    this.count++;
    return i;
  }

  /**
   * Allocates the sync state (oldState, syncEnd) on first use, every conn's at 0 as alloc()
   * leaves it; from then on it is kept for every conn.
   */
  syncState(): void {
    if (this.syncEnd.length > 0) return;
    this.oldState = new Uint8Array(this.cap);
    this.syncEnd = new Float64Array(this.cap);
  }

  /** The conn's controlling conn (persistence template), or -1. */
  controlOf(i: number): number {
    return this.hot[i * this.R + H_FLAGS]! & CONN_CONTROLLED ? this.control[i]! : -1;
  }

  /** Makes template `tpl` (-1: none) the conn's controlling conn, and counts it there. */
  setControl(i: number, tpl: number): void {
    const b = i * this.R + H_FLAGS;
    const old = this.controlOf(i);
    if (old >= 0) this.nControl[old]! -= 1;
    if (tpl < 0) {
      this.hot[b] = this.hot[b]! & ~CONN_CONTROLLED;
      return;
    }
    this.hot[b] = this.hot[b]! | CONN_CONTROLLED;
    this.control[i] = tpl;
    this.nControl[tpl]! += 1;
  }

  /** How many conns template `i` controls (0 for any other conn). */
  nControlOf(i: number): number {
    return this.hot[i * this.R + H_FLAGS]! & IP_VS_CONN_F_TEMPLATE ? this.nControl[i]! : 0;
  }

  /** Returns a slot to the free list; it must be unindexed and off the timer wheel. */
  free(i: number): void {
    const b = i * this.R + H_FLAGS;
    // A template leaves its count at 0 for the next one; other conns never wrote theirs.
    if (this.hot[b]! & IP_VS_CONN_F_TEMPLATE && this.nControl[i] !== 0) this.nControl[i] = 0;
    this.hot[b] = 0;
    this.next[i] = this.freeHead;
    this.freeHead = i;
    this.count--;
  }

  used(i: number): boolean {
    return i >= 0 && i < this.hwm && (this.hot[i * this.R + H_FLAGS]! & CONN_F_USED) !== 0;
  }

  /** Highest slot ever used + 1: iterate [0, end()) and skip unused slots. */
  end(): number {
    return this.hwm;
  }

  /** Writes the lookup key of conn i (before it is hashed). */
  setKey(i: number, proto: number, c: ArrayLike<number>, cport: number, v: ArrayLike<number>, vport: number, template: boolean): void {
    const w = this.w;
    const b = this.caddrOff(i);
    const key = this.hot;
    for (let k = 0; k < w; k++) {
      key[b + k] = c[k]! >>> 0;
      key[b + w + k] = v[k]! >>> 0;
    }
    key[b + 2 * w] = (cport | (vport << 16)) >>> 0;
    key[b + 2 * w + 1] = proto | (template ? 0x100 : 0);
  }

  cportOf(i: number): number {
    return this.hot[this.caddrOff(i) + 2 * this.w]! & 0xffff;
  }

  vportOf(i: number): number {
    return this.hot[this.caddrOff(i) + 2 * this.w]! >>> 16;
  }

  /** Offset of conn i's key, its client address first, in `hot` (vaddr follows at + w). */
  caddrOff(i: number): number {
    return i * this.R + HOT_WORDS;
  }

  /** Rewrites the ports of a conn that is not hashed (template invalidation). */
  setPorts(i: number, cport: number, vport: number): void {
    this.hot[this.caddrOff(i) + 2 * this.w] = (cport | (vport << 16)) >>> 0;
  }

  // --- the hot record's fields -----------------------------------------------------------------

  protoOf(i: number): number {
    return this.hot[this.caddrOff(i) + 2 * this.w + 1]! & 0xff;
  }

  flagsOf(i: number): number {
    return this.hot[i * this.R + H_FLAGS]!;
  }

  /**
   * Whether laddr and lport hold the conn's own local pair (a FULLNAT conn, not a template);
   * every other conn's local end is its client's.
   */
  hasLocal(i: number): boolean {
    const f = this.hot[i * this.R + H_FLAGS]!;
    return (f & IP_VS_CONN_F_FWD_MASK) === IP_VS_CONN_F_FULLNAT && (f & IP_VS_CONN_F_TEMPLATE) === 0;
  }

  setFlags(i: number, f: number): void {
    this.hot[i * this.R + H_FLAGS] = f;
  }

  /** Dest registry id, or -1. */
  destOf(i: number): number {
    return this.hot[i * this.R + H_DEST]! | 0;
  }

  setDest(i: number, id: number): void {
    this.hot[i * this.R + H_DEST] = id;
  }

  stateOf(i: number): number {
    return this.hot[i * this.R + H_SD]! & 0xff;
  }

  setState(i: number, s: number): void {
    const b = i * this.R + H_SD;
    this.hot[b] = (this.hot[b]! & ~0xff) | s;
  }

  /** The real server's port. */
  dportOf(i: number): number {
    return this.hot[i * this.R + H_SD]! >>> 16;
  }

  setDport(i: number, port: number): void {
    const b = i * this.R + H_SD;
    this.hot[b] = (this.hot[b]! & 0xff) | (port << 16);
  }

  /** Word k of the real server's address. */
  daddrOf(i: number, k = 0): number {
    return this.w === 1 ? this.hot[i * this.R + H_DADDR]! : this.daddr[i * 4 + k]!;
  }

  /** Sets the real server's address from `w` words of `src` at `off`. */
  setDaddr(i: number, src: ArrayLike<number>, off = 0): void {
    if (this.w === 1) this.hot[i * this.R + H_DADDR] = src[off]! >>> 0;
    else this.setAddr(this.daddr, i, src, off);
  }

  /** Idle timeout in ticks, re-armed by every packet. */
  timeoutOf(i: number): number {
    return this.hot[i * this.R + H_TIMEOUT]!;
  }

  setTimeoutTicks(i: number, ticks: number): void {
    this.hot[i * this.R + H_TIMEOUT] = ticks;
  }

  /** Expiry tick. */
  expiresOf(i: number): number {
    return this.hot[i * this.R + H_EXPIRES]!;
  }

  setExpires(i: number, tick: number): void {
    this.hot[i * this.R + H_EXPIRES] = tick;
  }

  /** Tick of the wheel slot the conn is filed in, or UNFILED (see timer.ts). */
  filedOf(i: number): number {
    return this.hot[i * this.R + H_FILED]!;
  }

  setFiled(i: number, tick: number): void {
    this.hot[i * this.R + H_FILED] = tick;
  }

  inPktsOf(i: number): number {
    return this.hot[i * this.R + H_INPKTS]!;
  }

  setInPkts(i: number, n: number): void {
    this.hot[i * this.R + H_INPKTS] = n;
  }

  /** Copies `w` words from `src` (at `off`) into address array `dst` for conn `i`. */
  setAddr(dst: Uint32Array, i: number, src: ArrayLike<number>, off = 0): void {
    const w = this.w;
    for (let k = 0; k < w; k++) dst[i * w + k] = src[off + k]! >>> 0;
  }

  // --- hashing ---------------------------------------------------------------------------------

  /** The index hash of <proto, address, port>, as an int32 (never boxed: callers mask it). */
  private hashOf(proto: number, a: ArrayLike<number>, aOff: number, port: number): number {
    if (this.w === 1) return hash1(proto, a[aOff]!, port);
    let h = Math.imul(proto ^ (port << 8), 0x9e3779b1);
    for (let k = 0; k < 4; k++) {
      h = Math.imul(h ^ a[aOff + k]!, 0x85ebca6b);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
    return h ^ (h >>> 15);
  }

  private hashEntry(e: number): number {
    const i = e & ~LTAG;
    return e & LTAG
      ? this.hashOf(this.protoOf(i), this.laddr, i * this.w, this.lport[i]!)
      : this.hashOf(this.protoOf(i), this.hot, this.caddrOff(i), this.cportOf(i));
  }

  /** Enters entry e in the index. */
  private place(e: number): void {
    placeIn(this.index, this.mask, e, this.hashEntry(e));
    this.indexed++;
  }

  /** Enters entry e in the growing index. */
  private placeNext(e: number): void {
    placeIn(this.nextIndex!, this.nextMask, e, this.hashEntry(e));
    this.nextIndexed++;
  }

  /** Starts growing the index to twice its size (see the growth note at the top). */
  private beginGrow(): void {
    const size = (this.mask + 1) * 2;
    this.nextIndex = this.advised(new Int32Array(2 * size));
    this.nextMask = size - 1;
    this.nextIndexed = 0;
    this.filled = 0;
    this.moved = 0;
  }

  /**
   * One step of growth: fills the next INDEX_FILL_CHUNK slots of the growing index, or once it
   * is filled, moves up to `n` conn slots into it; the last move makes it the index. With
   * n = Infinity, all of it at once.
   */
  private migrate(n: number): void {
    const next = this.nextIndex!;
    if (this.filled < next.length) {
      const to = n === Infinity ? next.length : Math.min(this.filled + INDEX_FILL_CHUNK, next.length);
      next.fill(EMPTY, this.filled, to);
      this.filled = to;
      if (to < next.length) return;
    }
    const end = Math.min(this.moved + n, this.hwm);
    for (let i = this.moved; i < end; i++) {
      const f = this.hot[i * this.R + H_FLAGS]!;
      if ((f & CONN_F_USED) === 0) continue;
      if (f & CONN_HASHED) this.placeNext(i);
      if (f & CONN_LHASHED) this.placeNext(i | LTAG);
    }
    this.moved = end;
    if (end < this.hwm) return;
    this.index = this.nextIndex!;
    this.mask = this.nextMask;
    this.indexed = this.nextIndexed;
    this.nextIndex = null;
  }

  /** Index growth, on the insert path: begin at half load, then move a few slots per insert. */
  private grow(): void {
    const slots = this.mask + 1;
    if (this.nextIndex === null) {
      if ((this.indexed + 2) * 2 > slots) this.beginGrow();
    } else if (this.indexed + 2 > slots * MIGRATE_FORCE_LOAD) {
      this.migrate(Infinity);
    }
  }

  /** Enters conn i in the index (and under its local address when `local`). */
  hash(i: number, local: boolean): void {
    this.grow();
    if (this.w === 1) {
      // IPv4, inline: this is the insert path of every new conn.
      const key = this.hot;
      const b = i * this.R + HOT_WORDS;
      placeIn(this.index, this.mask, i, hash1(key[b + 3]! & 0xff, key[b]!, key[b + 2]! & 0xffff));
      this.indexed++;
    } else {
      this.place(i);
    }
    const fb = i * this.R + H_FLAGS;
    this.hot[fb]! |= CONN_HASHED;
    if (local) {
      this.place(i | LTAG);
      this.hot[fb]! |= CONN_LHASHED;
    }
    if (this.nextIndex !== null) {
      // A slot the move has passed (a freed one, reused) goes into the next index now.
      if (i < this.moved) {
        this.placeNext(i);
        if (local) this.placeNext(i | LTAG);
      }
      this.migrate(this.migratePerInsert);
    }
  }

  /** Removes conn i from the index (both entries). */
  unhash(i: number): void {
    const f = this.flagsOf(i);
    const inNext = this.nextIndex !== null && i < this.moved;
    if (f & CONN_HASHED) this.unindex(i, inNext);
    if (f & CONN_LHASHED) this.unindex(i | LTAG, inNext);
    this.setFlags(i, f & ~(CONN_HASHED | CONN_LHASHED));
  }

  /** Takes entry e out of the index, and out of the growing one when it was moved there. */
  private unindex(e: number, inNext: boolean): void {
    this.remove(this.index, this.mask, e);
    this.indexed--;
    if (inNext) {
      this.remove(this.nextIndex!, this.nextMask, e);
      this.nextIndexed--;
    }
  }

  /** Takes entry e out of `idx` (mask `mask`). */
  private remove(idx: Int32Array, mask: number, e: number): void {
    let p = this.hashEntry(e) & mask;
    while (idx[2 * p] !== e) {
      if (idx[2 * p] === EMPTY) throw new Error(`conn table: entry ${e} missing from the index`);
      p = (p + 1) & mask;
    }
    // Backward-shift deletion: pull later entries of the run into the hole when their home
    // slot (from their tag) does not lie cyclically in (hole, j].
    let hole = p;
    let j = p;
    for (;;) {
      j = (j + 1) & mask;
      const x = idx[2 * j]!;
      if (x === EMPTY) break;
      const home = idx[2 * j + 1]! & mask;
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        idx[2 * hole] = x;
        idx[2 * hole + 1] = idx[2 * j + 1]!;
        hole = j;
      }
    }
    idx[2 * hole] = EMPTY;
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
    const key = this.hot;
    const R = this.R;
    const ports = (cport | (vport << 16)) >>> 0;
    const pw = proto | (template ? 0x100 : 0);
    if (this.w === 1) {
      // IPv4: the whole key is the four words after the conn's hot fields.
      const ca = c[cOff]! >>> 0;
      const va = v[vOff]! >>> 0;
      const h = hash1(proto, ca, cport);
      let p = h & mask;
      for (;;) {
        const e = idx[2 * p]!;
        if (e === EMPTY) return -1;
        if (idx[2 * p + 1] === h && e >= 0) {
          const b = e * R + HOT_WORDS;
          if (key[b] === ca && key[b + 2] === ports && key[b + 1] === va && key[b + 3] === pw) return e;
        }
        p = (p + 1) & mask;
      }
    }
    const h = this.hashOf(proto, c, cOff, cport);
    let p = h & mask;
    const w = this.w;
    for (;;) {
      const e = idx[2 * p]!;
      if (e === EMPTY) return -1;
      if (idx[2 * p + 1] === h && (e & LTAG) === 0) {
        const b = e * R + HOT_WORDS;
        if (key[b + 2 * w] === ports && key[b + 2 * w + 1] === pw) {
          let k = 0;
          while (k < w && key[b + k] === c[cOff + k] && key[b + w + k] === v[vOff + k]) k++;
          if (k === w) return e;
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
  lookupOut(proto: number, s: ArrayLike<number>, sOff: number, sport: number, d: ArrayLike<number>, dOff: number, dport: number): number {
    const idx = this.index;
    const mask = this.mask;
    const h = this.hashOf(proto, d, dOff, dport);
    let p = h & mask;
    const key = this.hot;
    const R = this.R;
    const w = this.w;
    for (;;) {
      const e = idx[2 * p]!;
      if (e === EMPTY) return -1;
      const i = e & ~LTAG;
      const b = i * R + HOT_WORDS;
      if (idx[2 * p + 1] === h && key[b + 2 * w + 1] === proto) {
        if (e & LTAG) {
          if (this.lport[i] === dport && this.dportOf(i) === sport && this.eq(this.laddr, i, d, dOff) && this.daddrEq(i, s, sOff)) {
            return i;
          }
        } else if ((key[b + 2 * w]! & 0xffff) === dport && this.keyEq(b, d, dOff)) {
          const fwd = key[i * R + H_FLAGS]! & 7;
          if (fwd === 0) {
            if (this.dportOf(i) === sport && this.daddrEq(i, s, sOff)) return i;
          } else if (fwd !== 5 && key[b + 2 * w]! >>> 16 === sport && this.keyEq(b + w, s, sOff)) {
            return i;
          }
        }
      }
      p = (p + 1) & mask;
    }
  }

  private keyEq(off: number, a: ArrayLike<number>, aOff: number): boolean {
    for (let k = 0; k < this.w; k++) if (this.hot[off + k] !== a[aOff + k]) return false;
    return true;
  }

  /** Is `a` (w words at aOff) conn i's real server address? */
  daddrEq(i: number, a: ArrayLike<number>, aOff: number): boolean {
    return this.w === 1 ? this.hot[i * this.R + H_DADDR] === a[aOff] : this.eq(this.daddr, i, a, aOff);
  }

  /**
   * Software prefetch for a batch of IPv4 lookups: `h` holds n hashes (connHash4) of the keys
   * about to be looked up. Touches their index slots, then the record of the conn whose tag
   * matches in the home slot or the next one (a collision puts the conn looked for one slot on:
   * about one lookup in five at this index's load), in two passes whose loads do not depend on
   * each other, so that the cache misses of a batch overlap instead of coming one per frame.
   * Without tags both slots' records were touched, one of them another conn's: a wasted DRAM
   * access for most keys. Four keys at a time, their loads in one expression: one key per
   * iteration, the same touches ran at half the speed of the same loop in C (87-93 against 43
   * ns a key, 16-key batches over 10 M conns, 2026-12-06); unrolled, 44-51 ns. Returns a value
   * only so that the loads are not optimised away. Nothing is changed: a wrong or stale hash
   * only costs a wasted load.
   */
  warm(h: Int32Array, n: number): number {
    const idx = this.index;
    const mask = this.mask;
    let sink = 0;
    let k = 0;
    for (; k + 4 <= n; k += 4) {
      sink ^= idx[2 * (h[k]! & mask)]! ^ idx[2 * (h[k + 1]! & mask)]! ^ idx[2 * (h[k + 2]! & mask)]! ^ idx[2 * (h[k + 3]! & mask)]!;
    }
    for (; k < n; k++) sink ^= idx[2 * (h[k]! & mask)]!;
    for (k = 0; k + 4 <= n; k += 4) sink ^= this.touch(h[k]!) ^ this.touch(h[k + 1]!) ^ this.touch(h[k + 2]!) ^ this.touch(h[k + 3]!);
    for (; k < n; k++) sink ^= this.touch(h[k]!);
    return sink;
  }

  /**
   * Loads the record of the conn tagged `h` in h's home slot or the next, first and last word
   * (a record may straddle two cache lines); record 0 when neither slot matches (a new flow),
   * so that no load waits on a branch.
   */
  private touch(h: number): number {
    const idx = this.index;
    const hot = this.hot;
    const R = this.R;
    const q = 2 * (h & this.mask);
    const q1 = (q + 2) & (2 * this.mask + 1);
    const e = idx[q + 1] === h ? idx[q]! : idx[q1 + 1] === h ? idx[q1]! : 0;
    const i = e & ~LTAG;
    const b = (i < this.hwm ? i : 0) * R;
    return hot[b]! ^ hot[b + R - 1]!;
  }

  /** Index occupancy, for tests and diagnostics. */
  indexSize(): number {
    return this.mask + 1;
  }

  /** Whether the index is growing (a second index being filled), for tests and diagnostics. */
  growing(): boolean {
    return this.nextIndex !== null;
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
/** Internal: the conn has a controlling conn, `control` (bit 28). */
export const CONN_CONTROLLED = 1 << 28;

/** The index hash of an IPv4 key <proto, address, port>, for ConnTable.warm. */
export const connHash4 = hash1;

/** hashOf for one-word (IPv4) addresses: a multiply-xorshift mix (murmur3's finaliser). */
function hash1(proto: number, a: number, port: number): number {
  let h = Math.imul(proto ^ (port << 8), 0x9e3779b1);
  h = Math.imul(h ^ a, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
  return h ^ (h >>> 15);
}

/** Linear probing from hash `h`'s home slot to the first empty one, which takes entry e. */
function placeIn(idx: Int32Array, mask: number, e: number, h: number): void {
  let p = h & mask;
  while (idx[2 * p] !== EMPTY) p = (p + 1) & mask;
  idx[2 * p] = e;
  idx[2 * p + 1] = h;
}

function indexSizeFor(cap: number): number {
  let n = 16;
  while (n < cap * 2) n *= 2;
  return n;
}
