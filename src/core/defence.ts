// The kernel's defence strategies against floods and memory shortage (ipvs-kernel.md §2.7;
// ip_vs_ctl.c update_defense_level, ip_vs_todrop; ip_vs_conn.c ip_vs_random_dropentry), with
// the sysctls' names and modes: drop_entry, drop_packet, secure_tcp take 0 off, 1 automatic
// (becomes 2 while memory is short), 2 automatic and active, 3 always on; amemthresh is the
// threshold in pages, am_droprate the rate of drop_packet mode 3.
//
// "Memory" for a director process is the smaller of what the system has available and what is
// left under the conn table's own bound (conn_mem_max): a flood can fill the table long before
// the machine runs short, and the bound is what keeps the daemon's memory flat. At the bound,
// new conns are refused outright (the kernel's failed conn allocation). Pure: the caller passes
// the time, the system's available memory and a random source.

import type { ConnTable } from './conn/table.js';
import { SCTP_S_ESTABLISHED, SCTP_S_INIT, SCTP_S_INIT1 } from './conn/sctp.js';
import { TCP_S_ESTABLISHED, TCP_S_SYNACK, TCP_S_SYN_RECV } from './conn/tcp.js';
import { TICK_MS } from './conn/timer.js';
import { IP_VS_CONN_F_ONE_PACKET, IP_VS_CONN_F_TEMPLATE, IPPROTO_SCTP, IPPROTO_TCP } from './constants.js';
import type { SysctlTable } from './sysctl.js';

export const PAGE_SIZE = 4096;
/**
 * What one conn costs the director: the core's slot (~70 B of typed arrays, doubled by
 * growth, plus its index entries), the engine's per-conn state and the garbage collector's
 * slack. Measured: a SYN flood filling 16 384 conns grew the packet director's RSS by 11 MB,
 * about 700 B a conn (test/integration/flood.test.ts); 1 KiB keeps the bound a bound.
 */
export const CONN_BYTES = 1024;
/** Default bound of the conn table's memory: 256 MiB, a quarter million conns at CONN_BYTES. */
export const DEFAULT_CONN_MEM_MAX = 256 << 20;
/** ip_vs_random_dropentry scans tab_size/32 buckets a second; we scan slots the same way. */
const DROP_ENTRY_FRACTION = 32;
/** todrop_entry: conns active within the last 60 s are spared. */
const RECENT_MS = 60_000;
/** todrop_entry's table: drop 1 of every in_pkts candidates, for in_pkts 0..8 (0 = never). */
const TODROP_RATE = [0, 1, 2, 3, 4, 5, 6, 7, 8];

export interface DefenceCounters {
  /** New-conn packets dropped by drop_packet. */
  drop_packet: number;
  /** Conns removed by drop_entry. */
  drop_entry: number;
  /** New conns refused because the table reached conn_mem_max. */
  conn_mem_full: number;
}

export class Defence {
  readonly counters: DefenceCounters = { drop_packet: 0, drop_entry: 0, conn_mem_full: 0 };
  /** Last evaluation, for status. */
  availPages = 0;
  nomem = false;
  dropEntryActive = false;
  secureTcpActive = false;
  private dropRate = 0;
  private dropCounter = 0;
  private readonly todropCounter = new Uint8Array(TODROP_RATE.length);

  constructor(
    private readonly sysctls: SysctlTable,
    /** Bound of the conn table's memory, bytes. */
    public connMemMax = DEFAULT_CONN_MEM_MAX,
  ) {}

  /** Most conns the bound allows. */
  maxConns(): number {
    return Math.floor(this.connMemMax / CONN_BYTES);
  }

  /**
   * For every new conn, before scheduling (the kernel's ip_vs_todrop in conn_schedule): false
   * means drop the packet. Counts why.
   */
  admit(conns: number): boolean {
    if (conns >= this.maxConns()) {
      this.counters.conn_mem_full++;
      return false;
    }
    if (this.dropRate === 0) return true;
    if (--this.dropCounter > 0) return true;
    this.dropCounter = this.dropRate;
    this.counters.drop_packet++;
    return false;
  }

