// The XDP fast path (`tsvs daemon --xdp-fast on`): established TCP/UDP conns forwarded by
// the XDP program itself (fast-prog.ts), Katran's way, so that their frames never cross into
// user space. The slow path stays the authority: a conn's first frames, every frame that can
// change its state and every frame the program cannot judge go through the forwarder as before,
// and after forwarding one the forwarder offers it here. An eligible conn (NAT, DR, FULLNAT, or
// TUN when the forwarder sent the frame 4in4 or 6in6 in headers the program can repeat,
// fastTunKind) gets one map entry per direction (fast-entry.ts), built from what the slow path
// just did to that frame.
//
// The core keeps owning the conn. Every FAST_CREDIT_MS the engine calls tick(): what each entry
// forwarded since (its counters, in an array mmap'd from the kernel, read without a system call)
// is credited to the conn (Ipvs.credit: stats, the timer re-armed), so that `-L --stats`, `-c`,
// the estimator and expiry stay true within a tick. Entries leave when the core frees the conn
// (its expire hook), when its state leaves ESTABLISHED (a FIN or RST went through the slow path),
// when its dest goes away (prune, on a rule change), and all of them when routes, links or a
// neighbour's MAC change: the slow path then decides again and offers the conn anew. An out interface must take redirected frames
// (xdp_features' NDO_XMIT, features.ts, asked each tick): a veth only while its peer runs XDP or
// GRO. Without it the conn stays on the slow path, and entries toward it leave.

import {
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_FULLNAT,
  IP_VS_CONN_F_FWD_MASK,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_ONE_PACKET,
  IP_VS_CONN_F_TUNNEL,
} from '../../../core/constants.js';
import { TCP_S_ESTABLISHED } from '../../../core/conn/tcp.js';
import type { Dest } from '../../../core/dest.js';
import type { Ipvs, PacketInfo } from '../../../core/ipvs.js';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../../../sys/constants.js';
import { libc, type Mapping, SyscallError } from '../../../sys/libc.js';
import { type Frame, IPPROTO_TCP, IPPROTO_UDP } from '../../../wire/frame.js';
import type { FastOffer } from '../forward.js';
import type { Iface } from '../iface.js';
import { BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BpfMap } from './bpf.js';
import {
  FAST6_KEY_SIZE,
  FAST6_VALUE_SIZE,
  FAST_COUNTER_SIZE,
  FAST_KEY_SIZE,
  FAST_VALUE_SIZE,
  writeFastKey,
  writeFastKey6,
  writeFastValue,
  writeFastValue6,
  writeFastValueTun,
  writeFastValueTun6,
} from './fast-entry.js';
import type { FastMaps } from './fast-prog.js';
import { NETDEV_XDP_ACT_NDO_XMIT, XdpFeatures } from './features.js';
import { SplitRx } from './path.js';

/**
 * Map entries (one per direction: a NAT conn takes two). 2^18 holds the hot set of a busy
 * director; the counters array is allocated whole (4 MiB) while the hash map's entries are
 * allocated as used (about 128 bytes of kernel memory each). Conns beyond it stay on the slow path.
 */
export const FAST_MAX = 1 << 18;
/** How often entries' counters are credited to their conns: well inside the shortest timeout (1 s). */
export const FAST_CREDIT_MS = 500;
/** The in-hook's direction (client → real server); 1 is the out-hook's. */
const DIR_IN = 0;
const TCP_STATE_FLAGS = 0x07;

export interface FastCounters {
  /** Conn directions put into the map. */
  inserted: number;
  /** Entries taken out (the conn ended or changed state, or everything was flushed). */
  removed: number;
  /** Flushes of every entry, by cause. */
  flushes: number;
  /** Conns taken out because their dest went away. */
  pruned: number;
  /** Packets the program forwarded, credited to their conns. */
  packets: number;
  /** Offers refused because the map was full. */
  full: number;
  /** Map updates the kernel refused otherwise (logged once). */
  errors: number;
  /** Offers (frames of eligible conns) refused because the out interface takes no XDP redirects. */
  noRedirect: number;
}

export interface FastPathOptions {
  /** Whether the program runs where a frame came in (default: the interface is on AF_XDP). */
  rxFast?: (rx: Iface) => boolean;
  /** Whether an interface takes XDP redirects (default: the kernel's xdp_features say NDO_XMIT). */
  takesRedirect?: (ifindex: number) => boolean;
}

