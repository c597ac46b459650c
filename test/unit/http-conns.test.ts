// /api/v1/conns: at most `limit` conns, and `truncated` exactly when more are listable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IPPROTO_UDP, IP_VS_CONN_F_MASQ } from '../../src/core/constants.js';
import { Ipvs, packet4 } from '../../src/core/ipvs.js';
import { connsJson } from '../../src/http/api.js';
import type { DirectorSource } from '../../src/http/director.js';
import { destSpec, makeEnv, svcSpec } from '../helpers/rules.js';

function director(conns: number): DirectorSource {
  const ipvs = new Ipvs({ env: makeEnv() });
  const key = svcSpec('192.0.2.10', 53, { schedName: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff, protocol: IPPROTO_UDP });
  ipvs.rules.addService(key, 0);
  ipvs.rules.addDest(key, destSpec('10.0.0.1', 53, 1, IP_VS_CONN_F_MASQ as 0), 0);
  for (let k = 0; k < conns; k++)
    assert.ok(ipvs.processIn(packet4(IPPROTO_UDP, '198.51.100.1', 1000 + k, '192.0.2.10', 53, 0, 40), 0) >= 0);
  return { ipvs, now: () => 0 } as unknown as DirectorSource;
}

describe('connsJson', () => {
  for (const [conns, limit, listed, truncated] of [
    [0, 5, 0, false],
    [4, 5, 4, false],
    [5, 5, 5, false],
    [6, 5, 5, true],
    [40, 1, 1, true],
  ] as const) {
    it(`${conns} conns, limit ${limit}: ${listed} listed, truncated ${truncated}`, () => {
      const j = connsJson(director(conns), limit);
      assert.equal(j.conns.length, listed);
      assert.equal(j.truncated, truncated);
      assert.equal(j.total, conns);
      assert.deepEqual(
        j.conns.map((c) => c.client),
        Array.from({ length: listed }, (_, k) => `198.51.100.1:${1000 + k}`),
      );
    });
  }
});
