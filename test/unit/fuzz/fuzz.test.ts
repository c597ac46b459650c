// Short runs of the fuzzers (fixed seeds, a few seconds each); `npm run fuzz -- TARGET` runs
// them long. The frame fuzzer's short run is test/unit/packet/fuzz.test.ts.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runSyncFuzz } from './sync.js';

it('sync: 10 000 hostile datagrams into a backup: no exception, every datagram and entry counted, the conn table under its bound and valid, empty after every timeout', async () => {
  const r = await runSyncFuzz(10_000, 11, 1500);
  assert.ok(r.created > 1000, `only ${r.created} conns created`);
  assert.ok(r.refused > 0, 'the bound was never reached');
  for (const k of ['bad_size', 'truncated', 'bad_option', 'bad_proto', 'bad_state', 'bad_fwd'])
    assert.ok((r.drops[k] ?? 0) > 0, `no ${k} drop`);
});
