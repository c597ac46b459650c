// One turn of the data path over every interface: walk each ready receive block, transmit what
// it produced, hand the block back. Frames leave straight from the ring, so the order is the
// contract: a block is released only after its queued descriptors were sent, or, when a frame
// threw, after they were discarded (sending them later would read memory the kernel refills).

import type { Iface } from './iface.js';

/** Blocks walked per turn at most, so that timers and the control socket get their turn. */
export const MAX_BLOCKS_PER_TURN = 64;

export interface TurnHooks {
  /** Walks `i`'s ready block through the forwarder. */
  walk(i: Iface): void;
  /** Sends what every interface has queued (and counts what the kernel refused). */
  flush(): void;
  /** After an exception: `n` queued frames were discarded unsent. */
  discarded(n: number): void;
}

/** Runs one turn; returns the number of blocks walked. Rethrows what a frame threw, after cleanup. */
export function turn(ifaces: readonly Iface[], h: TurnHooks): number {
  let work = 0;
  try {
    for (let round = 0; round < MAX_BLOCKS_PER_TURN; round++) {
      let n = 0;
      for (const i of ifaces) {
        if (!i.rx.ready()) continue;
        h.walk(i);
        h.flush();
        i.rx.release();
        n++;
      }
      if (n === 0) break;
      work += n;
    }
  } catch (e) {
    // Any interface may hold descriptors into the block being walked (frames are sent out of
    // other interfaces than they came in on): drop every queue before any block goes back.
    let lost = 0;
    for (const i of ifaces) lost += i.tx.discard();
    if (lost > 0) h.discarded(lost);
    for (const i of ifaces) if (i.rx.ready()) i.rx.release();
    throw e;
  }
  return work;
}