  /** update_defense_level, once a second. `sysAvailBytes`: the system's available memory. */
  update(conns: number, sysAvailBytes: number): void {
    const s = this.sysctls;
    const tableLeft = Math.max(0, this.connMemMax - conns * CONN_BYTES);
    const avail = Math.floor(Math.min(sysAvailBytes, tableLeft) / PAGE_SIZE);
    const thresh = s.int('amemthresh');
    const nomem = avail < thresh;
    this.availPages = avail;
    this.nomem = nomem;

    switch (s.int('drop_entry')) {
      case 0:
        this.dropEntryActive = false;
        break;
      case 1:
        this.dropEntryActive = nomem;
        if (nomem) s.setInternal('drop_entry', 2);
        break;
      case 2:
        this.dropEntryActive = nomem;
        if (!nomem) s.setInternal('drop_entry', 1);
        break;
      default:
        this.dropEntryActive = true;
    }

    const rate = () => Math.floor(thresh / Math.max(1, thresh - avail));
    switch (s.int('drop_packet')) {
      case 0:
        this.dropRate = 0;
        break;
      case 1:
      case 2:
        if (nomem) {
          this.dropRate = this.dropCounter = rate();
          s.setInternal('drop_packet', 2);
        } else {
          this.dropRate = 0;
          s.setInternal('drop_packet', 1);
        }
        break;
      default:
        if (this.dropRate !== s.int('am_droprate')) this.dropCounter = s.int('am_droprate');
        this.dropRate = s.int('am_droprate');
    }

    const st = s.int('secure_tcp');
    if (st === 1 || st === 2) s.setInternal('secure_tcp', nomem ? 2 : 1);
    this.secureTcpActive = st === 3 || ((st === 1 || st === 2) && nomem);
  }

  /** Slots drop_entry visits this second: tab_size / 32. */
  scanCount(capacity: number): number {
    return this.dropEntryActive ? Math.max(1, Math.floor(capacity / DROP_ENTRY_FRACTION)) : 0;
  }

  /**
   * ip_vs_random_dropentry's choice for one conn: half-open TCP and SCTP handshakes go; idle
   * established conns and UDP go by todrop_entry's odds; templates only when not controlling.
   */
  shouldDrop(t: ConnTable, i: number, nowTick: number): boolean {
    if (t.nControlOf(i) > 0) return false;
    const f = t.flagsOf(i);
    if (f & IP_VS_CONN_F_TEMPLATE) {
      // Non-assured templates go; we have no "assured" bit, so every idle template does,
      // one-packet (OPS) templates by the odds, as the kernel treats them.
      return (f & IP_VS_CONN_F_ONE_PACKET) === 0 || this.todrop(t, i, nowTick);
    }
    const s = t.stateOf(i);
    if (t.protoOf(i) === IPPROTO_TCP) {
      if (s === TCP_S_SYN_RECV || s === TCP_S_SYNACK) return true;
      if (s === TCP_S_ESTABLISHED) return this.todrop(t, i, nowTick);
      return false;
    }
    if (t.protoOf(i) === IPPROTO_SCTP) {
      if (s === SCTP_S_INIT1 || s === SCTP_S_INIT) return true;
      if (s === SCTP_S_ESTABLISHED) return this.todrop(t, i, nowTick);
      return false;
    }
    return this.todrop(t, i, nowTick);
  }

  /** todrop_entry: spare recently active conns; else drop 1 of every in_pkts (0..8). */
  private todrop(t: ConnTable, i: number, nowTick: number): boolean {
    const left = t.expiresOf(i) - nowTick;
    if (left * TICK_MS > t.timeoutOf(i) * TICK_MS - RECENT_MS) return false;
    const pk = t.inPktsOf(i);
    if (pk >= TODROP_RATE.length) return false;
    const rate = TODROP_RATE[pk]!;
    if (rate === 0) return false;
    if (++this.todropCounter[pk]! < rate) return false;
    this.todropCounter[pk] = 0;
    return true;
  }
}
