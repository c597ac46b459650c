// The seeds' NAT labs built by `tsvs lab`, served by the proxy engine (the packet engine,
// which the DR labs need, is not built yet): 30 requests through the VIP all succeed, rr
// alternates, and the director's counters match. Labs always clean up, even on failure.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { labDown, labRun, labUp, nsName } from '../../src/lab/lab.js';
import { findLab } from '../../src/lab/labs.js';
import { ensureBuilt, inNs, requireNetns, TSVSADM } from './harness.js';

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
      // -c lists the 30 conns the engine fed into the core, closed and waiting to expire.
      const conns = await inNs(nsName(lab, lab.director.host), [process.execPath, TSVSADM, '-L', '-n', '-c'], { env });
      const rows = conns.stdout.split('\n').slice(2).filter(Boolean);
      assert.equal(rows.length, 30, conns.stdout);
      const vip = lab.client.url.replace(/^http:\/\/|\/$/g, '');
      for (const row of rows) assert.match(row, new RegExp(`^TCP \\d\\d:\\d\\d  TIME_WAIT   \\S+ +${vip.replace(/\./g, '\\.')}:80 `));
      await labDown(lab);
    });
  }
});
