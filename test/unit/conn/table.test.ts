// The connection table against a plain Map model: any sequence of inserts, lookups (both
// directions), deletes and expiries agrees (fast-check), through growth of the storage and the
// index (in steps, lookups meeting a half-moved index) and backward-shift deletion.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from '../../fc.js';
import { ConnTable, connHash4, UNFILED } from '../../../src/core/conn/table.js';
import { TimerWheel } from '../../../src/core/conn/timer.js';

interface Model {
  proto: number;
  c: number;
  cport: number;
  v: number;
  vport: number;
  d: number;
  dport: number;
  fwd: number;
  l: number;
  lport: number;
}

const keyIn = (m: { proto: number; c: number; cport: number; v: number; vport: number }) =>
  `${m.proto}|${m.c}|${m.cport}|${m.v}|${m.vport}`;

function insert(t: ConnTable, m: Model): number {
  const i = t.alloc();
  t.setKey(i, m.proto, [m.c], m.cport, [m.v], m.vport, false);
  t.setDaddr(i, [m.d]);
  t.laddr[i] = m.fwd === 5 ? m.l : m.c;
  t.setDport(i, m.dport);
  t.lport[i] = m.fwd === 5 ? m.lport : m.cport;
  t.setFlags(i, t.flagsOf(i) | m.fwd);
  t.hash(i, m.fwd === 5);
  return i;
}

// Small value ranges so that collisions, shared client keys and long probe runs happen.
const arbConn = fc.record({
  proto: fc.constantFrom(6, 17),
  c: fc.integer({ min: 1, max: 6 }),
  cport: fc.integer({ min: 1, max: 4 }),
  v: fc.integer({ min: 100, max: 102 }),
  vport: fc.constantFrom(80, 443),
  d: fc.integer({ min: 200, max: 203 }),
  dport: fc.constantFrom(80, 8080),
  fwd: fc.constantFrom(0, 3, 5),
  l: fc.integer({ min: 300, max: 301 }),
  lport: fc.integer({ min: 5000, max: 5003 }),
});

const arbOp = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), conn: arbConn }),
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('lookup' as const), conn: arbConn }),
);

// Inserts outweigh deletes, so that tables pass the 15 conns where the first index starts growing.
const arbOpGrowing = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('insert' as const), conn: arbConn }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('lookup' as const), conn: arbConn }), weight: 2 },
);

