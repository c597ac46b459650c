// Short runs of the fuzzers (fixed seeds, a few seconds each); `npm run fuzz -- TARGET` runs
// them long. The frame fuzzer's short run is test/unit/packet/fuzz.test.ts.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runControlFuzz } from './control.js';
import { runHttpFuzz } from './http.js';
import { runSyncFuzz } from './sync.js';
import { runVrrpFuzz } from './vrrp.js';

it('sync: 10 000 hostile datagrams into a backup: no exception, every datagram and entry counted, the conn table under its bound and valid, empty after every timeout', async () => {
  const r = await runSyncFuzz(10_000, 11, 1500);
  assert.ok(r.created > 1000, `only ${r.created} conns created`);
  assert.ok(r.refused > 0, 'the bound was never reached');
  for (const k of ['bad_size', 'truncated', 'bad_option', 'bad_proto', 'bad_state', 'bad_fwd'])
    assert.ok((r.drops[k] ?? 0) > 0, `no ${k} drop`);
});

it('vrrp: 30 000 hostile adverts into four instances: no exception, every refusal named, refused adverts change no machine, every machine valid', async () => {
  const r = await runVrrpFuzz(30_000, 12);
  assert.ok(r.taken > 5000, `only ${r.taken} adverts taken`);
  assert.ok(r.transitions > 10, `only ${r.transitions} transitions`);
  for (const k of [
    'bad_ip_header',
    'not_vrrp',
    'bad_ttl',
    'bad_version',
    'bad_type',
    'bad_length',
    'bad_checksum',
    'unknown_vrid',
    'auth_mismatch',
  ])
    assert.ok((r.drops[k] ?? 0) > 0, `no ${k} drop`);
});

it('control: 400 hostile clients of a real control socket: each answered or closed with a named reason, failed commands leave -S unchanged, ping answered throughout', async () => {
  const r = await runControlFuzz(400, 13);
  assert.ok(r.answered > 100, `only ${r.answered} answers`);
  assert.ok(r.failedCommands > 20, `only ${r.failedCommands} failed commands`);
  for (const k of ['bad_frame', 'not_json', 'unknown_op', 'timeout', 'closed_early']) assert.ok((r.drops[k] ?? 0) > 0, `no ${k} drop`);
});

it('http: 150 hostile requests to the real endpoint: every 4xx and every unanswered close counted by reason, /metrics served throughout', async () => {
  const r = await runHttpFuzz(150, 14);
  assert.ok((r.statuses['400'] ?? 0) > 10 && (r.statuses['405'] ?? 0) > 0, JSON.stringify(r.statuses));
  assert.ok(r.served > 5, `only ${r.served} served`);
});
