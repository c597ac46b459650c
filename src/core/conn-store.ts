// The two connection tables of one IPVS instance (IPv4 and IPv6), their timer wheels and the
// core's clock in ticks: the one place where a conn ref is split into its family's table and
// slot (V6_BASE), and the read-only views engines and tsvsadm take of a conn. Ipvs builds on it
// (ipvs-sync.ts, then ipvs.ts). Pure, like the rest of the core.

import { stateName } from './conn/states.js';
import type { ConnRow } from './conn/row.js';
import { CONN_F_USED, ConnTable } from './conn/table.js';
import { TICK_MS, TimerWheel } from './conn/timer.js';
import { AF_INET, AF_INET6, type Af, IP_VS_CONN_F_FWD_MASK, IP_VS_CONN_F_ONE_PACKET, IP_VS_CONN_F_TEMPLATE } from './constants.js';
import type { Dest } from './dest.js';
import { Addr } from './inet.js';
import type { Rules } from './rules.js';

/** Conn refs of the IPv6 table start here; IPv4 refs are plain slot numbers. */
export const V6_BASE = 1 << 30;

/** The slot of a conn ref in its family's table (the other half of the split is table()). */
export function slotOf(ref: number): number {
  return ref >= V6_BASE ? ref - V6_BASE : ref;
}

/** The IPv6 table's first capacity (it grows as needed; IPv6 conns are the rarer). */
const CONN_TABLE_V6_INITIAL = 1024;

export abstract class ConnStore {
  protected readonly t4: ConnTable;
  protected readonly t6: ConnTable;
  protected readonly w4: TimerWheel;
  protected readonly w6: TimerWheel;
  /** The core's clock, in timer ticks: it only moves forward (setNow). */
  protected nowTick: number;

  constructor(
    readonly rules: Rules,
    capacity4: number,
    now: number,
    /** Conns whose storage each table allocates up front (ConnTable's `reserve`). */
    reserve = 0,
  ) {
    this.nowTick = Math.floor(now / TICK_MS);
    this.t4 = new ConnTable(1, capacity4, reserve);
    this.t6 = new ConnTable(4, CONN_TABLE_V6_INITIAL, reserve);
    this.w4 = new TimerWheel(this.t4, this.nowTick);
    this.w6 = new TimerWheel(this.t6, this.nowTick);
  }

  /** Advice for the conn tables' large arrays (ConnTable.setAdvise): the engine's huge pages. */
  adviseConnStorage(advise: (a: ArrayBufferView) => void): void {
    this.t4.setAdvise(advise);
    this.t6.setAdvise(advise);
  }

  /** ip_vs_conn_expire for slot `i` of table `t` (ipvs.ts). */
  protected abstract expire(t: ConnTable, i: number): void;

  // --- refs --------------------------------------------------------------------------------

  protected table(ref: number): ConnTable {
    return ref >= V6_BASE ? this.t6 : this.t4;
  }

  protected wheel(t: ConnTable): TimerWheel {
    return t === this.t4 ? this.w4 : this.w6;
  }

  protected ref(t: ConnTable, i: number): number {
    return t === this.t4 ? i : V6_BASE + i;
  }

  protected tableFor(af: Af): ConnTable {
    return af === AF_INET ? this.t4 : this.t6;
  }

  protected setNow(now: number): void {
    const tick = Math.floor(now / TICK_MS);
    if (tick > this.nowTick) this.nowTick = tick;
  }

  protected addrOf(af: Af, w: ArrayLike<number>, off = 0): Addr {
    return af === AF_INET6 ? Addr.v6(w[off]!, w[off + 1]!, w[off + 2]!, w[off + 3]!) : Addr.v4(w[off]!);
  }

  /** Prefetch for a batch of IPv4 lookups (ConnTable.warm): `h` holds their connHash4 values. */
  warm4(h: Int32Array, n: number): number {
    return this.t4.warm(h, n);
  }

  connCount(): number {
    return this.t4.count + this.t6.count;
  }

  /** Bytes held by both connection tables (arrays and indexes). */
  connTableBytes(): number {
    return this.t4.bytes() + this.t6.bytes();
  }

  // --- views -----------------------------------------------------------------------------------

  connDest(ref: number): Dest | undefined {
    const t = this.table(ref);
    return this.rules.destById(t.destOf(slotOf(ref)));
  }

  connDport(ref: number): number {
    return this.table(ref).dportOf(slotOf(ref));
  }