export class FastPath implements FastOffer {
  readonly fast: BpfMap;
  readonly fast6: BpfMap;
  readonly counters: BpfMap;
  readonly maps: FastMaps;
  private readonly mapping: Mapping;
  /** The counters as 32-bit halves: [packets lo, hi, bytes lo, hi] per slot. */
  private readonly c32: Uint32Array;
  private readonly features: XdpFeatures | null;
  /** Per slot: the conn's ref (-1: free), direction, protocol, out ifindex, key, last counters read. */
  private readonly slotRef = new Float64Array(FAST_MAX).fill(-1);
  private readonly slotDir = new Uint8Array(FAST_MAX);
  private readonly slotProto = new Uint8Array(FAST_MAX);
  private readonly slotOut = new Int32Array(FAST_MAX);
  /** TUN: the dest's tunnel (tunSig) the entry encapsulates for, else -1. */
  private readonly slotTun = new Int32Array(FAST_MAX);
  /** Each slot's key, room for an IPv6 one (an IPv4 key uses the first FAST_KEY_SIZE bytes). */
  private readonly keys = new Uint8Array(FAST_MAX * FAST6_KEY_SIZE);
  private readonly slotV6 = new Uint8Array(FAST_MAX);
  private readonly prevPkts = new Float64Array(FAST_MAX);
  private readonly prevBytes = new Float64Array(FAST_MAX);
  /** Freed slots, and the high-water mark of slots ever used (slots above it are fresh). */
  private readonly free = new Int32Array(FAST_MAX);
  private nFree = 0;
  private high = 0;
  private readonly inSlot = new Map<number, number>();
  private readonly outSlot = new Map<number, number>();
  private readonly value = new Uint8Array(FAST_VALUE_SIZE);
  private readonly value6 = new Uint8Array(FAST6_VALUE_SIZE);
  /** Out interfaces' NDO_XMIT, by ifindex, as last asked, and when (asked again after FAST_CREDIT_MS). */
  private readonly redirectOk = new Map<number, { ok: boolean; at: number }>();
  /** Whether flushes use BPF_MAP_DELETE_BATCH (off once the kernel refused it). */
  private batchDelete = true;
  /** The map refused an entry: no more offers until one leaves. */
  private isFull = false;
  /** The neighbour table's MAC moves already acted on (Forwarder.neigh.moves). */
  neighMoves = 0;
  readonly stats: FastCounters = { inserted: 0, removed: 0, flushes: 0, pruned: 0, packets: 0, full: 0, errors: 0, noRedirect: 0 };
  /** The last flush's cause, for `tsvs status`. */
  lastFlush = '';
  /** The engine's clock (ms), kept current by the engine: what removals credit at. */
  now = 0;
  /** The last refused update, for `tsvs status`. */
  private lastError: string | null = null;

  constructor(
    private readonly ipvs: Ipvs,
    private readonly log: (msg: string) => void,
    private readonly o: FastPathOptions = {},
  ) {
    this.fast = BpfMap.create(BPF_MAP_TYPE_HASH, 'tsvs_fast', FAST_KEY_SIZE, FAST_VALUE_SIZE, FAST_MAX, BPF_F_NO_PREALLOC);
    try {
      this.fast6 = BpfMap.create(BPF_MAP_TYPE_HASH, 'tsvs_fast6', FAST6_KEY_SIZE, FAST6_VALUE_SIZE, FAST_MAX, BPF_F_NO_PREALLOC);
    } catch (e) {
      this.fast.close();
      throw e;
    }
    try {
      this.counters = BpfMap.create(BPF_MAP_TYPE_ARRAY, 'tsvs_fast_cnt', 4, FAST_COUNTER_SIZE, FAST_MAX, BPF_F_MMAPABLE);
    } catch (e) {
      this.fast.close();
      this.fast6.close();
      throw e;
    }
    const c = libc();
    const m = c.mmap(FAST_MAX * FAST_COUNTER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, this.counters.fd);
    if (!m) {
      const e = c.errno();
      this.fast.close();
      this.fast6.close();
      this.counters.close();
      throw new SyscallError('mmap(the fast path counters map)', e, c.strerror(e));
    }
    this.mapping = m;
    this.c32 = new Uint32Array(c.view(m));
    this.maps = { fastFd: this.fast.fd, fast6Fd: this.fast6.fd, countersFd: this.counters.fd };
    let features: XdpFeatures | null = null;
    try {
      features = XdpFeatures.open();
    } catch (e) {
      this.log(
        `packet engine: xdp fast path: cannot ask the kernel which interfaces take XDP redirects (${(e as Error).message}); every conn stays on the slow path`,
      );
    }
    this.features = features;
  }

