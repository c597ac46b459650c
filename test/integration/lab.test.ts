// The seeds' NAT labs built by `tsvs lab`, served by the proxy engine (the packet engine,
// which the DR labs need, is not built yet): 30 requests through the VIP all succeed, rr
// alternates, and the director's counters match. Labs always clean up, even on failure.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { labDown, labRun, labUp } from '../../src/lab/lab.js';
import { findLab } from '../../src/lab/labs.js';
import { ensureBuilt, requireNetns } from './harness.js';

const skip = requireNetns();
const env = { TSVS_ENGINE: 'proxy' };

describe('tsvs lab (NAT labs on the proxy engine)', { skip }, () => {
  const built: string[] = [];
  after(async () => {
    for (const name of built) await labDown(findLab(name)!);
  });

  for (const name of ['seed002-nat', 'seed003-nat']) {
    it(`${name}: 30 requests, rr alternation, counters`, async () => {
      ensureBuilt();
      const lab = findLab(name)!;
      built.push(name);
      await labUp(lab, () => {}, env);
      const r = await labRun(lab, 30, env);
      assert.equal(r.failures, 0);
      const names = lab.realServers.map((s) => s.host);
      assert.deepEqual(
        Object.entries(r.counts).sort(),
        names.map((n) => [n, 15]),
      );
      const svcLine = r.stats.split('\n').find((l) => l.startsWith('TCP'))!;
      assert.equal(svcLine.split(/\s+/)[2], '30', `Conns in: ${svcLine}`);
      await labDown(lab);
    });
  }
});
