// The conformance tables through the real tsvsadm client against a real director in a
// namespace the test creates: the second runner of test/conformance/harness.ts. Cases that need
// the in-process name tables, interfaces, fixtures or another program name are left to the
// in-process runner. Each case starts from an empty table, default timeouts, no daemons.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Topology } from '../../src/lab/netns.js';
import { ALL_CASES } from '../conformance/cases/index.js';
import { type AdmRunner, conformanceTests } from '../conformance/harness.js';
import { ensureBuilt, freshRunDir, inNs, requireNetns, TSVS } from './harness.js';

const skip = requireNetns();
const RESET = '-C\n--set 900 120 300\n--stop-daemon master\n--stop-daemon backup\n';

describe('ipvsadm conformance through the real client in a namespace', { skip }, () => {
  const topo = new Topology();
  let ns = '';
  const env = { TSVS_RUN_DIR: freshRunDir() };
  // Invoked as `ipvsadm` (a symlink made by `tsvs shim install`), as the messages name argv[0].
  const shim = mkdtempSync(join(tmpdir(), 'tsvs-shim-'));
  const runner: AdmRunner = {
    meets: [],
    // Stopping daemons that do not run says so on stderr: the reset's output is not checked.
    async reset() {
      await runner.run(['-R'], RESET);
    },
    run: (argv, stdin = '') => inNs(ns, [process.execPath, join(shim, 'ipvsadm'), ...argv], { env, input: stdin }),
  };
  before(async () => {
    ensureBuilt();
    ns = await topo.netns('conf');
    const r = await inNs(null, [TSVS, 'shim', 'install', shim]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await topo.teardown();
    rmSync(shim, { recursive: true, force: true });
  });

  conformanceTests(runner, ALL_CASES);
});