  /** Conn directions in the map. */
  get size(): number {
    return this.inSlot.size + this.outSlot.size;
  }

  /**
   * The forwarder sent `f` (rewritten, still in the ring) for conn `ref` out of `out`; `p` holds
   * the tuple it arrived with, `dir` says which hook took it (0 in, 1 out), `rx` where it came
   * in (the program must run there). Puts the conn's direction into the map when it qualifies,
   * takes the conn out when it no longer does.
   */
  offer(
    ref: number,
    f: Frame,
    p: PacketInfo,
    dir: number,
    out: Iface,
    rx: Iface,
    proxied: boolean,
    enc: Uint8Array | null = null,
    encAt = 0,
  ): void {
    const slots = dir === DIR_IN ? this.inSlot : this.outSlot;
    const have = slots.get(ref);
    if (!this.eligible(ref, f.proto, proxied, enc !== null)) {
      if (have !== undefined || this.otherDir(ref, dir) !== undefined) this.removeConn(ref);
      return;
    }
    if (have !== undefined || this.isFull || !(this.o.rxFast ? this.o.rxFast(rx) : rx.rx instanceof SplitRx)) return;
    // What the program cannot repeat: a segment the kernel still has to checksum or cut, a VLAN
    // tag, IPv4 options, IPv6 extension headers.
    if (f.partial || (f.vnet >= 0 && f.buf[f.vnet + 1] !== 0) || f.l3 !== f.off + 14) return;
    if (f.v6 ? f.ethType !== 0x86dd || f.l4 !== f.l3 + 40 : f.ethType !== 0x0800 || f.ihl !== 20) return;
    if (f.proto === IPPROTO_TCP && (f.tcpFlags & TCP_STATE_FLAGS) !== 0) return;
    if (!this.takesRedirect(out.ifindex)) {
      this.stats.noRedirect++;
      return;
    }
    const slot = this.nFree > 0 ? this.free[--this.nFree]! : this.high < FAST_MAX ? this.high++ : -1;
    if (slot < 0) {
      this.isFull = true;
      this.stats.full++;
      return;
    }
    const k = slot * FAST6_KEY_SIZE;
    const v6 = f.v6;
    // A tunnel the program does not repeat never gets here (the forwarder checks fastTunKind);
    // if one did, it stays on the slow path.
    let repeats = true;
    if (v6) {
      writeFastKey6(this.keys, k, f.proto, p.saddr, p.daddr, p.sport, p.dport);
      if (enc !== null) repeats = writeFastValueTun6(this.value6, 0, enc, encAt, out, rx.mac, slot);
      else writeFastValue6(this.value6, 0, p, f, out, rx.mac, slot);
    } else {
      writeFastKey(this.keys, k, f.proto, p.saddr[0]!, p.daddr[0]!, p.sport, p.dport);
      // Outer IDs from a random base: conns to one real server must not all count from 1.
      if (enc !== null) repeats = writeFastValueTun(this.value, 0, enc, encAt, out, rx.mac, slot, (Math.random() * 0x10000) | 0);
      else writeFastValue(this.value, 0, { saddr: p.saddr[0]!, daddr: p.daddr[0]!, sport: p.sport, dport: p.dport }, f, out, rx.mac, slot);
    }
    if (!repeats) {
      this.free[this.nFree++] = slot;
      return;
    }
    // Counters of a reused slot keep counting from where they are.
    const w = slot * 4;
    this.prevPkts[slot] = this.c32[w]! + this.c32[w + 1]! * 4294967296;
    this.prevBytes[slot] = this.c32[w + 2]! + this.c32[w + 3]! * 4294967296;
    // Never throws: the frame is already queued for transmit, and an exception in the walk would
    // discard the queue. A refused entry leaves the conn on the slow path, counted.
    try {
      if (v6) this.fast6.update(this.keys.subarray(k, k + FAST6_KEY_SIZE), this.value6);
      else this.fast.update(this.keys.subarray(k, k + FAST_KEY_SIZE), this.value);
    } catch (e) {
      this.free[this.nFree++] = slot;
      if (e instanceof SyscallError && e.errno === 7) {
        this.isFull = true;
        this.stats.full++;
      } else this.failed('add', e);
      return;
    }
    this.slotRef[slot] = ref;
    this.slotV6[slot] = v6 ? 1 : 0;
    this.slotDir[slot] = dir;
    this.slotProto[slot] = f.proto;
    this.slotOut[slot] = out.ifindex;
    const d = enc !== null ? this.ipvs.connDest(ref) : undefined;
    this.slotTun[slot] = d ? tunSig(d) : -1;
    slots.set(ref, slot);
    this.stats.inserted++;
  }

