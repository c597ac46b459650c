// The packet engine's nftables table dies with the daemon (nft-owner.ts): a process holding an
// owned table through libnftables (its own netlink socket) or through the `nft -i` fallback is
// killed with SIGKILL, and the kernel removes the table at once. While it lives, nobody else
// can change the table, and a change that nft rejects leaves it as it was.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Topology } from '../../src/lab/netns.js';
import { inNs, requireNetns } from './harness.js';

const skip = requireNetns();
const holder = fileURLToPath(new URL('./fixtures/nft-owner-holder.ts', import.meta.url));
const TABLE = 'tsvs_owner_test';
/** How long the kernel may take to drop the table after its owner died (it is immediate; the
 * child fallback adds the child's exit on EOF). */
const GONE_MS = 2000;

function readLines(p: ChildProcess, ms: number): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const got: Record<string, string> = {};
    const t = setTimeout(() => reject(new Error(`holder said nothing within ${ms} ms (${JSON.stringify(got)})`)), ms);
    createInterface({ input: p.stdout! }).on('line', (l) => {
      const sp = l.indexOf(' ');
      got[l.slice(0, sp)] = l.slice(sp + 1);
      if (l.startsWith('ready ')) {
        clearTimeout(t);
        resolve(got);
      }
    });
    p.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
}

for (const mode of ['libnftables', 'nft -i'] as const) {
  describe(`owned nftables table (${mode})`, { skip }, () => {
    const topo = new Topology();
    let ns = '';
    before(async () => {
      ns = await topo.netns('nftown');
    });
    after(() => topo.teardown());

    it('is the holder’s alone, survives a rejected change, and is gone when the holder is killed', async () => {
      const env = { ...process.env, ...(mode === 'nft -i' ? { TSVS_NFT_OWNER: 'child' } : {}) };
      const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', holder, TABLE], {
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        const said = await readLines(p, 30_000);
        assert.equal(said.ready, mode);
        assert.match(JSON.parse(said.bad!) as string, /syntax error/, 'nft names the rejected change');
        const list = await inNs(ns, ['nft', 'list', 'table', 'netdev', TABLE]);
        assert.equal(list.code, 0, list.stderr);
        assert.match(list.stdout, /flags owner/);
        assert.match(list.stdout, /chain keep/, 'the rejected change left the table as it was');
        assert.match(list.stdout, mode === 'libnftables' ? /progname node/ : /progname nft/);
        const del = await inNs(ns, ['nft', 'delete', 'table', 'netdev', TABLE]);
        assert.notEqual(del.code, 0, 'another process cannot delete an owned table');
        assert.match(del.stderr, /Operation not permitted/);

        p.kill('SIGKILL');
        const t0 = Date.now();
        let tables = '';
        while (Date.now() - t0 < GONE_MS) {
          tables = (await inNs(ns, ['nft', 'list', 'tables'])).stdout;
          if (!tables.includes(TABLE)) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.ok(!tables.includes(TABLE), `the table outlived its owner by ${GONE_MS} ms: ${tables}`);
      } finally {
        p.kill('SIGKILL');
      }
    });
  });
}
