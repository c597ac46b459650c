// tsvsadm against the ipvsadm 1.31 conformance tables (cases/*.ts), byte for byte: stdout,
// stderr and exit status, and the rules left behind where a case says so; the in-process
// runner of harness.ts (the namespace runner is test/integration/conformance-netns.test.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CASES } from './cases/index.js';
import { conformanceTests, InProcessRunner, runs } from './harness.js';

describe('tsvsadm conformance (ipvsadm 1.31, in-process)', () => {
  const runner = new InProcessRunner();
  it('has at least 150 cases, each citing a spec section, all run in-process', () => {
    assert.ok(ALL_CASES.length >= 150, `${ALL_CASES.length} cases`);
    for (const c of ALL_CASES) assert.match(c.spec, /^§\d+(\.\d+)*$/, c.description);
    assert.deepEqual(
      ALL_CASES.filter((c) => !runs(runner, c)).map((c) => c.description),
      [],
    );
  });

  conformanceTests(runner, ALL_CASES);
});
