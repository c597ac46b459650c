// tsvsadm against the ipvsadm 1.31 conformance tables (cases/*.ts), byte for byte:
// stdout, stderr and exit status, and the rules left behind where a case says so.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CASES } from './cases/index.js';
import { runCase } from './harness.js';

describe('tsvsadm conformance (ipvsadm 1.31)', () => {
  it('has at least 150 cases, each citing a spec section', () => {
    assert.ok(ALL_CASES.length >= 150, `${ALL_CASES.length} cases`);
    for (const c of ALL_CASES) assert.match(c.spec, /^§\d+(\.\d+)*$/, c.description);
  });

  for (const c of ALL_CASES) {
    it(`${c.spec} ${c.description}: ipvsadm ${c.argv.join(' ')}`, async () => {
      const r = await runCase(c);
      assert.deepEqual(r.givenFailures, [], 'given commands must succeed');
      assert.equal(r.result.stdout, c.stdout, 'stdout');
      assert.equal(r.result.stderr, c.stderr, 'stderr');
      assert.equal(r.result.code, c.code, 'exit status');
      if (c.after) assert.equal(r.afterStdout, c.after.stdout, `then ${c.after.argv.join(' ')}`);
      if (c.saved !== undefined) assert.equal(r.saved, c.saved, '-S -n afterwards');
    });
  }
});