  private otherDir(ref: number, dir: number): number | undefined {
    return (dir === DIR_IN ? this.outSlot : this.inSlot).get(ref);
  }

  /**
   * An established TCP or a UDP conn forwarded by NAT, DR or FULLNAT without a PROXY header, or
   * by TUN when the forwarder sent its frame in a tunnel the program repeats (`encapsulated`);
   * not one-packet.
   */
  private eligible(ref: number, proto: number, proxied: boolean, encapsulated: boolean): boolean {
    if (proxied) return false;
    const flags = this.ipvs.connFlags(ref);
    if (flags & IP_VS_CONN_F_ONE_PACKET) return false;
    const fwd = flags & IP_VS_CONN_F_FWD_MASK;
    if (
      fwd === IP_VS_CONN_F_TUNNEL ? !encapsulated : fwd !== IP_VS_CONN_F_MASQ && fwd !== IP_VS_CONN_F_DROUTE && fwd !== IP_VS_CONN_F_FULLNAT
    ) {
      return false;
    }
    if (proto === IPPROTO_TCP) return this.ipvs.connState(ref) === TCP_S_ESTABLISHED;
    return proto === IPPROTO_UDP;
  }

  private takesRedirect(ifindex: number): boolean {
    if (this.o.takesRedirect) return this.o.takesRedirect(ifindex);
    const known = this.redirectOk.get(ifindex);
    if (known !== undefined && this.now - known.at < FAST_CREDIT_MS) return known.ok;
    const bits = this.features?.query(ifindex) ?? null;
    const ok = bits !== null && (bits & NETDEV_XDP_ACT_NDO_XMIT) !== 0;
    this.redirectOk.set(ifindex, { ok, at: this.now });
    return ok;
  }

  /** Takes both directions of conn `ref` out of the map (the core freed it, or it changed state). */
  removeConn(ref: number): void {
    const a = this.inSlot.get(ref);
    if (a !== undefined) this.release(a, this.inSlot);
    const b = this.outSlot.get(ref);
    if (b !== undefined) this.release(b, this.outSlot);
  }

  private release(slot: number, slots: Map<number, number>): void {
    const k = slot * FAST6_KEY_SIZE;
    try {
      if (this.slotV6[slot]) this.fast6.delete(this.keys.subarray(k, k + FAST6_KEY_SIZE));
      else this.fast.delete(this.keys.subarray(k, k + FAST_KEY_SIZE));
    } catch (e) {
      // The entry may still forward; its slot is not reused, so its counters stay its own.
      this.failed('remove', e);
      slots.delete(this.slotRef[slot]!);
      this.slotRef[slot] = -1;
      return;
    }
    this.forget(slot, slots);
  }

  /** A slot whose entry left the map: what it forwarded since the last tick is still the conn's. */
  private forget(slot: number, slots: Map<number, number>): void {
    this.creditSlot(slot, this.now);
    slots.delete(this.slotRef[slot]!);
    this.slotRef[slot] = -1;
    this.free[this.nFree++] = slot;
    this.isFull = false;
    this.stats.removed++;
  }

  /**
   * Rules changed: takes out the conns whose dest is no longer available (removed, or its
   * service deleted), whose next frame the slow path must judge (`expire_nodest_conn`), and the
   * TUN conns whose dest's tunnel changed (type, port or checksum flags): the kernel reads them
   * from the dest for every packet, so the conn's next frame goes in the new tunnel. Other edits
   * (weights, schedulers, a dest's forwarding method) change only new conns, as in the kernel,
   * so their entries stay.
   */
  prune(): void {
    for (let s = 0; s < this.high; s++) {
      const ref = this.slotRef[s]!;
      if (ref < 0) continue;
      const d = this.ipvs.connDest(ref);
      const tun = this.slotTun[s]!;
      if (!d || !d.available || (tun >= 0 && tunSig(d) !== tun)) {
        this.removeConn(ref);
        this.stats.pruned++;
      }
    }
  }

  /** A map update the kernel refused for another reason than a full map: counted, logged once. */
  private failed(what: string, e: unknown): void {
    this.stats.errors++;
    const msg = `packet engine: xdp fast path: could not ${what} an entry: ${(e as Error).message}`;
    if (this.lastError === null) this.log(msg);
    this.lastError = msg;
  }

  /** Empties the map (routes, links or a neighbour changed); the slow path offers conns anew. */
  clear(why: string): void {
    if (this.size === 0) {
      this.redirectOk.clear();
      return;
    }
    this.flush(false);
    this.flush(true);
    this.redirectOk.clear();
    this.stats.flushes++;
    this.lastFlush = why;
  }

