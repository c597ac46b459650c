// Encoding and decoding of IPVS sync messages, v1 (sent by default) and v0 (accepted), as
// ip_vs_sync.c writes and parses them (ip_vs_sync_conn_v0, ip_vs_sync_conn, ip_vs_process_message,
// ip_vs_proc_sync_conn). Pure: buffers in, buffers out, no sockets. Layout: docs/sync.md.
//
// One `SyncEntry` record is reused for every conn encoded or decoded, so the per-conn cost is
// field copies, not allocation. Addresses are 32-bit words in host order, as the conn table
// keeps them (one word for IPv4, four for IPv6).

import {
  IP_VS_PEDATA_MAXLEN,
  IP_VS_PENAME_MAXLEN,
  IPVS_OPT_F_PARAM,
  IPVS_OPT_PE_DATA,
  IPVS_OPT_PE_NAME,
  IPVS_OPT_SEQ_DATA,
  IP_VS_CONN_F_SEQ_MASK,
  STYPE_F_INET6,
  SVER_MASK,
  SVER_SHIFT,
  SYNC_ENTRY_V0,
  SYNC_ENTRY_V4,
  SYNC_ENTRY_V6,
  SYNC_HDR_V0,
  SYNC_HDR_V1,
  SYNC_MAX_CONNS,
  SYNC_PROTO_VER,
  SYNC_SEQ_LEN,
  TSVS_OPT_FNAT_LOCAL,
} from './constants.js';
import { IP_VS_CONN_F_FULLNAT, IP_VS_CONN_F_FWD_MASK } from '../core/constants.js';

/** One conn as the sync protocol carries it. */
export class SyncEntry {
  v6 = false;
  proto = 0;
  /** The conn's flags as sent (32 bits in v1, the low 16 in v0). */
  flags = 0;
  state = 0;
  cport = 0;
  vport = 0;
  dport = 0;
  fwmark = 0;
  /** Seconds: the full timeout of the conn's state (0 in v0). */
  timeout = 0;
  readonly caddr = new Uint32Array(4);
  readonly vaddr = new Uint32Array(4);
  readonly daddr = new Uint32Array(4);
  hasSeq = false;
  /** in_seq {init_seq, delta, previous_delta}, then out_seq. */
  readonly seq = new Uint32Array(6);
  peData: Uint8Array | null = null;
  peName: string | null = null;
  /** FULLNAT: the director's local address and port toward the real server. */
  hasLocal = false;
  lport = 0;
  readonly laddr = new Uint32Array(4);

  reset(): void {
    this.v6 = false;
    this.proto = this.flags = this.state = this.cport = this.vport = this.dport = 0;
    this.fwmark = this.timeout = this.lport = 0;
    this.caddr.fill(0);
    this.vaddr.fill(0);
    this.daddr.fill(0);
    this.laddr.fill(0);
    this.seq.fill(0);
    this.hasSeq = this.hasLocal = false;
    this.peData = null;
    this.peName = null;
  }
}

/** Bytes of `e` in a v1 message, options included, padding excluded. */
export function entrySizeV1(e: SyncEntry): number {
  const w = e.v6 ? 4 : 1;
  let n = e.v6 ? SYNC_ENTRY_V6 : SYNC_ENTRY_V4;
  if (e.hasSeq) n += 2 + SYNC_SEQ_LEN;
  if (e.peData) n += 2 + e.peData.length;
  if (e.peName) n += 2 + e.peName.length;
  if (e.hasLocal) n += 2 + 2 + 4 * w;
  return n;
}

/** Bytes of `e` in a v0 message (IPv4 only). */
export function entrySizeV0(e: SyncEntry): number {
  return SYNC_ENTRY_V0 + (e.flags & IP_VS_CONN_F_SEQ_MASK ? SYNC_SEQ_LEN : 0);
}

function putAddr(dv: DataView, off: number, a: Uint32Array, w: number): void {
  for (let k = 0; k < w; k++) dv.setUint32(off + 4 * k, a[k] ?? 0);
}

function getAddr(dv: DataView, off: number, a: Uint32Array, w: number): void {
  for (let k = 0; k < w; k++) a[k] = dv.getUint32(off + 4 * k);
  for (let k = w; k < 4; k++) a[k] = 0;
}