describe('connection table vs a Map model', () => {
  // With one slot moved per insert, the index is growing during most of a run: lookups,
  // deletes and slot reuse all meet a half-moved index. (test/fc.ts: arrays as long as
  // their maxLength; fast-check's own default keeps them near 10 operations, too few to grow.)
  let growingSeen = 0;
  for (const step of [8, 1])
    it(`insert / delete / lookup in both directions agree (index growth moving ${step} slot(s) per insert)`, () => {
      fc.assert(
        fc.property(fc.array(step === 1 ? arbOpGrowing : arbOp, { maxLength: 300 }), (ops) => {
          const t = new ConnTable(1, 16);
          t.migratePerInsert = step;
          const model = new Map<string, { i: number; m: Model }>();
          for (const o of ops) {
            if (o.op === 'insert') {
              // The kernel never holds two conns with the same in-key or the same FULLNAT
              // out-key; neither does the model.
              if (model.has(keyIn(o.conn))) continue;
              if (
                o.conn.fwd === 5 &&
                [...model.values()].some(
                  (x) => x.m.fwd === 5 && x.m.l === o.conn.l && x.m.lport === o.conn.lport && x.m.proto === o.conn.proto,
                )
              ) {
                continue;
              }
              model.set(keyIn(o.conn), { i: insert(t, o.conn), m: o.conn });
            } else if (o.op === 'delete') {
              if (model.size === 0) continue;
              const k = [...model.keys()][o.pick % model.size]!;
              const { i } = model.get(k)!;
              t.unhash(i);
              t.free(i);
              model.delete(k);
            } else {
              if (t.growing()) growingSeen++;
              const m = o.conn;
              const want = model.get(keyIn(m));
              const c = Uint32Array.of(m.c);
              const v = Uint32Array.of(m.v);
              assert.equal(t.lookupIn(m.proto, c, 0, m.cport, v, 0, m.vport, false), want ? want.i : -1);
            }
            assert.equal(t.count, model.size);
          }
          // Every live conn is found by its reply, by the rule of its forwarding method.
          for (const { i, m } of model.values()) {
            const c = Uint32Array.of(m.c);
            const v = Uint32Array.of(m.v);
            assert.equal(t.lookupIn(m.proto, c, 0, m.cport, v, 0, m.vport, false), i);
            let s: Uint32Array;
            let sport: number;
            let dst: Uint32Array;
            let dport: number;
            if (m.fwd === 5) [s, sport, dst, dport] = [Uint32Array.of(m.d), m.dport, Uint32Array.of(m.l), m.lport];
            else if (m.fwd === 0) [s, sport, dst, dport] = [Uint32Array.of(m.d), m.dport, c, m.cport];
            else [s, sport, dst, dport] = [v, m.vport, c, m.cport];
            const got = t.lookupOut(m.proto, s, 0, sport, dst, 0, dport);
            // Every conn that answers this reply by the kernel's rules (docs/spec/ipvs-kernel.md §2.1, the out lookup).
            const answers = [...model.values()].filter(({ m: x }) => {
              if (x.proto !== m.proto) return false;
              if (x.fwd === 5) return x.l === dst[0] && x.lport === dport && x.d === s[0] && x.dport === sport;
              if (x.c !== dst[0] || x.cport !== dport) return false;
              return x.fwd === 0 ? x.d === s[0] && x.dport === sport : x.v === s[0] && x.vport === sport;
            });
            assert.ok(
              answers.some((x) => x.i === i),
              'the conn answers its own reply',
            );
            assert.ok(
              answers.some((x) => x.i === got),
              `out lookup ${got} is one of the answers`,
            );
          }
        }),
        { numRuns: 300 },
      );
    });

  it('the runs above looked conns up while the index was growing', () => {
    assert.ok(growingSeen > 100, `lookups during growth: ${growingSeen}`);
  });

  it('grows the index in steps, and lookups in both directions find every conn throughout', () => {
    const t = new ConnTable(1, 16);
    const v = Uint32Array.of(0x0a000001);
    const c = new Uint32Array(1);
    let doublings = 0;
    let growingLookups = 0;
    let last = t.indexSize();
    for (let n = 0; n < 20_000; n++) {
      c[0] = 0xc0a80000 + n;
      insert(t, { proto: 17, c: c[0], cport: 53, v: 0x0a000001, vport: 53, d: 1, dport: 53, fwd: 5, l: 7, lport: n & 0xffff });
      if (t.indexSize() !== last) {
        doublings++;
        last = t.indexSize();
      }
      // Half load at most once growth is over; MIGRATE_FORCE_LOAD while it runs.
      assert.ok(t.indexEntries() <= last * (t.growing() ? 0.75 : 0.5), `${t.indexEntries()} entries in an index of ${last}`);
      if (n % 97 === 0) {
        if (t.growing()) growingLookups++;
        for (let k = 0; k <= n; k += 13) {
          c[0] = 0xc0a80000 + k;
          assert.ok(t.lookupIn(17, c, 0, 53, v, 0, 53, false) >= 0, `conn ${k} after ${n} inserts`);
          assert.ok(t.lookupOut(17, Uint32Array.of(1), 0, 53, Uint32Array.of(7), 0, k & 0xffff) >= 0, `reply of ${k}`);
        }
      }
    }
    assert.ok(doublings >= 8, `index doubled ${doublings} times`);
    assert.ok(growingLookups > 0, 'some lookups ran while the index was growing');
    assert.equal(t.count, 20_000);
  });

  it('reserved storage is taken at once and never copied; bytes() counts what is used', () => {
    const t = new ConnTable(1, 16, 100_000);
    const hot = t.hot;
    assert.equal(t.cap, 100_000);
    const empty = t.bytes();
    for (let n = 0; n < 100_000; n++) {
      insert(t, { proto: 6, c: n, cport: 1, v: 2, vport: 80, d: 3, dport: 80, fwd: 0, l: 0, lport: 0 });
    }
    assert.equal(t.hot, hot, 'the storage was not reallocated');
    assert.ok(empty < 100_000, `an empty reserved table reports ${empty} bytes`);
    assert.ok(t.bytes() > 100_000 * 60, `a full one ${t.bytes()}`);
  });

  it('advice (huge pages) reaches every large array, and a new one before anything is written to it', () => {
    const t = new ConnTable(1, 16);
    const seen: ArrayBufferView[] = [];
    let written = 0;
    t.setAdvise((a) => {
      seen.push(a);
      const w = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      if (w.some((x) => x !== 0 && x !== 0xff)) written++; // an index is EMPTY (-1) until used
    });
    const atSet = seen.length;
    assert.ok(seen.includes(t.hot) && seen.includes(t.next) && seen.includes(t.prev), 'the storage at setAdvise');
    written = 0; // arrays already in use at setAdvise may hold conns
    for (let n = 0; n < 5_000; n++) {
      insert(t, { proto: 17, c: 0xc0a80000 + n, cport: 53, v: 0x0a000001, vport: 53, d: 1, dport: 53, fwd: 0, l: 0, lport: 0 });
    }
    assert.ok(seen.length > atSet + 8, `${seen.length - atSet} arrays advised while growing`);
    assert.ok(seen.includes(t.hot), 'the grown storage');
    assert.equal(written, 0, 'every array allocated while growing was advised before its first write');
  });

  it('grows from 16 slots to 100k conns and finds every one; deletes leave no holes', () => {
    const t = new ConnTable(1, 16);
    const v = Uint32Array.of(0x0a000001);
    for (let n = 0; n < 100_000; n++) {
      insert(t, {
        proto: 6,
        c: 0xc0a80000 + (n >>> 10),
        cport: n & 1023,
        v: 0x0a000001,
        vport: 80,
        d: 1,
        dport: 80,
        fwd: 0,
        l: 0,
        lport: 0,
      });
    }
    for (let n = 0; n < 100_000; n += 2) {
      const i = t.lookupIn(6, Uint32Array.of(0xc0a80000 + (n >>> 10)), 0, n & 1023, v, 0, 80, false);
      t.unhash(i);
      t.free(i);
    }
    for (let n = 0; n < 100_000; n++) {
      const i = t.lookupIn(6, Uint32Array.of(0xc0a80000 + (n >>> 10)), 0, n & 1023, v, 0, 80, false);
      assert.equal(i >= 0, n % 2 === 1, `conn ${n}`);
    }
    assert.equal(t.count, 50_000);
    assert.equal(t.indexEntries(), 50_000);
  });
});

