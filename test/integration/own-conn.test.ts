// Issue #14: the director's own connection to a masq dest's address and port (a health check,
// an operator's curl) gets its answer while that address is a dest. The packet engine's kernel
// filter takes what comes from RIP:rport, so it must leave what is addressed to the director
// itself to the kernel, as ip_vs_out accepts a packet that matches no conn. Checked on both
// families with a real HTTP server in a lab namespace, on the packet and the proxy engine;
// the NAT service itself keeps working on the packet engine meanwhile.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { labDown, labRun, labUp, nsName } from '../../src/lab/lab.js';
import { findLab, type LabDef } from '../../src/lab/labs.js';
import { ensureBuilt, inNs, requireNetns } from './harness.js';

const skip = requireNetns();

/** The first masq dest of the lab's rules, as a URL. */
function destUrl(lab: LabDef): string {
  const add = lab.director.commands.find((c) => c[0] === '-a' && c.includes('-m'))!;
  return `http://${add[add.indexOf('-r') + 1]}/`;
}

describe("the director's own conns to a masq dest (#14)", { skip }, () => {
  const used = new Set<LabDef>();
  after(async () => {
    for (const lab of used) await labDown(lab);
  });

  for (const name of ['seed002-nat', 'nat6']) {
    for (const engine of ['packet', 'proxy']) {
      it(`${name}, ${engine} engine: a TCP conn from the director to a masq dest's RIP:port is answered`, async () => {
        ensureBuilt();
        const lab = findLab(name)!;
        used.add(lab);
        const env = { TSVS_ENGINE: engine };
        await labUp(lab, () => {}, env);
        const url = destUrl(lab);
        const r = await inNs(
          nsName(lab, lab.director.host),
          ['curl', '-sS', '-g', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', url],
          {
            timeoutMs: 15_000,
          },
        );
        assert.equal(r.code, 0, `curl ${url} from the director: ${r.stderr}`);
        assert.equal(r.stdout.trim(), '200', `curl ${url} from the director`);
        if (engine === 'packet') {
          const run = await labRun(lab, 6, env);
          assert.equal(run.failures, 0, run.stats);
        }
        await labDown(lab);
        used.delete(lab);
      });
    }
  }
});
