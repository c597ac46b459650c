// A short run of the packet path fuzzer (fuzz.ts); `npm run fuzz` (test/unit/fuzz/main.ts) runs the long one.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runFuzz } from './fuzz.js';

it('the per-frame path survives 20 000 hostile frames: no exception, frames out valid, every taken frame sent or counted, no conn leaks', async () => {
  const r = await runFuzz(20_000, 7);
  assert.equal(r.conns, 0);
  assert.ok(r.sent > 1000, `only ${r.sent} frames out`);
});