/** Writes `e` as a v1 entry at `off`; returns its size (without padding). */
export function writeEntryV1(dv: DataView, off: number, e: SyncEntry): number {
  const size = entrySizeV1(e);
  const w = e.v6 ? 4 : 1;
  dv.setUint8(off, e.v6 ? STYPE_F_INET6 : 0);
  dv.setUint8(off + 1, e.proto);
  dv.setUint16(off + 2, size & SVER_MASK);
  dv.setUint32(off + 4, e.flags >>> 0);
  dv.setUint16(off + 8, e.state);
  dv.setUint16(off + 10, e.cport);
  dv.setUint16(off + 12, e.vport);
  dv.setUint16(off + 14, e.dport);
  dv.setUint32(off + 16, e.fwmark >>> 0);
  dv.setUint32(off + 20, e.timeout >>> 0);
  putAddr(dv, off + 24, e.caddr, w);
  putAddr(dv, off + 24 + 4 * w, e.vaddr, w);
  putAddr(dv, off + 24 + 8 * w, e.daddr, w);
  let p = off + (e.v6 ? SYNC_ENTRY_V6 : SYNC_ENTRY_V4);
  // The kernel's order: SEQ_DATA, PE_DATA, PE_NAME; tsvs's own option last.
  if (e.hasSeq) {
    dv.setUint8(p, IPVS_OPT_SEQ_DATA);
    dv.setUint8(p + 1, SYNC_SEQ_LEN);
    for (let k = 0; k < 6; k++) dv.setUint32(p + 2 + 4 * k, e.seq[k] ?? 0);
    p += 2 + SYNC_SEQ_LEN;
  }
  if (e.peData) {
    dv.setUint8(p, IPVS_OPT_PE_DATA);
    dv.setUint8(p + 1, e.peData.length);
    new Uint8Array(dv.buffer, dv.byteOffset + p + 2, e.peData.length).set(e.peData);
    p += 2 + e.peData.length;
  }
  if (e.peName) {
    dv.setUint8(p, IPVS_OPT_PE_NAME);
    dv.setUint8(p + 1, e.peName.length);
    for (let k = 0; k < e.peName.length; k++) dv.setUint8(p + 2 + k, e.peName.charCodeAt(k) & 0xff);
    p += 2 + e.peName.length;
  }
  if (e.hasLocal) {
    dv.setUint8(p, TSVS_OPT_FNAT_LOCAL);
    dv.setUint8(p + 1, 2 + 4 * w);
    dv.setUint16(p + 2, e.lport);
    putAddr(dv, p + 4, e.laddr, w);
  }
  return size;
}

/** Writes `e` as a v0 entry at `off` (IPv4 only; the seq block in host order, as the kernel). */
export function writeEntryV0(dv: DataView, off: number, e: SyncEntry): number {
  dv.setUint8(off, 0);
  dv.setUint8(off + 1, e.proto);
  dv.setUint16(off + 2, e.cport);
  dv.setUint16(off + 4, e.vport);
  dv.setUint16(off + 6, e.dport);
  dv.setUint32(off + 8, e.caddr[0] ?? 0);
  dv.setUint32(off + 12, e.vaddr[0] ?? 0);
  dv.setUint32(off + 16, e.daddr[0] ?? 0);
  dv.setUint16(off + 20, e.flags & 0xffff);
  dv.setUint16(off + 22, e.state);
  if (e.flags & IP_VS_CONN_F_SEQ_MASK) {
    for (let k = 0; k < 6; k++) dv.setUint32(off + SYNC_ENTRY_V0 + 4 * k, e.seq[k] ?? 0, true);
    return SYNC_ENTRY_V0 + SYNC_SEQ_LEN;
  }
  return SYNC_ENTRY_V0;
}

