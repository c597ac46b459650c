// The sync sysctls reach the core's sync decision, as net.ipv4.vs.sync_* reach ip_vs_sync.c.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ipvs } from '../../../src/core/ipvs.js';
import { SysctlTable } from '../../../src/core/sysctl.js';
import { bindSysctls } from '../../../src/core/sysctl-bind.js';

describe('sync sysctls', () => {
  it("sync_threshold, sync_refresh_period, sync_retries, sync_version, sync_persist_mode and sync_sock_size set the core's sync parameters", () => {
    const ipvs = new Ipvs();
    const t = new SysctlTable();
    bindSysctls(ipvs, t);
    assert.deepEqual(ipvs.syncParams, { threshold: 3, period: 50, refreshPeriod: 0, retries: 0, persistMode: 0, version: 1, sockSize: 0 });
    assert.equal(t.write('sync_threshold', '5 100'), null);
    assert.equal(t.write('sync_refresh_period', '30'), null);
    assert.equal(t.write('sync_retries', '2'), null);
    assert.equal(t.write('sync_version', '0'), null);
    assert.equal(t.write('sync_persist_mode', '1'), null);
    assert.equal(t.write('sync_sock_size', '1048576'), null);
    assert.deepEqual(ipvs.syncParams, {
      threshold: 5,
      period: 100,
      refreshPeriod: 30_000,
      retries: 2,
      persistMode: 1,
      version: 0,
      sockSize: 1048576,
    });
    assert.notEqual(t.write('sync_threshold', '50 50'), null, 'the kernel refuses threshold >= period');
    assert.equal(ipvs.syncParams.threshold, 5);
  });
});
