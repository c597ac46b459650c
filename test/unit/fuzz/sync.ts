// Fuzzer of the sync backup's receive path (issue #16, "Hostile input"): v1 and v0 messages
// from the real encoder (SyncPacker) with mutated counts, sizes, versions, option lengths,
// addresses, protocols, flags, states and the FULLNAT option, plus random bytes, fed to
// SyncBackup.receive (decode + Ipvs.applySync) of a backup core with a small conn bound.
// Invariants, per datagram: no exception; a datagram moves a named counter (messages, another
// syncid or a drop reason); every entry handed over is created, updated, ignored as stale or
// refused at the bound; the conn table stays under its bound. Every 500 datagrams and at the
// end, every conn has valid fields; after every timeout the table is empty.

import { staticResolver } from '../../../src/adm/resolve.js';
import { runAdm } from '../../../src/adm/run.js';
import { CONN_BYTES, Defence } from '../../../src/core/defence.js';
import { Ipvs } from '../../../src/core/ipvs.js';
import { SysctlTable } from '../../../src/core/sysctl.js';
import { SYNC_DROP_REASONS, SyncEntry, SyncPacker } from '../../../src/sync/codec.js';
import { SyncBackup } from '../../../src/sync/daemon.js';
import { IP_VS_SYNC_PORT } from '../../../src/sync/constants.js';
import { Addr } from '../../../src/core/inet.js';
import { FuzzFailure, mutateBytes, Rng } from './rng.js';

const RULES = [
  '-A -t 192.0.2.10:80 -s rr',
  '-a -t 192.0.2.10:80 -r 10.0.0.1:8080 -m',
  '-a -t 192.0.2.10:80 -r 10.0.0.2:8080 -m',
  '-A -u 192.0.2.10:53 -s rr -o',
  '-a -u 192.0.2.10:53 -r 10.0.0.1:53 -m',
  '-A -t 192.0.2.11:80 -s wlc -p 300',
  '-a -t 192.0.2.11:80 -r 10.0.0.1:80 -g',
  '-A -f 7 -s rr -p 60',
  '-a -f 7 -r 10.0.0.2:0 -i',
  '-A --sctp-service 192.0.2.12:3868 -s rr',
  '-a --sctp-service 192.0.2.12:3868 -r 10.0.0.1:3868 -m',
  '-A -t 192.0.2.13:80 -s rr --laddr 10.0.0.200',
  '-a -t 192.0.2.13:80 -r 10.0.0.1:8080 --fullnat',
  '-A -t [2001:db8::10]:80 -s rr',
  '-a -t [2001:db8::10]:80 -r [2001:db8:1::1]:8080 -m',
].join('\n');

const VIPS4 = ['192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.99', '0.0.0.7'].map((a) => Addr.parse(a)!.w0);
const RIPS4 = ['10.0.0.1', '10.0.0.2', '10.0.0.9'].map((a) => Addr.parse(a)!.w0);
const VIP6 = Addr.parse('2001:db8::10')!;
const RIP6 = Addr.parse('2001:db8:1::1')!;
/** The backup's conn bound: small, so that a long run reaches it (a short run passes its own). */
const FUZZ_MAX_CONNS = 8000;
/** TCP, UDP, SCTP and a few the receiver must refuse. */
const PROTOS = [6, 6, 6, 6, 6, 17, 17, 17, 132, 132, 0, 50, 255];
/** Conn flags worth setting: fwd methods, NOOUTPUT, INACTIVE, SEQ, NO_CPORT, TEMPLATE, ONE_PACKET, SYNC, HASHED. */
const FLAG_BITS = [0x0001, 0x0002, 0x0004, 0x0080, 0x0100, 0x0200, 0x0400, 0x0800, 0x1000, 0x2000, 0x0020, 0x0040];
const MAX_STATE = { 6: 11, 17: 1, 132: 14 } as Record<number, number>;

export interface SyncFuzzResult {
  datagrams: number;
  messages: number;
  entries: number;
  created: number;
  refused: number;
  drops: Record<string, number>;
  connsAtEnd: number;
}

