// The conformance tables through the real tsvsadm client against a real director in a
// namespace the test creates (cases that need the in-process name tables are left to the
// in-process runner). Each case starts from an empty table, default timeouts, no daemons.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Topology } from '../../src/lab/netns.js';
import { CASES } from '../conformance/cases.js';
import { ALL_CASES } from '../conformance/cases/index.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, freshRunDir, inNs, requireNetns, TSVS } from './harness.js';

const skip = requireNetns();
const RESET = '-C\n--set 900 120 300\n--stop-daemon master\n--stop-daemon backup\n';

describe('ipvsadm conformance through the real client in a namespace', { skip }, () => {
  const topo = new Topology();
  let ns = '';
  const env = { TSVS_RUN_DIR: freshRunDir() };
  // Invoked as `ipvsadm` (a symlink made by `tsvs shim install`), as the messages name argv[0].
  const shim = mkdtempSync(join(tmpdir(), 'tsvs-shim-'));
  const adm = (argv: string[], input?: string) =>
    inNs(ns, [process.execPath, join(shim, 'ipvsadm'), ...argv], { env, input });
  before(async () => {
    ensureBuilt();
    ns = await topo.netns('conf');
    const r = await inNs(null, [TSVS, 'shim', 'install', shim]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => topo.teardown());

  for (const c of CASES.filter((x) => !x.names)) {
    it(`${c.spec} ${c.name}`, async () => {
      await adm(['-R'], RESET);
      for (const s of c.setup ?? []) {
        const r = await adm(s);
        assert.deepEqual([r.stderr, r.code], ['', 0], `setup ${s.join(' ')}`);
      }
      const r = await adm(c.argv, c.stdin ?? '');
      if (c.stdout !== undefined) assert.equal(r.stdout, c.stdout, 'stdout');
      if (c.stderr !== undefined) assert.equal(r.stderr, c.stderr, 'stderr');
      assert.equal(r.code, c.code, 'exit status');
    });
  }

  // The section tables, where a case needs nothing beyond an empty director.
  for (const c of ALL_CASES.filter((x) => !x.needs?.length && !x.fixture && (x.argv0 ?? 'ipvsadm') === 'ipvsadm')) {
    it(`${c.spec} ${c.description}`, async () => {
      await adm(['-R'], RESET);
      for (const g of c.given ?? []) {
        const r = await adm([...g]);
        assert.deepEqual([r.stderr, r.code], ['', 0], `given ${g.join(' ')}`);
      }
      const r = await adm([...c.argv], c.stdin ?? '');
      assert.deepEqual([r.stdout, r.stderr, r.code], [c.stdout, c.stderr, c.code]);
      if (c.after) assert.equal((await adm([...c.after.argv])).stdout, c.after.stdout, 'after');
      if (c.saved !== undefined) assert.equal((await adm(['-S', '-n'])).stdout, c.saved, '-S -n after');
    });
  }
});
