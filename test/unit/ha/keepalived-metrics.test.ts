// The keepalived process's /metrics (src/ha/http.ts): service keys renamed as tsvs_* labels
// name services, one series per checker (two of one kind on a server told apart by target),
// tsvs_checker_failures_total from the checker's failures count, and tsvs_vrrp_* from the
// VRRP part's instance status with the MASTER transitions counted by the endpoint.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckerStatus } from '../../../src/ha/check/checker.js';
import { healthOf, serviceLabel } from '../../../src/ha/health.js';
import { keepalivedMetrics } from '../../../src/ha/http.js';
import type { KeepalivedStatus } from '../../../src/ha/status.js';

function checker(kind: string, target: string, up: boolean, failures: number): CheckerStatus {
  return {
    kind,
    target,
    up,
    lastResult: up ? 'ok' : 'connect refused',
    lastCheckAt: 1,
    consecutiveFailures: up ? 0 : 2,
    checks: 9,
    failures,
  };
}

function status(): KeepalivedStatus {
  return {
    pid: 1,
    conf: '/etc/keepalived/keepalived.conf',
    startedAt: 0,
    ready: true,
    checkers: true,
    vrrp: true,
    lastReload: null,
    warnings: 0,
    virtualServers: [
      {
        name: '192.0.2.1 80',
        services: ['TCP 192.0.2.1:80', 'FWM 5 IPv6'],
        quorumUp: true,
        sorryServerActive: false,
        realServers: [
          { rs: '10.0.0.1:80', weight: 1, alive: true, inRules: true, checkers: [checker('TCP_CHECK', '10.0.0.1:80', true, 0)] },
          {
            rs: '10.0.0.2:80',
            weight: 1,
            alive: false,
            inRules: false,
            checkers: [checker('HTTP_GET', '10.0.0.2:80', false, 7), checker('HTTP_GET', '10.0.0.2:8080', true, 1)],
          },
        ],
      },
    ],
    vrrpInstances: [
      { name: 'VI_1', state: 'MASTER', priority: 150, effectivePriority: 150, masterAddr: null, lastTransition: null },
      { name: 'bad' }, // not an instance status: left out rather than written half
    ],
  };
}

describe('tsvs keepalived /metrics', () => {
  it('names services as tsvsadm -S -n does', () => {
    assert.equal(serviceLabel('TCP 192.0.2.1:80'), '-t 192.0.2.1:80');
    assert.equal(serviceLabel('UDP [2001:db8::1]:53'), '-u [2001:db8::1]:53');
    assert.equal(serviceLabel('SCTP 192.0.2.1:9'), '--sctp-service 192.0.2.1:9');
    assert.equal(serviceLabel('FWM 5'), '-f 5');
    assert.equal(serviceLabel('FWM 5 IPv6'), '-f 5 -6');
  });

  it('writes one series per checker, service and real server', () => {
    const h = healthOf(status());
    assert.equal(h.length, 6);
    assert.deepEqual(
      h.filter((x) => x.service === '-f 5 -6').map((x) => [x.checker, x.dest, x.up, x.failures]),
      [
        ['TCP_CHECK', '10.0.0.1:80', true, 0],
        ['HTTP_GET 10.0.0.2:80', '10.0.0.2:80', false, 7],
        ['HTTP_GET 10.0.0.2:8080', '10.0.0.2:80', true, 1],
      ],
    );
  });

  it('renders checker and VRRP families', () => {
    const text = keepalivedMetrics(status(), new Map([['VI_1', 2]]), null).toString('utf8');
    assert.match(
      text,
      /\ntsvs_checker_failures_total\{checker="HTTP_GET 10\.0\.0\.2:80",dest="10\.0\.0\.2:80",service="-t 192\.0\.2\.1:80"\} 7\n/,
    );
    assert.match(text, /\ntsvs_checker_up\{checker="TCP_CHECK",dest="10\.0\.0\.1:80",service="-f 5 -6"\} 1\n/);
    assert.match(text, /# TYPE tsvs_checker_failures_total counter\n/);
    assert.match(text, /\ntsvs_vrrp_state\{instance="VI_1",state="MASTER"\} 1\n/);
    assert.match(text, /\ntsvs_vrrp_became_master_total\{instance="VI_1"\} 2\n/);
    assert.doesNotMatch(text, /instance="bad"/);
    assert.match(text, /\ntsvs_keepalived_ready 1\n/);
    const names = [...text.matchAll(/^# HELP (\S+)/gm)].map((m) => m[1]!);
    assert.deepEqual(names, [...names].sort());
  });
});