export async function runSyncFuzz(count: number, seed = 1, maxConns = FUZZ_MAX_CONNS): Promise<SyncFuzzResult> {
  const r = new Rng(seed);
  const ipvs = new Ipvs({ now: 0 });
  const defence = new Defence(new SysctlTable(), maxConns * CONN_BYTES);
  ipvs.defence = defence;
  const res = await runAdm(['-R'], 'ipvsadm', { ipvs, now: 0, resolver: staticResolver({}), stdin: `${RULES}\n` });
  if (res.code !== 0) throw new Error(`sync fuzz: rules not accepted: ${res.stderr}`);
  const cfg = {
    state: 'backup' as const,
    ifname: 'lo',
    syncid: 0,
    group: Addr.parse('224.0.0.81')!,
    port: IP_VS_SYNC_PORT,
    ttl: 1,
    maxlen: 1472,
  };
  let now = 0;
  const backup = new SyncBackup(
    cfg as ConstructorParameters<typeof SyncBackup>[0],
    ipvs,
    () => now,
    () => {},
  );
  const st = backup.stats;
  const e = new SyncEntry();

  const fillEntry = (v6: boolean): void => {
    e.reset();
    e.v6 = v6;
    e.proto = r.pick(PROTOS);
    let flags = r.pick([0, 0, 3, 0x100, 0x1000, 0x1000 | 2, 5]);
    if (r.chance(0.3)) flags |= r.pick(FLAG_BITS);
    if (r.chance(0.05)) flags = r.edge(32);
    e.flags = flags >>> 0;
    const max = MAX_STATE[e.proto] ?? 1;
    e.state = r.chance(0.85) ? r.int(max) : r.edge(16);
    e.cport = r.chance(0.9) ? 1024 + r.int(400) : r.edge(16);
    e.vport = r.pick([80, 53, 3868, 0, r.edge(16)]);
    e.dport = r.pick([8080, 80, 53, 3868, 0, r.edge(16)]);
    e.fwmark = r.chance(0.15) ? r.pick([7, 8, r.edge(32)]) : 0;
    e.timeout = r.chance(0.97) ? r.pick([0, 0, 900, 300, 60, 1]) : r.edge(32);
    if (v6) {
      const c = Addr.parse(`2001:db8:9::${(1 + r.int(300)).toString(16)}`)!;
      for (let k = 0; k < 4; k++) {
        e.caddr[k] = c.word(k);
        e.vaddr[k] = r.chance(0.9) ? VIP6.word(k) : r.edge(32);
        e.daddr[k] = r.chance(0.9) ? RIP6.word(k) : r.edge(32);
      }
    } else {
      e.caddr[0] = r.chance(0.9) ? ((198 << 24) | (51 << 16) | (100 << 8) | r.int(256)) >>> 0 : r.edge(32);
      e.vaddr[0] = r.chance(0.9) ? r.pick(VIPS4) : r.edge(32);
      e.daddr[0] = r.chance(0.9) ? r.pick(RIPS4) : r.edge(32);
    }
    if (r.chance(0.1)) {
      e.hasSeq = true;
      for (let k = 0; k < 6; k++) e.seq[k] = r.edge(32);
    }
    if (r.chance(0.15)) {
      e.hasLocal = true;
      e.lport = r.edge(16);
      const l = v6 ? Addr.parse('2001:db8:1::200')! : Addr.parse('10.0.0.200')!;
      for (let k = 0; k < (v6 ? 4 : 1); k++) e.laddr[k] = l.word(k);
    }
    if (r.chance(0.03)) e.peName = r.pick(['sip', 'x'.repeat(16)]);
    if (r.chance(0.03)) e.peData = r.bytes(1 + r.int(40));
  };

  /** One message from the real packer: 1..n entries, v1 or v0, then a structured mutation. */
  const structured = (): Uint8Array => {
    const version: 0 | 1 = r.chance(0.7) ? 1 : 0;
    const msgs: Uint8Array[] = [];
    const packer = new SyncPacker(r.chance(0.8) ? 0 : r.int(256), r.pick([1472, 200, 9000]), version, (m) => msgs.push(m));
    for (let k = 1 + r.int(r.chance(0.1) ? 300 : 8); k > 0; k--) {
      fillEntry(version === 1 && r.chance(0.2));
      packer.add(e, now);
    }
    packer.flush();
    let m = msgs[0] ?? new Uint8Array(4);
    const dv = () => new DataView(m.buffer, m.byteOffset, m.length);
    const hdr = version === 1 ? 8 : 4;
    switch (r.int(12)) {
      case 0: // nr_conns
        m[version === 1 ? 4 : 0] = r.edge(8);
        break;
      case 1: // size, left wrong
        if (m.length >= 4) dv().setUint16(2, r.edge(16));
        break;
      case 2: // version, reserved, spare
        if (m.length >= 8) m[r.pick([0, 5, 6, 7])] = r.edge(8);
        break;
      case 3: // an entry's ver_size (first entry), or its type
        if (m.length >= hdr + 4) {
          if (r.chance(0.5)) dv().setUint16(hdr + 2, r.edge(16));
          else m[hdr] = r.edge(8);
        }
        break;
      case 4: {
        // an option's type or length (v1: after the first entry's fixed part)
        const at = hdr + (m[hdr]! & 1 ? 72 : 36);
        if (at + 2 <= m.length) m[at + r.int(2)] = r.edge(8);
        break;
      }
      case 5: // proto, flags, state of the first entry
        if (m.length >= hdr + 24) {
          const at =
            version === 1 ? r.pick([hdr + 1, hdr + 4, hdr + 7, hdr + 8, hdr + 9]) : r.pick([hdr + 1, hdr + 20, hdr + 21, hdr + 23]);
          m[at] = r.edge(8);
        }
        break;
      case 6:
      case 7:
        m = mutateBytes(r, m, 0);
        break;
      case 8:
        m = m.slice(0, r.int(m.length + 1));
        break;
      default:
        break; // valid as the encoder wrote it
    }
    // Mostly keep the header's size right, so that the mutation reaches the entries.
    if (m.length >= 4 && r.chance(0.8)) dv().setUint16(2, m.length & 0xffff);
    return m;
  };

  const random = (): Uint8Array => {
    const b = r.bytes(r.int(r.chance(0.1) ? 2000 : 120));
    if (b.length >= 4 && r.chance(0.7)) new DataView(b.buffer).setUint16(2, b.length);
    if (b.length >= 8 && r.chance(0.5)) {
      b[0] = 0;
      b[5] = 1;
      b[6] = b[7] = 0;
    }
    return b;
  };

  const dropTotal = () => SYNC_DROP_REASONS.reduce((n, k) => n + st.drops[k], 0);
  const a = ipvs.syncStats;
  const checkConns = (i: number, input: Uint8Array) => {
    ipvs.forEachConn(now, (c) => {
      const bad =
        c.state === 'ERR!'
          ? `state of ${c.protocol}`
          : !c.template && c.protocol !== 6 && c.protocol !== 17 && c.protocol !== 132
            ? `protocol ${c.protocol}`
            : c.fwd > 5
              ? `forwarding method ${c.fwd}`
              : !c.template && c.protocol === 17 && c.state !== 'UDP'
                ? `UDP state ${c.state}`
                : null;
      if (bad)
        throw new FuzzFailure('sync', seed, i, `a conn with an invalid ${bad}: ${JSON.stringify({ ...c, caddr: String(c.caddr) })}`, input);
    });
  };

  let input: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < count; i++) {
    now += r.int(400); // conns come and go: the table fills, drains and fills again
    input = r.chance(0.8) ? structured() : random();
    const before = st.messages + st.otherSyncid + dropTotal();
    const entriesBefore = st.entries;
    const appliedBefore = a.created + a.updated + a.staleIgnored + st.drops.conn_table_full;
    try {
      backup.receive(input);
      if (i % 200 === 199) ipvs.tick(now);
    } catch (err) {
      throw new FuzzFailure('sync', seed, i, `threw: ${(err as Error).stack}`, input);
    }
    if (st.messages + st.otherSyncid + dropTotal() === before) throw new FuzzFailure('sync', seed, i, 'datagram moved no counter', input);
    const handed = st.entries - entriesBefore;
    const applied = a.created + a.updated + a.staleIgnored + st.drops.conn_table_full - appliedBefore;
    if (handed !== applied) throw new FuzzFailure('sync', seed, i, `${handed} entries handed over, ${applied} accounted`, input);
    if (ipvs.connCount() > defence.maxConns()) throw new FuzzFailure('sync', seed, i, `${ipvs.connCount()} conns over the bound`, input);
    if (i % 500 === 499) checkConns(i, input);
  }
  checkConns(count, input);
  const connsAtEnd = ipvs.connCount();
  // Every timeout over (the longest a message can ask for is IPVS_MAX_TIMEOUT_KERNEL, ~25 days).
  ipvs.tick(now + 30 * 86_400_000);
  if (ipvs.connCount() !== 0) throw new FuzzFailure('sync', seed, count, `${ipvs.connCount()} conns left after every timeout`, input);
  const drops: Record<string, number> = {};
  for (const k of SYNC_DROP_REASONS) if (st.drops[k] > 0) drops[k] = st.drops[k];
  return {
    datagrams: count,
    messages: st.messages,
    entries: st.entries,
    created: a.created,
    refused: st.drops.conn_table_full,
    drops,
    connsAtEnd,
  };
}