describe('connection table: sync state on first use', () => {
  it('no sync arrays until syncState(); then every conn has them, zeroed on alloc, kept through growth', () => {
    const t = new ConnTable(1, 16);
    const m = (c: number) => ({ proto: 6, c, cport: 1, v: 2, vport: 80, d: 3, dport: 80, fwd: 0, l: 0, lport: 0 });
    const a = insert(t, m(1));
    assert.equal(t.syncEnd.length, 0);
    assert.equal(t.oldState.length, 0);
    t.syncState();
    assert.equal(t.syncEnd.length, t.cap);
    assert.equal(t.syncEnd[a], 0);
    t.syncEnd[a] = 1234;
    t.oldState[a] = 3;
    t.unhash(a);
    t.free(a);
    const b = insert(t, m(2));
    assert.equal(b, a, 'the slot is reused');
    assert.equal(t.syncEnd[b], 0);
    assert.equal(t.oldState[b], 0);
    t.syncEnd[b] = 99;
    for (let c = 3; c < 100; c++) insert(t, m(c));
    assert.ok(t.cap >= 100);
    assert.equal(t.syncEnd.length, t.cap, 'grown with the storage');
    assert.equal(t.syncEnd[b], 99, 'and kept');
    t.syncState();
    assert.equal(t.syncEnd[b], 99, 'a second call changes nothing');
  });
});