  /**
   * Deletes every entry of one family with BPF_MAP_DELETE_BATCH: one call instead of one per
   * entry, which at FAST_MAX entries would hold the data path for about half a second. What a
   * batch leaves (a kernel without batch operations, an entry already gone) is deleted one by one.
   */
  private flush(v6: boolean): void {
    const ks = v6 ? FAST6_KEY_SIZE : FAST_KEY_SIZE;
    const live: number[] = [];
    for (let s = 0; s < this.high; s++) if (this.slotRef[s]! >= 0 && this.slotV6[s] === (v6 ? 1 : 0)) live.push(s);
    if (live.length === 0) return;
    let done = 0;
    if (this.batchDelete) {
      const keys = new Uint8Array(live.length * ks);
      live.forEach((s, k) => keys.set(this.keys.subarray(s * FAST6_KEY_SIZE, s * FAST6_KEY_SIZE + ks), k * ks));
      try {
        done = (v6 ? this.fast6 : this.fast).deleteBatch(keys, live.length);
      } catch (e) {
        this.batchDelete = false;
        this.log(`packet engine: xdp fast path: flushing one entry at a time (${(e as Error).message})`);
      }
    }
    for (let k = 0; k < live.length; k++) {
      const s = live[k]!;
      const slots = this.slotDir[s] === DIR_IN ? this.inSlot : this.outSlot;
      if (k < done) this.forget(s, slots);
      else this.release(s, slots);
    }
  }

  /** Credits what each entry forwarded since the last tick, re-checks the conns and the out interfaces. */
  tick(now: number): void {
    this.now = now;
    for (let s = 0; s < this.high; s++) {
      const ref = this.slotRef[s]!;
      if (ref < 0) continue;
      this.creditSlot(s, now);
      if (this.slotRef[s]! < 0) continue;
      const tcpGone = this.slotProto[s] === IPPROTO_TCP && this.ipvs.connState(ref) !== TCP_S_ESTABLISHED;
      if (tcpGone || !this.takesRedirect(this.slotOut[s]!)) this.removeConn(ref);
    }
  }

  private creditSlot(s: number, now: number): void {
    const w = s * 4;
    const pkts = this.c32[w]! + this.c32[w + 1]! * 4294967296;
    const dp = pkts - this.prevPkts[s]!;
    if (dp <= 0) return;
    const bytes = this.c32[w + 2]! + this.c32[w + 3]! * 4294967296;
    const db = bytes - this.prevBytes[s]!;
    this.prevPkts[s] = pkts;
    this.prevBytes[s] = bytes;
    this.stats.packets += dp;
    const ref = this.slotRef[s]!;
    if (this.slotDir[s] === DIR_IN) this.ipvs.credit(ref, dp, db, 0, 0, now);
    else this.ipvs.credit(ref, 0, 0, dp, db, now);
  }

  /** `tsvs status` lines. */
  notes(): string[] {
    const s = this.stats;
    const lines = [
      `xdp fast path: ${this.inSlot.size} conns in, ${this.outSlot.size} out (of ${FAST_MAX} entries); ${s.packets} packets forwarded in the kernel; ` +
        `${s.inserted} entries added, ${s.removed} removed (${s.pruned} conns of dests gone), ${s.flushes} flushes${this.lastFlush ? ` (last: ${this.lastFlush})` : ''}` +
        `${s.full > 0 ? `; ${s.full} refused, map full` : ''}`,
    ];
    if (s.noRedirect > 0) {
      lines.push(
        `xdp fast path: ${s.noRedirect} frames of established conns kept on the slow path: their out interface takes no XDP redirects (a veth needs XDP or GRO on its peer: ethtool -K PEER gro on)`,
      );
    }
    if (this.lastError) lines.push(`xdp fast path: ${s.errors} map updates failed; last: ${this.lastError}`);
    if (this.features?.unavailable) lines.push(`xdp fast path: ${this.features.unavailable}; every conn stays on the slow path`);
    return lines;
  }

  /** Releases the maps (after the programs using them are detached). */
  close(): void {
    libc().munmap(this.mapping.addr, this.mapping.len);
    this.fast.close();
    this.fast6.close();
    this.counters.close();
    this.features?.close();
  }
}

/** A dest's tunnel as one number: type, checksum flags and GUE port. */
function tunSig(d: Dest): number {
  return (d.tunType & 0xf) | ((d.tunFlags & 0xf) << 4) | ((d.tunPort & 0xffff) << 8);
}
