// Issue #18: an exception in the frame loop must not leave queued transmit descriptors pointing
// into ring blocks that were handed back. The in-memory port overwrites a released block and
// counts a frame sent from one (`stale`), so the order of flush, discard and release is checked.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RELEASED_FILL } from '../../../src/engine/packet/memport.js';
import { turn } from '../../../src/engine/packet/turn.js';
import { DROP } from '../../../src/wire/drops.js';
import { frame4, ip } from '../wire/build.js';
import { Director, mac } from './director.js';

const NAT = ['-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.1.0.11:80 -m'];
const syn = (sport: number): Uint8Array =>
  frame4({ saddr: ip('10.9.0.9'), daddr: ip('10.0.0.100'), sport, dport: 80, flags: 0x02, dmac: mac('eth0'), smac: mac('gw') });

async function setup(): Promise<{ d: Director; ifaces: ReturnType<Director['ifaces']['get']>[] }> {
  const d = new Director();
  await d.rules(NAT);
  return { d, ifaces: [...d.ifaces.values()] };
}

describe('the data path turn', () => {
  it('sends frames straight from the block, then hands the block back', async () => {
    const { d, ifaces } = await setup();
    d.ifaces.get('eth0')!.rx.push([syn(40000), syn(40001)]);
    const flushes: number[] = [];
    const work = turn(
      ifaces.map((p) => p!.iface),
      {
        walk: (i) => d.fwd.walk(i),
        flush: () => flushes.push(ifaces.reduce((n, p) => n + p!.tx.flush(), 0)),
        discarded: () => assert.fail('nothing to discard'),
      },
    );
    assert.equal(work, 1);
    assert.deepEqual(flushes, [2]);
    const tx = d.ifaces.get('eth1')!.tx;
    assert.equal(tx.stale, 0);
    assert.equal(d.sent().length, 2);
  });

  it('after an exception, queued frames are discarded (counted) before the block goes back: none is sent from released memory', async () => {
    const { d, ifaces } = await setup();
    d.ifaces.get('eth0')!.rx.push([syn(40000), syn(40001)]);
    const flushAll = (): void => {
      for (const p of ifaces) p!.tx.flush();
    };
    assert.throws(
      () =>
        turn(
          ifaces.map((p) => p!.iface),
          {
            // Both frames are forwarded (queued from the ring), then a bug throws before the flush.
            walk: (i) => {
              d.fwd.walk(i);
              throw new Error('a bug in the frame loop');
            },
            flush: flushAll,
            discarded: (n) => d.fwd.drops.add(DROP.data_path_error, n),
          },
        ),
      /a bug in the frame loop/,
    );
    // The block went back to the kernel, which refills it.
    assert.equal(d.ifaces.get('eth0')!.rx.ready(), false);
    // The next turn flushes whatever is still queued: nothing may come from the released block.
    flushAll();
    const tx = d.ifaces.get('eth1')!.tx;
    assert.equal(tx.stale, 0, 'frames sent from a released ring block');
    for (const f of tx.sent) assert.notEqual(f[20], RELEASED_FILL);
    assert.equal(d.fwd.drops.toRecord().data_path_error, 2);
  });
});
