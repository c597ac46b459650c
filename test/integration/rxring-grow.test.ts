// The packet engine's receive ring starts small and grows under load (rxring.ts, "Ring growth" in
// docs/packet-engine.md): on a veth between two namespaces this test creates, numbered frames
// from the peer must all arrive exactly once across the handover, with no kernel drop, and an
// idle ring must keep its small mapping. Needs root and iproute2; CI must not skip it.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RX_BLOCK_NR, RX_BLOCK_SIZE, RX_SMALL_BLOCK_NR, RX_SMALL_BLOCK_SIZE } from '../../src/engine/packet/constants.js';
import { netnsUnavailable, Topology } from '../../src/lab/netns.js';

const why = netnsUnavailable();
if (why && process.env.CI === 'true') throw new Error(`CI must run the namespace tests: ${why}`);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const node = (script: string, ...args: string[]) => [process.execPath, '--import', 'tsx', fixture(script), ...args];

/** Frames sent: 2 s of traffic at FRAMES_PER_MS, far past the growth trigger (RX_SMALL_BLOCK_NR blocks in 128 ms). */
const COUNT = 20_000;
const FRAMES_PER_MS = 10;

interface Result {
  received: number;
  distinct: number;
  dups: number;
  missing: number[];
  drops: number;
  grown: boolean;
  state: string;
  blocks: number;
  growth: string;
  warnings: string[];
  size: number;
}

function lines(child: ChildProcess): AsyncGenerator<string> {
  let buf = '';
  const queue: string[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    queue.push(...parts);
    wake?.();
  });
  child.on('exit', () => {
    ended = true;
    wake?.();
  });
  return (async function* () {
    for (;;) {
      if (queue.length > 0) yield queue.shift()!;
      else if (ended) return;
      else await new Promise<void>((r) => (wake = r));
    }
  })();
}

async function next(from: AsyncGenerator<string>, timeoutMs: number): Promise<string> {
  let t: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    from.next(),
    new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`no output in ${timeoutMs} ms`)), timeoutMs))),
  ]);
  clearTimeout(t);
  if (r.done) throw new Error('the receiver exited early');
  return r.value;
}

describe('RxRing growth', { skip: why ?? false }, () => {
  const topo = new Topology();
  let a = '';
  let b = '';
  let bMac = '';
  before(async () => {
    a = await topo.netns('a');
    b = await topo.netns('b');
    await topo.link({ ns: a, dev: 'ga' }, { ns: b, dev: 'gb' });
    bMac = await topo.mac(b, 'gb');
  });
  after(() => topo.teardown());

  it('an idle ring keeps its small mapping', async () => {
    // Nothing is sent: the receiver reports after a second without a frame of ours.
    const rx = lines(topo.spawn(b, node('grow-rx.ts', 'gb', '1', '1000')));
    const ready = JSON.parse((await next(rx, 15_000)).slice('ready '.length)) as { blocks: number; size: number };
    assert.equal(ready.blocks, RX_SMALL_BLOCK_NR);
    assert.equal(ready.size, RX_SMALL_BLOCK_NR * RX_SMALL_BLOCK_SIZE, 'the socket mapping is the small ring');
    const got = JSON.parse(await next(rx, 15_000)) as Result;
    assert.equal(got.grown, false, JSON.stringify(got));
    assert.equal(got.state, 'small');
    assert.equal(got.size, RX_SMALL_BLOCK_NR * RX_SMALL_BLOCK_SIZE);
  });

  it('an explicit fanout group keeps the full ring from the start, and no growth', async () => {
    const rx = lines(topo.spawn(b, node('grow-rx.ts', 'gb', '1', '300', '4242')));
    const ready = JSON.parse((await next(rx, 15_000)).slice('ready '.length)) as { blocks: number; state: string; size: number };
    assert.deepEqual(ready, { ...ready, blocks: RX_BLOCK_NR, state: 'fixed', size: RX_BLOCK_NR * RX_BLOCK_SIZE });
    const got = JSON.parse(await next(rx, 15_000)) as Result;
    assert.equal(got.state, 'fixed');
  });

  it(`grows under ${FRAMES_PER_MS}k frames/s and receives each of ${COUNT} frames exactly once`, async () => {
    const rx = lines(topo.spawn(b, node('grow-rx.ts', 'gb', String(COUNT), '3000')));
    await next(rx, 15_000);
    const sent = await topo.exec(a, node('seq-send.ts', 'ga', bMac, String(COUNT), String(FRAMES_PER_MS)));
    assert.deepEqual(JSON.parse(sent.stdout), { sent: COUNT, dropped: 0 });
    const got = JSON.parse(await next(rx, 30_000)) as Result;
    const show = JSON.stringify({ ...got, missing: got.missing.slice(0, 10) });
    assert.equal(got.grown, true, `the ring grew: ${show}`);
    assert.equal(got.blocks, RX_BLOCK_NR);
    assert.equal(got.dups, 0, `no frame twice: ${show}`);
    assert.equal(got.distinct, COUNT, `every frame once: ${show}`);
    assert.equal(got.drops, 0, `the kernel dropped none: ${show}`);
    assert.deepEqual(got.warnings, []);
    assert.equal(got.size, RX_BLOCK_NR * RX_BLOCK_SIZE, 'the small ring is unmapped and closed');
    assert.match(got.growth, new RegExp(`^grew from ${RX_SMALL_BLOCK_NR} to ${RX_BLOCK_NR} blocks`));
  });
});