describe('connection table: what a new conn leaves unwritten', () => {
  it('controllers: counted in the template, cleared with the conn; a reused slot starts with none', () => {
    const t = new ConnTable(1, 16);
    const m = (c: number) => ({ proto: 6, c, cport: 1, v: 2, vport: 80, d: 3, dport: 80, fwd: 0, l: 0, lport: 0 });
    const template = () => {
      const i = t.alloc();
      t.setKey(i, 6, [9], 0, [2], 80, true);
      t.setFlags(i, t.flagsOf(i) | 0x1000);
      return i;
    };
    const tpl = template();
    const a = insert(t, m(2));
    assert.equal(t.controlOf(a), -1, 'a new conn has no controller');
    assert.equal(t.nControlOf(tpl), 0);
    t.setControl(a, tpl);
    assert.equal(t.controlOf(a), tpl);
    assert.equal(t.nControlOf(tpl), 1);
    assert.equal(t.nControlOf(a), 0, 'only templates control');
    t.setControl(a, -1);
    assert.equal(t.controlOf(a), -1);
    assert.equal(t.nControlOf(tpl), 0);
    t.setControl(a, tpl);
    t.unhash(a);
    t.free(a); // still controlled (expire would clear it first)
    const b = insert(t, m(3));
    assert.equal(b, a, 'the slot is reused');
    assert.equal(t.controlOf(b), -1, "the freed conn's controller is not passed on");
    // The template still counts a (freed above): freeing it passes no count to the next one.
    t.unhash(tpl);
    t.free(tpl);
    const tpl2 = template();
    assert.equal(tpl2, tpl);
    assert.equal(t.nControlOf(tpl2), 0);
  });

  it('only a FULLNAT conn (not a template) has a local pair of its own', () => {
    const t = new ConnTable(1, 16);
    const nat = insert(t, { proto: 6, c: 1, cport: 1, v: 2, vport: 80, d: 3, dport: 80, fwd: 0, l: 0, lport: 0 });
    const fnat = insert(t, { proto: 6, c: 1, cport: 2, v: 2, vport: 80, d: 3, dport: 80, fwd: 5, l: 9, lport: 5000 });
    const tpl = t.alloc();
    t.setKey(tpl, 6, [1], 0, [2], 80, true);
    t.setFlags(tpl, t.flagsOf(tpl) | 5 | 0x1000);
    assert.equal(t.hasLocal(nat), false);
    assert.equal(t.hasLocal(fnat), true);
    assert.equal(t.hasLocal(tpl), false, 'a FULLNAT template has no local pair');
  });
});

