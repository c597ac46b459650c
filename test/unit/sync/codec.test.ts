// The sync codec against byte vectors laid out from the kernel's structures (ip_vs_sync.c:
// struct ip_vs_sync_v4/v6, ip_vs_sync_mesg, the SEQ option) and decoded by tshark's IPVS
// dissector (docs/sync.md), plus the receiver's defences on broken and hostile datagrams.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from '../../fc.js';
import { decodeMessage, SyncEntry, SyncPacker, SyncRxStats, SYNC_DROP_REASONS } from '../../../src/sync/codec.js';

const hex = (s: string) =>
  Uint8Array.from(
    s
      .replace(/\s+/g, '')
      .match(/../g)!
      .map((b) => parseInt(b, 16)),
  );
const v4 = (s: string) => s.split('.').reduce((a, b) => ((a << 8) | Number(b)) >>> 0, 0);
const v6 = (words: number[]) => Uint32Array.from(words);

// Three entries, syncid 9: the first vector of docs/sync.md.
const VEC1 = hex(`
  00 09 00 98 03 01 00 00 00 06 00 24 00 00 00 03
  00 01 9c 40 00 50 00 50 00 00 00 00 00 00 03 84
  0a 00 00 01 c0 00 02 0a c6 33 64 05 01 06 00 48
  00 00 00 00 00 01 9c 41 01 bb 20 fb 00 00 00 00
  00 00 03 84 20 01 0d b8 00 00 00 00 00 00 00 00
  00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00
  00 00 00 10 20 01 0d b8 00 00 00 00 00 00 00 00
  00 00 00 05 00 11 00 24 00 00 01 03 00 00 14 e9
  00 35 00 35 00 00 00 07 00 00 01 2c 0a 00 00 02
  c0 00 02 0a c6 33 64 06`);

// A SEQ option and two bytes of padding before the second entry.
const VEC2 = hex(`
  00 09 00 6c 02 01 00 00 00 06 00 3e 00 00 06 00
  00 01 9c 43 00 15 00 15 00 00 00 00 00 00 03 84
  0a 00 00 04 c0 00 02 0a c6 33 64 08 01 18 00 00
  03 e8 00 00 00 05 00 00 00 00 00 00 07 d0 00 00
  00 07 00 00 00 00 00 00 00 06 00 24 00 00 00 03
  00 04 9c 44 00 50 00 50 00 00 00 00 00 00 00 78
  0a 00 00 05 c0 00 02 0a c6 33 64 09`);

const VEC0 = hex('01 09 00 1c 00 06 9c 42 00 50 00 50 0a 00 00 03 c0 00 02 0a c6 33 64 07 00 03 00 01');

interface Plain {
  v6: boolean;
  proto: number;
  flags: number;
  state: number;
  cport: number;
  vport: number;
  dport: number;
  fwmark: number;
  timeout: number;
  caddr: number[];
  vaddr: number[];
  daddr: number[];
  seq?: number[];
  local?: { lport: number; laddr: number[] };
}

function fill(e: SyncEntry, p: Plain): SyncEntry {
  e.reset();
  Object.assign(e, {
    v6: p.v6,
    proto: p.proto,
    flags: p.flags,
    state: p.state,
    cport: p.cport,
    vport: p.vport,
    dport: p.dport,
    fwmark: p.fwmark,
    timeout: p.timeout,
  });
  e.caddr.set(p.caddr);
  e.vaddr.set(p.vaddr);
  e.daddr.set(p.daddr);
  if (p.seq) {
    e.hasSeq = true;
    e.seq.set(p.seq);
  }
  if (p.local) {
    e.hasLocal = true;
    e.lport = p.local.lport;
    e.laddr.set(p.local.laddr);
  }
  return e;
}

function plain(e: SyncEntry): Plain {
  const w = e.v6 ? 4 : 1;
  const p: Plain = {
    v6: e.v6,
    proto: e.proto,
    flags: e.flags,
    state: e.state,
    cport: e.cport,
    vport: e.vport,
    dport: e.dport,
    fwmark: e.fwmark,
    timeout: e.timeout,
    caddr: [...e.caddr.subarray(0, w)],
    vaddr: [...e.vaddr.subarray(0, w)],
    daddr: [...e.daddr.subarray(0, w)],
  };
  if (e.hasSeq) p.seq = [...e.seq];
  if (e.hasLocal) p.local = { lport: e.lport, laddr: [...e.laddr.subarray(0, w)] };
  return p;
}

