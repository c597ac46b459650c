// The conformance tables run in-process through runAdm with fixed name tables.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runAdm } from '../../src/adm/run.js';
import { staticResolver } from '../../src/adm/resolve.js';
import { Ipvs } from '../../src/core/ipvs.js';
import { CASES, HOSTS, INTERFACES, SERVICES } from './cases.js';

const resolver = staticResolver({ hosts: HOSTS, services: SERVICES, interfaces: INTERFACES });

describe(`ipvsadm conformance (${CASES.length} cases, in-process)`, () => {
  for (const c of CASES) {
    it(`${c.spec} ${c.name}`, async () => {
      const ipvs = new Ipvs();
      for (const s of c.setup ?? []) {
        const r = await runAdm(s, 'ipvsadm', { ipvs, now: 0, resolver, stdin: '' });
        assert.deepEqual([r.stderr, r.code], ['', 0], `setup ${s.join(' ')}`);
      }
      const r = await runAdm(c.argv, 'ipvsadm', { ipvs, now: 0, resolver, stdin: c.stdin ?? '' });
      if (c.stdout !== undefined) assert.equal(r.stdout, c.stdout, 'stdout');
      if (c.stderr !== undefined) assert.equal(r.stderr, c.stderr, 'stderr');
      assert.equal(r.code, c.code, 'exit status');
    });
  }
});