describe('connection table: the IPv4 index paths', () => {
  it('one home slot shared by many conns: lookups, backward-shift deletes and wrap-around', () => {
    // Same <proto, caddr, cport> = same hash and home slot; the conns differ by VIP and port.
    const t = new ConnTable(1, 16);
    const ids: number[] = [];
    for (let k = 0; k < 40; k++) {
      ids.push(insert(t, { proto: 6, c: 7, cport: 9, v: 100 + (k >> 1), vport: 80 + (k & 1), d: 1, dport: 80, fwd: 0, l: 7, lport: 9 }));
    }
    const find = (k: number) => t.lookupIn(6, [7], 0, 9, [100 + (k >> 1)], 0, 80 + (k & 1), false);
    for (let k = 0; k < 40; k++) assert.equal(find(k), ids[k]);
    // Delete every third conn from the middle of the run; the others stay reachable.
    for (let k = 1; k < 40; k += 3) t.unhash(ids[k]!);
    for (let k = 0; k < 40; k++) assert.equal(find(k), k % 3 === 1 ? -1 : ids[k]);
    assert.equal(t.indexEntries(), 40 - 13);
    // A template and a UDP conn with the same addresses are other keys.
    assert.equal(t.lookupIn(6, [7], 0, 9, [100], 0, 80, true), -1);
    assert.equal(t.lookupIn(17, [7], 0, 9, [100], 0, 80, false), -1);
  });

  it('equal tags (full hashes) of different client keys: the key decides, in lookups, deletes and warming', () => {
    // connHash4 mixes <proto, port> into a word w and then hashes address ^ w, so the address
    // w(1000) ^ w(port) with `port` gives the same 32-bit hash as address 0 with port 1000.
    const w = (port: number) => Math.imul(6 ^ (port << 8), 0x9e3779b1);
    const base = connHash4(6, 0, 1000);
    const clients: [number, number][] = [];
    for (let port = 1000; port < 1012; port++) clients.push([(w(1000) ^ w(port)) >>> 0, port]);
    const t = new ConnTable(1, 16);
    const ids = clients.map(([c, cport]) =>
      insert(t, { proto: 6, c, cport, v: 100, vport: 80, d: 1, dport: 80, fwd: 0, l: c, lport: cport }),
    );
    for (const [c, cport] of clients) assert.equal(connHash4(6, c, cport), base);
    const find = (k: number) => t.lookupIn(6, [clients[k]![0]], 0, clients[k]![1], [100], 0, 80, false);
    clients.forEach((_, k) => assert.equal(find(k), ids[k]));
    for (let k = 0; k < clients.length; k += 2) t.unhash(ids[k]!);
    clients.forEach((_, k) => assert.equal(find(k), k % 2 === 0 ? -1 : ids[k]));
    assert.equal(t.lookupOut(6, [1], 0, 80, [clients[1]![0]], 0, clients[1]![1]), ids[1]);
    assert.equal(t.lookupOut(6, [1], 0, 80, [clients[0]![0]], 0, clients[0]![1]), -1);
    t.warm(Int32Array.of(base, base, base), 3);
    clients.forEach((_, k) => assert.equal(find(k), k % 2 === 0 ? -1 : ids[k]));
  });

  it('a FULLNAT local-address entry never answers an in-direction lookup', () => {
    const t = new ConnTable(1, 16);
    // Conn A's local address/port equal conn B's client address/port: both land on one home.
    const a = insert(t, { proto: 6, c: 1, cport: 1000, v: 100, vport: 80, d: 200, dport: 80, fwd: 5, l: 50, lport: 5000 });
    assert.equal(t.lookupIn(6, [50], 0, 5000, [100], 0, 80, false), -1);
    assert.equal(t.lookupOut(6, [200], 0, 80, [50], 0, 5000), a);
    const b = insert(t, { proto: 6, c: 50, cport: 5000, v: 100, vport: 80, d: 201, dport: 80, fwd: 0, l: 50, lport: 5000 });
    assert.equal(t.lookupIn(6, [50], 0, 5000, [100], 0, 80, false), b);
    t.unhash(b);
    assert.equal(t.lookupIn(6, [50], 0, 5000, [100], 0, 80, false), -1);
    assert.equal(t.lookupOut(6, [200], 0, 80, [50], 0, 5000), a);
  });

  it('addresses and ports with the top bit set (unsigned words) hash and compare alike', () => {
    const t = new ConnTable(1, 16);
    const i = insert(t, {
      proto: 17,
      c: 0xfffffffe,
      cport: 0xffff,
      v: 0xc0000201,
      vport: 0x8000,
      d: 0x80000001,
      dport: 53,
      fwd: 0,
      l: 0,
      lport: 0,
    });
    assert.equal(t.lookupIn(17, Uint32Array.of(0xfffffffe), 0, 0xffff, Int32Array.of(0xc0000201 | 0), 0, 0x8000, false), i);
    assert.equal(t.lookupOut(17, [0x80000001], 0, 53, [0xfffffffe], 0, 0xffff), i);
  });
});