/** Why a received datagram, or the rest of it, or one entry, was not used. */
export const SYNC_DROP_REASONS = [
  'short', // shorter than a v0 header
  'bad_size', // header size differs from the datagram's length
  'bad_count', // v0 with no conns
  'truncated', // an entry runs past the datagram
  'entry_version', // ver_size's version is not 0
  'entry_type', // neither IPv4 nor IPv6
  'bad_option', // malformed, repeated or oversized option
  'mandatory_option', // an option this receiver does not know and may not skip
  'bad_proto', // not TCP, UDP or SCTP (entry skipped)
  'bad_state', // state number out of the protocol's range (entry skipped)
  'bad_fwd', // forwarding method above FULLNAT (6, 7): no director has one (entry skipped)
  'pe_unknown', // persistence-engine data (tsvs has no SIP engine: entry skipped)
  'v6_unsupported', // an IPv6 conn and this director has no IPv6 table (entry skipped)
  'conn_table_full', // the conn table is at its memory bound (conn_mem_max): entry not created
] as const;
export type SyncDropReason = (typeof SYNC_DROP_REASONS)[number];

/** Receiver counters: messages, entries handed over, and drops by reason. */
export class SyncRxStats {
  messages = 0;
  otherSyncid = 0;
  entries = 0;
  readonly drops: Record<SyncDropReason, number> = Object.fromEntries(SYNC_DROP_REASONS.map((r) => [r, 0])) as Record<
    SyncDropReason,
    number
  >;
}

/** Number of states of each protocol (the kernel's num_states), for the receive check. */
function numStates(proto: number, template: boolean): number {
  if (template) return 1 << 16; // templates: bit flags, not checked
  switch (proto) {
    case 6:
      return 11;
    case 17:
      return 1;
    case 132:
      return 14;
    default:
      return 0;
  }
}

/** What the receiver does with each decoded entry; `e` is reused after the call. */
export type SyncEntryHandler = (e: SyncEntry) => void;

/**
 * Decodes one received datagram: checks length and size, filters by `syncid` (0 takes all),
 * tells v1 from v0 as the kernel does, and calls `onEntry` for each usable entry. Never throws
 * on any input; everything not used is counted in `stats`.
 */
export function decodeMessage(
  buf: Uint8Array,
  syncid: number,
  e: SyncEntry,
  onEntry: SyncEntryHandler,
  stats: SyncRxStats,
  ipv6 = true,
): void {
  const len = buf.length;
  if (len < SYNC_HDR_V0) {
    stats.drops.short++;
    return;
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, len);
  if (dv.getUint16(2) !== len) {
    stats.drops.bad_size++;
    return;
  }
  if (syncid !== 0 && dv.getUint8(1) !== syncid) {
    stats.otherSyncid++;
    return;
  }
  stats.messages++;
  const isV1 = len >= SYNC_HDR_V1 && dv.getUint8(0) === 0 && dv.getUint8(5) === SYNC_PROTO_VER && dv.getUint16(6) === 0;
  if (isV1) decodeV1(dv, e, onEntry, stats, ipv6);
  else decodeV0(dv, e, onEntry, stats);
}

function decodeV1(dv: DataView, e: SyncEntry, onEntry: SyncEntryHandler, stats: SyncRxStats, ipv6: boolean): void {
  const end = dv.byteLength;
  const n = dv.getUint8(4);
  let p = SYNC_HDR_V1;
  for (let i = 0; i < n; i++) {
    if (p + SYNC_ENTRY_V4 > end) {
      stats.drops.truncated++;
      return;
    }
    const verSize = dv.getUint16(p + 2);
    const size = verSize & SVER_MASK;
    const entryEnd = p + size;
    if (entryEnd > end) {
      stats.drops.truncated++;
      return;
    }
    if (verSize >> SVER_SHIFT !== 0) {
      stats.drops.entry_version++;
      return;
    }
    const r = decodeEntryV1(dv, p, entryEnd, e, stats, ipv6);
    if (r < 0) return; // the rest of the message is dropped
    if (r === 0) {
      stats.entries++;
      onEntry(e);
    }
    p += (size + 3) & ~3;
  }
}