  /**
   * Copies an IPv6 conn's address into `out` (four words): 0 client, 1 virtual, 2 real server,
   * 3 FULLNAT local address.
   */
  connAddr6(ref: number, which: 0 | 1 | 2 | 3, out: Uint32Array): Uint32Array {
    const t = this.t6;
    const i = ref - V6_BASE;
    const src = which === 2 ? t.daddr : which === 3 ? t.laddr : t.hot;
    const off = which === 2 || which === 3 ? i * 4 : t.caddrOff(i) + (which === 1 ? 4 : 0);
    for (let k = 0; k < 4; k++) out[k] = src[off + k]!;
    return out;
  }

  /** FULLNAT: the local address a conn uses toward its real server (IPv4). */
  conn4Laddr(ref: number): number {
    return this.t4.laddr[ref]!;
  }

  /** FULLNAT: the local port a conn uses toward its real server. */
  connLport(ref: number): number {
    return this.table(ref).lport[slotOf(ref)]!;
  }

  // IPv4 conn fields for the packet engine's rewrites (refs below V6_BASE; no allocation).

  conn4Caddr(ref: number): number {
    return this.t4.hot[this.t4.caddrOff(ref)]!;
  }

  conn4Vaddr(ref: number): number {
    return this.t4.hot[this.t4.caddrOff(ref) + 1]!;
  }

  conn4Daddr(ref: number): number {
    return this.t4.daddrOf(ref);
  }

  connCport(ref: number): number {
    return this.table(ref).cportOf(slotOf(ref));
  }

  connVport(ref: number): number {
    return this.table(ref).vportOf(slotOf(ref));
  }

  connState(ref: number): number {
    return this.table(ref).stateOf(slotOf(ref));
  }

  connFlags(ref: number): number {
    return this.table(ref).flagsOf(slotOf(ref));
  }

  /** Seconds until a conn expires (for -c and tests). */
  connExpiresIn(ref: number): number {
    const t = this.table(ref);
    const i = slotOf(ref);
    return Math.max(0, Math.floor(((t.expiresOf(i) - this.nowTick) * TICK_MS) / 1000));
  }

  /** Every conn and template (not one-packet conns), for `ipvsadm -c`. */
  forEachConn(now: number, cb: (c: ConnRow) => void): void {
    this.forEachConnFrom(now, 0, Infinity, cb);
  }

  /**
   * As forEachConn, for at most `max` conns from conn ref `from` (0 to start); returns the ref to
   * go on from, or -1 when the walk is done. A listing of millions of conns is taken in such
   * pieces with the event loop running between them (src/adm/conns.ts): as with a read of
   * /proc/net/ip_vs_conn in several read() calls, the whole is not a snapshot; a conn made
   * behind the walk's position is not seen, and a slot freed and taken again ahead of it shows
   * its new conn; each slot is visited once.
   */
  forEachConnFrom(now: number, from: number, max: number, cb: (c: ConnRow) => void): number {
    this.setNow(now);
    let left = max;
    for (const t of [this.t4, this.t6]) {
      const v6 = t === this.t6;
      const af: Af = v6 ? AF_INET6 : AF_INET;
      const base = v6 ? V6_BASE : 0;
      if (from >= base + V6_BASE) continue;
      const w = t.w;
      for (let i = Math.max(0, from - base); i < t.end(); i++) {
        if (left <= 0) return base + i;
        const f = t.flagsOf(i);
        if ((f & CONN_F_USED) === 0 || f & IP_VS_CONN_F_ONE_PACKET) continue;
        const d = this.rules.destById(t.destOf(i));
        const template = (f & IP_VS_CONN_F_TEMPLATE) !== 0;
        const mixed = d !== undefined && d.af !== af;
        left--;
        cb({
          af,
          protocol: t.protoOf(i),
          caddr: this.addrOf(af, t.hot, t.caddrOff(i)),
          cport: t.cportOf(i),
          vaddr: this.addrOf(af, t.hot, t.caddrOff(i) + w),
          vport: t.vportOf(i),
          daddr: mixed ? d.addr : w === 1 ? Addr.v4(t.daddrOf(i)) : this.addrOf(af, t.daddr, i * w),
          dport: t.dportOf(i),
          laddr: t.hasLocal(i) ? this.addrOf(af, t.laddr, i * w) : this.addrOf(af, t.hot, t.caddrOff(i)),
          lport: t.hasLocal(i) ? t.lport[i]! : t.cportOf(i),
          state: stateName(t.protoOf(i), t.stateOf(i), template),
          expires: Math.max(0, Math.floor(((t.expiresOf(i) - this.nowTick) * TICK_MS) / 1000)),
          template,
          fwd: f & IP_VS_CONN_F_FWD_MASK,
        });
      }
    }
    return -1;
  }
}