const VEC1_ENTRIES: Plain[] = [
  {
    v6: false,
    proto: 6,
    flags: 3,
    state: 1,
    cport: 40000,
    vport: 80,
    dport: 80,
    fwmark: 0,
    timeout: 900,
    caddr: [v4('10.0.0.1')],
    vaddr: [v4('192.0.2.10')],
    daddr: [v4('198.51.100.5')],
  },
  {
    v6: true,
    proto: 6,
    flags: 0,
    state: 1,
    cport: 40001,
    vport: 443,
    dport: 8443,
    fwmark: 0,
    timeout: 900,
    caddr: [...v6([0x20010db8, 0, 0, 1])],
    vaddr: [...v6([0x20010db8, 0, 0, 0x10])],
    daddr: [...v6([0x20010db8, 0, 0, 5])],
  },
  {
    v6: false,
    proto: 17,
    flags: 0x103,
    state: 0,
    cport: 5353,
    vport: 53,
    dport: 53,
    fwmark: 7,
    timeout: 300,
    caddr: [v4('10.0.0.2')],
    vaddr: [v4('192.0.2.10')],
    daddr: [v4('198.51.100.6')],
  },
];
const VEC2_ENTRIES: Plain[] = [
  {
    v6: false,
    proto: 6,
    flags: 0x600,
    state: 1,
    cport: 40003,
    vport: 21,
    dport: 21,
    fwmark: 0,
    timeout: 900,
    caddr: [v4('10.0.0.4')],
    vaddr: [v4('192.0.2.10')],
    daddr: [v4('198.51.100.8')],
    seq: [1000, 5, 0, 2000, 7, 0],
  },
  {
    v6: false,
    proto: 6,
    flags: 3,
    state: 4,
    cport: 40004,
    vport: 80,
    dport: 80,
    fwmark: 0,
    timeout: 120,
    caddr: [v4('10.0.0.5')],
    vaddr: [v4('192.0.2.10')],
    daddr: [v4('198.51.100.9')],
  },
];

function encode(entries: Plain[], syncid: number, version: 0 | 1 = 1, maxlen = 1472): Uint8Array[] {
  const out: Uint8Array[] = [];
  const pk = new SyncPacker(syncid, maxlen, version, (m) => out.push(m));
  const e = new SyncEntry();
  for (const p of entries) pk.add(fill(e, p), 0);
  pk.flush();
  return out;
}

function decode(buf: Uint8Array, syncid = 0): { entries: Plain[]; stats: SyncRxStats } {
  const stats = new SyncRxStats();
  const entries: Plain[] = [];
  decodeMessage(buf, syncid, new SyncEntry(), (e) => entries.push(plain(e)), stats);
  return { entries, stats };
}

describe('sync codec: the kernel layout', () => {
  it('encodes the three-entry v1 vector byte for byte (IPv4 DR, IPv6 masq, UDP fwmark inactive)', () => {
    const msgs = encode(VEC1_ENTRIES, 9);
    assert.equal(msgs.length, 1);
    assert.deepEqual([...msgs[0]!], [...VEC1]);
  });
  it('encodes a SEQ option and pads the next entry to 4 bytes with zeros', () => {
    const msgs = encode(VEC2_ENTRIES, 9);
    assert.deepEqual([...msgs[0]!], [...VEC2]);
  });
  it('encodes v0 (24-byte entries, 16-bit flags)', () => {
    const e: Plain = {
      v6: false,
      proto: 6,
      flags: 3,
      state: 1,
      cport: 40002,
      vport: 80,
      dport: 80,
      fwmark: 0,
      timeout: 0,
      caddr: [v4('10.0.0.3')],
      vaddr: [v4('192.0.2.10')],
      daddr: [v4('198.51.100.7')],
    };
    assert.deepEqual([...encode([e], 9, 0)[0]!], [...VEC0]);
  });
  it('decodes both v1 vectors and the v0 one back to the same conns', () => {
    assert.deepEqual(decode(VEC1).entries, VEC1_ENTRIES);
    assert.deepEqual(decode(VEC2).entries, VEC2_ENTRIES);
    const v0 = decode(VEC0).entries;
    assert.equal(v0.length, 1);
    assert.equal(v0[0]!.cport, 40002);
    assert.equal(v0[0]!.daddr[0], v4('198.51.100.7'));
  });
  it('carries a FULLNAT local address in an optional option a kernel skips', () => {
    const fnat: Plain = { ...VEC1_ENTRIES[0]!, flags: 5, local: { lport: 5001, laddr: [v4('10.1.0.1')] } };
    const msg = encode([fnat, VEC1_ENTRIES[1]!], 9)[0]!;
    assert.deepEqual(decode(msg).entries, [fnat, VEC1_ENTRIES[1]]);
    // The option's type has IPVS_OPT_F_PARAM (0x40) and a low part the kernel does not know.
    const opt = msg[8 + 36]!;
    assert.equal(opt & 0x40, 0x40);
    assert.ok(![1, 2, 3].includes(opt & ~0x40));
    const fnat6: Plain = { ...VEC1_ENTRIES[1]!, flags: 5, local: { lport: 7, laddr: [0x20010db8, 1, 2, 3] } };
    assert.deepEqual(decode(encode([fnat6], 1)[0]!).entries, [fnat6]);
  });
  it('filters by syncid: 0 takes every message, another value only its own', () => {
    assert.equal(decode(VEC1, 0).entries.length, 3);
    assert.equal(decode(VEC1, 9).entries.length, 3);
    const other = decode(VEC1, 8);
    assert.equal(other.entries.length, 0);
    assert.equal(other.stats.otherSyncid, 1);
  });
});