/** 0: use the entry; 1: skip it (counted); -1: drop the rest of the message (counted). */
function decodeEntryV1(dv: DataView, p: number, entryEnd: number, e: SyncEntry, stats: SyncRxStats, ipv6: boolean): number {
  const type = dv.getUint8(p);
  let v6: boolean;
  if (type & STYPE_F_INET6) v6 = true;
  else if (type === 0) v6 = false;
  else {
    stats.drops.entry_type++;
    return -1;
  }
  const fixed = v6 ? SYNC_ENTRY_V6 : SYNC_ENTRY_V4;
  if (p + fixed > entryEnd) {
    stats.drops.truncated++;
    return -1;
  }
  e.reset();
  e.v6 = v6;
  const w = v6 ? 4 : 1;
  e.proto = dv.getUint8(p + 1);
  e.flags = dv.getUint32(p + 4);
  e.state = dv.getUint16(p + 8);
  e.cport = dv.getUint16(p + 10);
  e.vport = dv.getUint16(p + 12);
  e.dport = dv.getUint16(p + 14);
  e.fwmark = dv.getUint32(p + 16);
  e.timeout = dv.getUint32(p + 20);
  getAddr(dv, p + 24, e.caddr, w);
  getAddr(dv, p + 24 + 4 * w, e.vaddr, w);
  getAddr(dv, p + 24 + 8 * w, e.daddr, w);
  let skip = false;
  let q = p + fixed;
  while (q < entryEnd) {
    if (q + 2 > entryEnd) {
      stats.drops.bad_option++;
      return -1;
    }
    const ptype = dv.getUint8(q);
    const plen = dv.getUint8(q + 1);
    const data = q + 2;
    if (plen === 0 || data + plen > entryEnd) {
      stats.drops.bad_option++;
      return -1;
    }
    if (ptype === TSVS_OPT_FNAT_LOCAL) {
      if (plen !== 2 + 4 * w || e.hasLocal) {
        stats.drops.bad_option++;
        return -1;
      }
      e.hasLocal = true;
      e.lport = dv.getUint16(data);
      getAddr(dv, data + 2, e.laddr, w);
    } else {
      switch (ptype & ~IPVS_OPT_F_PARAM) {
        case IPVS_OPT_SEQ_DATA:
          if (plen !== SYNC_SEQ_LEN || e.hasSeq) {
            stats.drops.bad_option++;
            return -1;
          }
          e.hasSeq = true;
          for (let k = 0; k < 6; k++) e.seq[k] = dv.getUint32(data + 4 * k);
          break;
        case IPVS_OPT_PE_DATA:
          if (plen > IP_VS_PEDATA_MAXLEN || e.peData) {
            stats.drops.bad_option++;
            return -1;
          }
          e.peData = new Uint8Array(dv.buffer.slice(dv.byteOffset + data, dv.byteOffset + data + plen));
          break;
        case IPVS_OPT_PE_NAME:
          if (plen > IP_VS_PENAME_MAXLEN || e.peName !== null) {
            stats.drops.bad_option++;
            return -1;
          }
          e.peName = String.fromCharCode(...new Uint8Array(dv.buffer, dv.byteOffset + data, plen));
          break;
        default:
          if (!(ptype & IPVS_OPT_F_PARAM)) skip = true;
      }
    }
    q = data + plen;
  }
  if (skip) {
    stats.drops.mandatory_option++;
    return 1;
  }
  return checkEntry(e, stats, ipv6);
}

function checkEntry(e: SyncEntry, stats: SyncRxStats, ipv6: boolean): number {
  const template = (e.flags & 0x1000) !== 0;
  if (!template && numStates(e.proto, false) === 0) {
    stats.drops.bad_proto++;
    return 1;
  }
  if (e.state >= numStates(e.proto, template)) {
    stats.drops.bad_state++;
    return 1;
  }
  // The kernel creates such a conn without a transmitter (it then hands its packets to the
  // local stack); tsvs does not create what it could never forward.
  if ((e.flags & IP_VS_CONN_F_FWD_MASK) > IP_VS_CONN_F_FULLNAT) {
    stats.drops.bad_fwd++;
    return 1;
  }
  if (e.peData || e.peName !== null) {
    stats.drops.pe_unknown++;
    return 1;
  }
  if (e.v6 && !ipv6) {
    stats.drops.v6_unsupported++;
    return 1;
  }
  return 0;
}

