// The packet engine's warm-up (warmup.ts): its synthetic frames must take the real forwarding
// path all the way, or they compile nothing useful. A change to the forwarder that drops them
// (a checksum check, a new filter) fails here rather than quietly leaving a cold start.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWarmup, WARMUP_FRAMES, warmUp } from '../../../src/engine/packet/warmup.js';

describe('packet engine warm-up', () => {
  it('forwards every synthetic frame: NAT and DR, UDP and TCP, requests and NAT replies', () => {
    const w = warmUp(true);
    assert.equal(w.frames, WARMUP_FRAMES);
    assert.equal(w.forwarded, w.frames, 'every frame forwarded, none dropped or left to the kernel');
    // Three of the ten kinds of frame are NAT replies.
    assert.ok(Math.abs(w.forwardedOut - (w.frames * 3) / 10) < 200, `replies: ${w.forwardedOut}`);
    // One conn per flow (512) and service (NAT and DR, UDP and TCP): new conns and established ones.
    assert.equal(w.conns, 4 * 512);
  });

  it('works without a virtio_net_hdr in front of the frames too', () => {
    const w = warmUp(false, 3000);
    assert.equal(w.forwarded, 3000);
  });

  it('TSVS_WARMUP takes on and off, and says what else is wrong', () => {
    assert.equal(parseWarmup(undefined), false);
    assert.equal(parseWarmup(''), false);
    assert.equal(parseWarmup('on'), true);
    assert.equal(parseWarmup('off'), false);
    assert.throws(() => parseWarmup('no'), /TSVS_WARMUP no: use on or off/);
  });
});