describe('sync codec: packing as the master does', () => {
  const e4 = VEC1_ENTRIES[0]!;
  const e6 = VEC1_ENTRIES[1]!;
  it('fits 40 IPv4 or 20 IPv6 entries in the default 1472 bytes', () => {
    const m4 = encode(Array(41).fill(e4), 1);
    assert.deepEqual(
      m4.map((m) => m[4]),
      [40, 1],
    );
    assert.ok(m4.every((m) => m.length <= 1472));
    const m6 = encode(Array(21).fill(e6), 1);
    assert.deepEqual(
      m6.map((m) => m[4]),
      [20, 1],
    );
  });
  it('closes a message at 255 entries whatever maxlen allows', () => {
    const msgs = encode(Array(300).fill(e4), 1, 1, 65000);
    assert.deepEqual(
      msgs.map((m) => m[4]),
      [255, 45],
    );
    for (const m of msgs) assert.equal(decode(m).entries.length, m[4]);
  });
  it('always fits one entry even when maxlen is smaller than it', () => {
    const msgs = encode([e6, e6], 1, 1, 20);
    assert.equal(msgs.length, 2);
    assert.equal(msgs[0]!.length, 8 + 72);
  });
  it('a v0 master does not send IPv6 conns', () => {
    assert.deepEqual(encode([e6], 1, 0), []);
  });
});

describe('sync codec: hostile input is counted and dropped, never thrown', () => {
  it('drops short, mis-sized, bad-version and truncated datagrams under named reasons', () => {
    assert.equal(decode(new Uint8Array(3)).stats.drops.short, 1);
    const sized = VEC1.slice(0, 100);
    assert.equal(decode(sized).stats.drops.bad_size, 1);
    const ver = VEC1.slice();
    ver[8 + 2] = 0x10; // entry version 1
    assert.equal(decode(ver).stats.drops.entry_version, 1);
    const trunc = VEC1.slice();
    trunc[8 + 3] = 0xff; // entry longer than the datagram
    assert.equal(decode(trunc).stats.drops.truncated, 1);
    const type = VEC1.slice();
    type[8] = 2;
    assert.equal(decode(type).stats.drops.entry_type, 1);
    const state = VEC1.slice();
    state[8 + 9] = 11; // TCP has 11 states
    const s = decode(state);
    assert.equal(s.stats.drops.bad_state, 1);
    assert.equal(s.entries.length, 2, 'a skipped entry does not drop the rest');
  });
  it('skips an entry with an unknown mandatory option and ignores an unknown optional one', () => {
    const base = encode([VEC1_ENTRIES[0]!, VEC1_ENTRIES[2]!], 1)[0]!;
    const withOpt = (type: number) => {
      const m = new Uint8Array(base.length + 4);
      m.set(base.subarray(0, 8 + 36));
      m.set([type, 1, 0xaa, 0], 8 + 36); // 3 option bytes + 1 padding
      m.set(base.subarray(8 + 36), 8 + 40);
      const dv = new DataView(m.buffer);
      dv.setUint16(2, m.length);
      dv.setUint16(8 + 2, 36 + 3);
      return m;
    };
    const mand = decode(withOpt(0x09));
    assert.equal(mand.stats.drops.mandatory_option, 1);
    assert.equal(mand.entries.length, 1);
    const opt = decode(withOpt(0x49));
    assert.equal(opt.entries.length, 2);
  });
  it('never throws and accounts every datagram, on random bytes and on mutations of valid ones', () => {
    const e = new SyncEntry();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc.tuple(fc.constantFrom(VEC1, VEC2, VEC0), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 8 })).map(([v, muts]) => {
            const m = v.slice();
            for (const [at, b] of muts) m[at % m.length] = b;
            return m;
          }),
        ),
        (buf) => {
          const stats = new SyncRxStats();
          let n = 0;
          decodeMessage(buf, 0, e, () => n++, stats);
          assert.equal(stats.entries, n);
          const refused = stats.drops.short + stats.drops.bad_size;
          assert.equal(stats.messages + refused, 1, 'every datagram is a message or a counted refusal');
          const used = SYNC_DROP_REASONS.reduce((a, r) => a + stats.drops[r], 0) - refused;
          assert.ok(used >= 0 && stats.entries <= 255);
        },
      ),
      { numRuns: 20000 },
    );
  });
});