function decodeV0(dv: DataView, e: SyncEntry, onEntry: SyncEntryHandler, stats: SyncRxStats): void {
  const end = dv.byteLength;
  const n = dv.getUint8(0);
  if (n === 0) {
    stats.drops.bad_count++;
    return;
  }
  let p = SYNC_HDR_V0;
  for (let i = 0; i < n; i++) {
    if (p + SYNC_ENTRY_V0 > end) {
      stats.drops.truncated++;
      return;
    }
    e.reset();
    e.proto = dv.getUint8(p + 1);
    e.cport = dv.getUint16(p + 2);
    e.vport = dv.getUint16(p + 4);
    e.dport = dv.getUint16(p + 6);
    e.caddr[0] = dv.getUint32(p + 8);
    e.vaddr[0] = dv.getUint32(p + 12);
    e.daddr[0] = dv.getUint32(p + 16);
    e.flags = dv.getUint16(p + 20);
    e.state = dv.getUint16(p + 22);
    p += SYNC_ENTRY_V0;
    if (e.flags & IP_VS_CONN_F_SEQ_MASK) {
      if (p + SYNC_SEQ_LEN > end) {
        stats.drops.truncated++;
        return;
      }
      e.hasSeq = true;
      for (let k = 0; k < 6; k++) e.seq[k] = dv.getUint32(p + 4 * k, true);
      p += SYNC_SEQ_LEN;
    }
    if (checkEntry(e, stats, true) === 0) {
      stats.entries++;
      onEntry(e);
    }
  }
}

/**
 * Packs entries into messages of at most `maxlen` bytes (one entry always fits, however long),
 * as the master's current buffer does: 4-byte alignment between v1 entries, a new message when
 * the next entry does not fit or the count reaches 255. Full messages go to `emit`.
 */
export class SyncPacker {
  private buf: Uint8Array | null = null;
  private dv: DataView | null = null;
  private head = 0;
  private count = 0;
  /** When the current message got its first entry (ms, the caller's clock). */
  firstAt = 0;

  constructor(
    readonly syncid: number,
    readonly maxlen: number,
    readonly version: 0 | 1,
    private readonly emit: (msg: Uint8Array) => void,
  ) {}

  /** Entries in the message being filled. */
  get pending(): number {
    return this.count;
  }

  /** Appends `e`; a v0 packer skips IPv6 conns (returns false), as a v0 master never sends them. */
  add(e: SyncEntry, now: number): boolean {
    if (this.version === 0 && e.v6) return false;
    const hdr = this.version === 1 ? SYNC_HDR_V1 : SYNC_HDR_V0;
    const len = this.version === 1 ? entrySizeV1(e) : entrySizeV0(e);
    const pad = this.version === 1 ? (4 - (this.head & 3)) & 3 : 0;
    if (this.buf && (this.head + pad + len > this.buf.length || this.count >= SYNC_MAX_CONNS)) this.flush();
    if (!this.buf) {
      const cap = Math.max(len + hdr, this.maxlen);
      this.buf = new Uint8Array(cap);
      this.dv = new DataView(this.buf.buffer);
      this.head = hdr;
      this.count = 0;
      this.firstAt = now;
    } else if (pad) {
      this.head += pad; // the new buffer is zeroed, so the padding is zero bytes
    }
    const dv = this.dv as DataView;
    this.head += this.version === 1 ? writeEntryV1(dv, this.head, e) : writeEntryV0(dv, this.head, e);
    this.count++;
    return true;
  }

  /** Closes the current message, if it has entries, and hands it to `emit`. */
  flush(): void {
    const buf = this.buf;
    const dv = this.dv;
    if (!buf || !dv || this.count === 0) return;
    if (this.version === 1) {
      dv.setUint8(0, 0);
      dv.setUint8(1, this.syncid);
      dv.setUint16(2, this.head);
      dv.setUint8(4, this.count);
      dv.setUint8(5, SYNC_PROTO_VER);
      dv.setUint16(6, 0);
    } else {
      dv.setUint8(0, this.count);
      dv.setUint8(1, this.syncid);
      dv.setUint16(2, this.head);
    }
    const msg = buf.subarray(0, this.head);
    this.buf = null;
    this.dv = null;
    this.head = 0;
    this.count = 0;
    this.emit(msg);
  }

  /** Drops the message being filled (stopping the master discards its queue). */
  discard(): void {
    this.buf = null;
    this.dv = null;
    this.head = 0;
    this.count = 0;
  }
}
