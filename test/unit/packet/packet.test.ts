// The generic packet tester: every case of fixtures.ts through the real per-frame path, in
// process, without root. An expected line is the described frame (describe.ts), or a regular
// expression's source where a value is chosen at run time (a FULLNAT local port, a GUE source port).
// Every case runs as the fixtures' small tables run, and with the forwarder's warming pass (its
// prefetch before each block, normally for large tables only) on every block, which must not
// change a byte; then both ways again through ports shaped as the AF_XDP path's SplitRx (two
// sources behind RxPair, each step's block on the socket side and the ring side in turn), whose
// peek must give the warming pass the block its walk then takes; and once more through the
// AF_XDP socket's own ring handling and transmit (XdpRx and XskTx over plain memory, the
// interfaces sharing one UMEM), where a frame received into the UMEM leaves from the out
// interface's TX ring with its checksum completed, and the rest through the packet socket.
// Those two queues flush one after the other, so that run compares a step's frames as a set.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DROP_REASONS } from '../../../src/wire/drops.js';
import { Director, MemSplit, XskSplit } from './director.js';
import { CASES } from './fixtures.js';

function matches(line: string, want: string): boolean {
  if (line === want) return true;
  if (!want.startsWith('^')) return false;
  return new RegExp(want).test(line);
}

const PORTS = [
  { split: false, xsk: false, warmAlways: false, name: '' },
  { split: false, xsk: false, warmAlways: true, name: ', warming every block' },
  { split: true, xsk: false, warmAlways: false, name: ', through a SplitRx-shaped port' },
  { split: true, xsk: false, warmAlways: true, name: ', warming every block, through a SplitRx-shaped port' },
  { split: false, xsk: true, warmAlways: false, name: ', through XdpRx and XskTx over plain memory' },
];

/** Unordered comparison for the XskTx run: each wanted line matches a distinct frame. */
function sameSet(out: readonly string[], want: readonly string[]): boolean {
  const left = [...out];
  for (const w of want) {
    const i = left.findIndex((l) => matches(l, w));
    if (i < 0) return false;
    left.splice(i, 1);
  }
  return left.length === 0;
}

for (const { split, xsk, warmAlways, name: suffix } of PORTS) {
  {
    const name = `packet path fixtures${suffix}`;
    describe(name, () => {
      let peeks = 0;
      let walks = [0, 0];
      let fromTxRing = 0;
      for (const c of CASES) {
        it(c.description, async () => {
          const d = new Director({ ...c.director, split, xsk });
          if (warmAlways) d.fwd.warmMinConns = 0;
          await d.rules(c.rules);
          let now = 0;
          c.steps.forEach((s, k) => {
            const before = Float64Array.from(d.fwd.drops.n);
            if (s.at !== undefined) now = s.at;
            d.fwd.now = now;
            if (s.in) d.receive(s.on ?? 'eth0', s.in, s.vnet);
            else d.housekeep(now);
            const out = d.sent();
            const where = `step ${k + 1}`;
            assert.equal(
              out.length,
              s.out.length,
              `${where}: frames out\n  got:  ${out.join('\n        ')}\n  want: ${s.out.join('\n        ')}`,
            );
            if (xsk)
              assert.ok(
                sameSet(out, s.out),
                `${where}: frames out\n  got:  ${out.join('\n        ')}\n  want: ${s.out.join('\n        ')}`,
              );
            else s.out.forEach((w, i) => assert.ok(matches(out[i]!, w), `${where}, frame ${i + 1}:\n  got:  ${out[i]}\n  want: ${w}`));
            const moved: Record<string, number> = {};
            DROP_REASONS.forEach((r, i) => {
              if (d.fwd.drops.n[i] !== before[i]) moved[r] = d.fwd.drops.n[i]! - before[i]!;
            });
            assert.deepEqual(moved, s.drop ? { [s.drop]: s.drops ?? 1 } : {}, `${where}: drop counters`);
          });
          for (const [, q] of d.ifaces) {
            assert.equal(q.tx.stale, 0, 'frames sent from a released block');
            if (q.xtx) fromTxRing += q.xtx.sent;
            if (q.rx instanceof XskSplit) {
              // Every frame lent to a TX ring came back: the UMEM's frames are all home.
              d.housekeep(d.fwd.now);
              d.sentRaw();
              for (const [, r] of d.ifaces) r.iface.tx.flush();
              assert.equal(
                q.rx.xsk.umem.lentVia.reduce((a, v) => a + (v ? 1 : 0), 0),
                0,
                'frames still lent after the completions',
              );
            }
            if (q.rx instanceof MemSplit) {
              peeks += q.rx.xsk.peeks + q.rx.ring.peeks;
              walks = [walks[0]! + q.rx.xsk.walks, walks[1]! + q.rx.ring.walks];
              // Every block walked was peeked first when warming is forced on, and none otherwise.
              if (warmAlways) assert.deepEqual([q.rx.xsk.peeks, q.rx.ring.peeks], [q.rx.xsk.walks, q.rx.ring.walks]);
              else assert.equal(q.rx.xsk.peeks + q.rx.ring.peeks, 0);
            }
          }
        });
      }
      if (xsk) {
        it('frames left from the TX ring', () => {
          assert.ok(fromTxRing > 0, `frames sent from the AF_XDP TX ring: ${fromTxRing}`);
        });
      }
      if (split) {
        it('both sides were walked, and peeked when warming', () => {
          assert.ok(walks[0]! > 0 && walks[1]! > 0, `blocks walked: socket side ${walks[0]}, ring side ${walks[1]}`);
          if (warmAlways) assert.equal(peeks, walks[0]! + walks[1]!);
        });
      }
    });
  }
}
