// SplitRx's choice between the AF_XDP socket and the packet ring (RxPair, path.ts), over two fake
// sources: both busy, they take turns; peek and the walk after it take the same source's block;
// release hands back the block that was walked.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FrameHandler } from '../../../../src/engine/packet/rxring.js';
import { RxPair, type RxSource } from '../../../../src/engine/packet/xdp/path.js';

/** A source of numbered blocks: frame i of block b has off b * 100 + i and len 60 + i. */
class Fake implements RxSource {
  readonly buf = new Uint8Array(1);
  /** Blocks waiting, as frame counts. */
  readonly blocks: number[] = [];
  /** Blocks handed out so far (the number of the current one). */
  done = 0;
  walks = 0;
  peeks = 0;
  releases = 0;
  /** Set by walk, cleared by release: the current block was walked. */
  walked = false;

  constructor(
    readonly name: string,
    readonly addr: number,
  ) {}

  ready(): boolean {
    return this.blocks.length > 0;
  }

  private each(h: FrameHandler): number {
    const n = this.blocks[0] ?? 0;
    for (let i = 0; i < n; i++) h(this.buf, this.done * 100 + i, 60 + i, -1, this.addr);
    return n;
  }

  walk(h: FrameHandler): number {
    this.walks++;
    this.walked = this.blocks.length > 0;
    return this.each(h);
  }

  peek(h: FrameHandler): number {
    this.peeks++;
    return this.each(h);
  }

  release(): void {
    this.releases++;
    if (!this.walked) return;
    this.walked = false;
    this.blocks.shift();
    this.done++;
  }
}

const XSK_ADDR = 1000;
const RING_ADDR = 2000;

function pair(): { p: RxPair<Fake, Fake>; x: Fake; r: Fake } {
  const x = new Fake('xsk', XSK_ADDR);
  const r = new Fake('ring', RING_ADDR);
  return { p: new RxPair(x, r), x, r };
}

/** What a handler saw: [off, len, source's addr (passed as the tci)] per frame. */
function collect(p: RxPair<Fake, Fake>, how: 'walk' | 'peek'): number[][] {
  const out: number[][] = [];
  const n = p[how]((_b, off, len, _v, src) => out.push([off, len, src]));
  assert.equal(n, out.length);
  return out;
}

/** One turn as the engine runs it (turn.ts, forward.ts): peek (the warming pass), walk, release; returns the source's addr. */
function turn(p: RxPair<Fake, Fake>, warm = true): number {
  assert.ok(p.ready());
  const peeked = warm ? collect(p, 'peek') : undefined;
  const walked = collect(p, 'walk');
  if (peeked) assert.deepEqual(walked, peeked, 'the walk takes the block the peek saw');
  const addr = p.addr;
  assert.equal(walked[0]?.[2], addr, "addr is the walked source's");
  p.release();
  return addr;
}

describe('RxPair (SplitRx: the AF_XDP socket and the packet ring behind one port)', () => {
  it('nothing ready: not ready, peek and walk hand nothing', () => {
    const { p, x, r } = pair();
    assert.equal(p.ready(), false);
    assert.deepEqual(collect(p, 'peek'), []);
    assert.deepEqual(collect(p, 'walk'), []);
    assert.equal(x.walks + r.walks, 0);
  });

  for (const warm of [false, true]) {
    it(`both busy, they take turns, the socket first${warm ? ', with a peek before each walk' : ''}`, () => {
      const { p, x, r } = pair();
      x.blocks.push(...new Array(10).fill(3));
      r.blocks.push(...new Array(10).fill(2));
      const order: number[] = [];
      for (let i = 0; i < 20; i++) order.push(turn(p, warm));
      assert.deepEqual(order, new Array(10).fill([XSK_ADDR, RING_ADDR]).flat());
      assert.equal(x.done, 10);
      assert.equal(r.done, 10);
      assert.equal(p.ready(), false);
    });
  }

  it('a busy socket never starves the ring: a block arriving on the ring is taken next', () => {
    const { p, x, r } = pair();
    x.blocks.push(...new Array(100).fill(4));
    for (let i = 0; i < 5; i++) assert.equal(turn(p), XSK_ADDR);
    r.blocks.push(1);
    assert.equal(turn(p), RING_ADDR);
    assert.equal(turn(p), XSK_ADDR);
    // And the other way round: a busy ring leaves the socket its turn.
    const q = pair();
    q.r.blocks.push(...new Array(100).fill(4));
    for (let i = 0; i < 5; i++) assert.equal(turn(q.p), RING_ADDR);
    q.x.blocks.push(1);
    assert.equal(turn(q.p), XSK_ADDR);
    assert.equal(turn(q.p), RING_ADDR);
  });

  it('peek chooses the source; a block arriving on the other before the walk does not change it', () => {
    const { p, x, r } = pair();
    r.blocks.push(2, 2);
    assert.equal(turn(p), RING_ADDR);
    // Only the ring ready: peek takes its block. Without the choice kept, the walk would now
    // prefer the socket (the ring went last) and walk a block nobody peeked.
    const peeked = collect(p, 'peek');
    x.blocks.push(5);
    assert.deepEqual(collect(p, 'peek'), peeked, 'peek is idempotent');
    assert.equal(x.peeks, 0);
    assert.deepEqual(collect(p, 'walk'), peeked);
    assert.equal(p.addr, RING_ADDR);
    p.release();
    assert.equal(r.done, 2);
    assert.equal(x.releases, 0, 'release hands back the walked source only');
    assert.equal(turn(p), XSK_ADDR);
  });

  it('peek counts nothing and leaves the block to walk', () => {
    const { p, x } = pair();
    x.blocks.push(3);
    collect(p, 'peek');
    collect(p, 'peek');
    assert.equal(x.walks, 0);
    assert.equal(x.done, 0);
    assert.equal(p.ready(), true);
    assert.equal(collect(p, 'walk').length, 3);
  });

  it("release hands back the block walked, not the other source's", () => {
    const { p, x, r } = pair();
    x.blocks.push(1);
    r.blocks.push(1);
    collect(p, 'walk');
    assert.equal(p.addr, XSK_ADDR);
    p.release();
    assert.deepEqual([x.releases, r.releases, x.done, r.done], [1, 0, 1, 0]);
    collect(p, 'walk');
    assert.equal(p.addr, RING_ADDR);
    p.release();
    assert.deepEqual([x.releases, r.releases, x.done, r.done], [1, 1, 1, 1]);
  });

  it('a release after a peek without a walk (a turn that threw) forgets the choice', () => {
    const { p, x, r } = pair();
    r.blocks.push(1);
    assert.equal(turn(p), RING_ADDR);
    r.blocks.push(1);
    collect(p, 'peek');
    p.release();
    assert.equal(r.done, 1, 'nothing walked, nothing handed back');
    x.blocks.push(1);
    // Chosen afresh: the ring went last, so the socket comes first.
    assert.equal(turn(p), XSK_ADDR);
    assert.equal(turn(p), RING_ADDR);
  });
});
