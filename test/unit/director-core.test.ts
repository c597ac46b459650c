// The director's core and the warm-up's throwaway one come from one function (director-core.ts):
// the sysctls bound, the defences set, the bound and reserve passed through.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CONN_MEM_MAX } from '../../src/core/defence.js';
import { directorCore } from '../../src/core/director-core.js';

describe('directorCore', () => {
  it('binds the sysctls to the core and sets the defences', () => {
    const { ipvs, sysctls, defence } = directorCore();
    assert.equal(ipvs.defence, defence);
    assert.equal(defence.connMemMax, DEFAULT_CONN_MEM_MAX);
    assert.equal(sysctls.write('expire_nodest_conn', '1'), null);
    assert.equal(ipvs.sysctls.expireNodestConn, true);
    assert.equal(sysctls.write('lblc_expiration', '60'), null);
    assert.equal(ipvs.rules.env.lblcExpiration, 60_000);
  });

  it('takes the memory bound and the machine-dependent sysctl defaults', () => {
    const { sysctls, defence } = directorCore({ connMemMax: 1 << 20, sysctlDefaults: { sync_qlen_max: [1234] } });
    assert.equal(defence.connMemMax, 1 << 20);
    assert.equal(sysctls.text('sync_qlen_max'), '1234');
    assert.ok(sysctls.isDefault('sync_qlen_max'), 'an override is the default on this machine, not a change');
  });
});