describe('timer wheel', () => {
  it('expires exactly the conns whose time has come, whatever the re-arms', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            conn: fc.integer({ min: 0, max: 19 }),
            at: fc.integer({ min: 0, max: 10_000 }),
          }),
          { maxLength: 200 },
        ),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 10 }),
        (arms, steps) => {
          const t = new ConnTable(1, 32);
          const w = new TimerWheel(t, 0);
          const ids = Array.from({ length: 20 }, () => t.alloc());
          const expiry = new Map<number, number>();
          let now = 0;
          let k = 0;
          for (const step of steps) {
            const batch = arms.slice(k, k + 20);
            k += 20;
            for (const a of batch) {
              const i = ids[a.conn]!;
              if (!expiry.has(i) && t.prev[i] === -1 && now > 0 && !t.used(i)) continue;
              w.arm(i, now + a.at);
              expiry.set(i, now + a.at);
            }
            now += step;
            const fired: number[] = [];
            w.advance(now, (i) => fired.push(i));
            const due = [...expiry]
              .filter(([, at]) => at <= now)
              .map(([i]) => i)
              .sort((a, b) => a - b);
            assert.deepEqual(
              fired.sort((a, b) => a - b),
              due,
            );
            for (const i of due) expiry.delete(i);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('connection table: the hot record', () => {
  interface Hot {
    key: Model;
    flags: number;
    dest: number;
    state: number;
    timeout: number;
    inPkts: number;
    expires: number;
  }
  const arbHotOp = fc.oneof(
    fc.record({
      op: fc.constant('insert' as const),
      conn: arbConn,
      dest: fc.integer({ min: -1, max: 5 }),
      at: fc.integer({ min: 1, max: 50 }),
    }),
    fc.record({
      op: fc.constant('update' as const),
      pick: fc.nat(),
      state: fc.integer({ min: 0, max: 255 }),
      dest: fc.integer({ min: -1, max: 5 }),
      dport: fc.integer({ min: 0, max: 0xffff }),
      timeout: fc.integer({ min: 1, max: 50 }),
    }),
    fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
    fc.record({ op: fc.constant('advance' as const), by: fc.integer({ min: 1, max: 30 }) }),
  );

  for (const w of [1, 4] as const) {
    it(`IPv${w === 1 ? 4 : 6}: every field agrees with a model through insert, update, expiry, delete and slot reuse`, () => {
      const words = (x: number) => (w === 1 ? [x] : [0x20010db8, 0, x, x ^ 0x5a5a]);
      fc.assert(
        fc.property(fc.array(arbHotOp, { maxLength: 200 }), (ops) => {
          const t = new ConnTable(w, 16);
          const wheel = new TimerWheel(t, 0);
          const model = new Map<number, Hot>();
          let now = 0;
          const check = () => {
            assert.equal(t.count, model.size);
            for (const [i, h] of model) {
              const m = h.key;
              assert.ok(t.used(i));
              assert.equal(t.flagsOf(i) & 7, h.flags);
              assert.equal(t.destOf(i), h.dest);
              assert.equal(t.stateOf(i), h.state);
              assert.equal(t.dportOf(i), m.dport);
              assert.equal(t.protoOf(i), m.proto);
              assert.equal(t.cportOf(i), m.cport);
              assert.equal(t.vportOf(i), m.vport);
              assert.deepEqual(
                Array.from({ length: w }, (_, k) => t.daddrOf(i, k)),
                words(m.d).map((x) => x >>> 0),
              );
              assert.equal(t.timeoutOf(i), h.timeout);
              assert.equal(t.inPktsOf(i), h.inPkts);
              assert.equal(t.expiresOf(i), h.expires);
              assert.equal(t.lookupIn(m.proto, words(m.c), 0, m.cport, words(m.v), 0, m.vport, false), i);
            }
          };
          for (const o of ops) {
            if (o.op === 'insert') {
              const m = o.conn;
              if ([...model.values()].some((h) => keyIn(h.key) === keyIn(m))) continue;
              const i = t.alloc();
              // A reused slot starts clean: nothing of its previous conn shows through.
              assert.equal(t.destOf(i), -1);
              assert.equal(t.stateOf(i), 0);
              assert.equal(t.inPktsOf(i), 0);
              assert.equal(t.filedOf(i), UNFILED);
              t.setKey(i, m.proto, words(m.c), m.cport, words(m.v), m.vport, false);
              t.setDaddr(i, words(m.d));
              t.setDport(i, m.dport);
              t.setFlags(i, t.flagsOf(i) | m.fwd);
              t.setDest(i, o.dest);
              t.setTimeoutTicks(i, o.at);
              t.hash(i, false);
              wheel.arm(i, now + o.at);
              model.set(i, { key: { ...m }, flags: m.fwd, dest: o.dest, state: 0, timeout: o.at, inPkts: 0, expires: now + o.at });
            } else if (o.op === 'update') {
              if (model.size === 0) continue;
              const i = [...model.keys()][o.pick % model.size]!;
              const h = model.get(i)!;
              t.setState(i, o.state);
              t.setDest(i, o.dest);
              t.setDport(i, o.dport);
              t.setTimeoutTicks(i, o.timeout);
              t.setInPkts(i, t.inPktsOf(i) + 1);
              wheel.arm(i, now + o.timeout);
              Object.assign(h, { state: o.state, dest: o.dest, timeout: o.timeout, inPkts: h.inPkts + 1, expires: now + o.timeout });
              h.key.dport = o.dport;
            } else if (o.op === 'delete') {
              if (model.size === 0) continue;
              const i = [...model.keys()][o.pick % model.size]!;
              wheel.unfile(i);
              t.unhash(i);
              t.free(i);
              model.delete(i);
            } else {
              now += o.by;
              wheel.advance(now, (i) => {
                assert.ok(model.get(i)!.expires <= now, 'expired on time');
                t.unhash(i);
                t.free(i);
                model.delete(i);
              });
              for (const h of model.values()) assert.ok(h.expires > now, 'nothing due is left');
            }
            check();
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});

describe('connection table: warm (prefetch)', () => {
  it('touches without changing anything, whatever the hashes: hits, misses, FULLNAT entries, the index end', () => {
    const t = new ConnTable(1, 16);
    const conns: Model[] = [];
    for (let k = 0; k < 12; k++) {
      const m = {
        proto: 6,
        c: 10 + k,
        cport: 1000 + k,
        v: 100,
        vport: 80,
        d: 200,
        dport: 80,
        fwd: k % 3 === 0 ? 5 : 0,
        l: 50,
        lport: 5000 + k,
      };
      insert(t, m);
      conns.push(m);
    }
    const before = t.hot.slice();
    const h = new Int32Array(64);
    let n = 0;
    for (const m of conns) {
      h[n++] = connHash4(m.proto, m.c, m.cport);
      h[n++] = connHash4(m.proto, m.l, m.lport);
    }
    // Misses, and hashes whose home slot is the index's last (the next slot wraps to 0).
    for (let k = 0; n < h.length; k++) h[n++] = k % 2 === 0 ? connHash4(17, k, k) : -1;
    // Batches whose length is not a multiple of the four keys warmed at a time, then all of it.
    t.warm(h.slice(), 63);
    t.warm(h.slice(), 3);
    t.warm(h, n);
    assert.deepEqual(t.hot, before);
    // An empty table: every slot EMPTY, no record in use.
    const empty = new ConnTable(1, 16);
    const e = h.slice();
    empty.warm(e, 7);
    assert.equal(empty.count, 0);
    for (const m of conns) assert.ok(t.lookupIn(m.proto, [m.c], 0, m.cport, [m.v], 0, m.vport, false) >= 0);
  });
});
