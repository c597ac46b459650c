// The packet bench's zero-loss search (bench/packet-rate.ts) over a simulated lab: a director
// that loses frames above its capacity and a generator that cannot send above its ceiling.
// What matters is the verdict: a rate found below the peer only because the generator ran out
// must say so (generatorBound), not read as the director's limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateSearch, TRIAL_MS } from '../../../bench/packet-rate.js';

/** One trial: the generator sends min(pps, ceiling); the director forwards up to its capacity. */
function lab(capacity: number, ceiling: number, hiccups = new Set<number>()) {
  const trials: number[] = [];
  const send = (pps: number) => {
    trials.push(pps);
    const offered = Math.min(pps, ceiling);
    const sent = Math.round((offered * TRIAL_MS) / 1000);
    // A hiccup loses half of one trial at that rate, once (the retry then passes).
    const hiccup = hiccups.delete(pps);
    const got = hiccup ? sent / 2 : Math.round((Math.min(offered, capacity) * TRIAL_MS) / 1000);
    return Promise.resolve({ sent, got });
  };
  return { send, trials };
}

describe('packet bench: the zero-loss rate search', () => {
  it('a director slower than the generator: its capacity, loss-bound', async () => {
    const l = lab(300_000, 900_000);
    const s = new RateSearch(l.send);
    const pps = await s.run();
    assert.ok(pps <= 300_000 && pps > 280_000, `found ${pps}`);
    assert.equal(s.generatorBound, false);
  });

  it('a director faster than the generator: the ceiling, generator-bound', async () => {
    const l = lab(2_000_000, 500_000);
    const s = new RateSearch(l.send);
    const pps = await s.run();
    // A trial counts when the generator sent 97 % of its frames, so the ceiling / 0.97 can pass.
    assert.ok(pps <= 500_000 / 0.97 && pps > 470_000, `found ${pps}`);
    assert.equal(s.generatorBound, true);
    assert.ok(s.genShort > 500_000);
  });

  it('capacity just under the ceiling: loss decides, not the generator', async () => {
    // The search's last refusal is for loss at a rate the generator could still offer.
    const l = lab(480_000, 500_000);
    const s = new RateSearch(l.send);
    const pps = await s.run();
    assert.ok(pps <= 480_000, `found ${pps}`);
    assert.equal(s.generatorBound, false);
  });

  it('one lossy trial is retried, and the retry decides', async () => {
    const l = lab(2_000_000, 3_000_000, new Set([200_000]));
    const s = new RateSearch(l.send);
    await s.run();
    assert.equal(l.trials.filter((p) => p === 200_000).length, 2);
    assert.ok(l.trials.includes(400_000), 'the search went on past the retried rate');
  });
});
