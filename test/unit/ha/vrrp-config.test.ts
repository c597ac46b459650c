// keepalived.conf's VRRP keywords become a VrrpConfig; bad input is a file:line error and the
// instance is left out whole, unknown keywords are warnings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfText } from '../../../src/ha/conf/parse.js';
import { vrrpFromConf } from '../../../src/ha/vrrp/config.js';

function conf(text: string) {
  const p = parseConfText(text, 'k.conf');
  assert.deepEqual(p.errors, []);
  return vrrpFromConf(p.nodes);
}

const FULL = `
global_defs {
  router_id lvs1
  vrrp_version 3
  vrrp_garp_master_delay 2
  vrrp_garp_master_repeat 3
}
vrrp_script chk {
  script "/bin/true"
  interval 0.5
  weight -20
  fall 2
  rise 3
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 0.25
  nopreempt
  preempt_delay 2
  unicast_src_ip 10.0.0.2
  unicast_peer {
    10.0.0.3
  }
  virtual_ipaddress {
    10.0.0.100/24 dev eth1 label eth1:vip scope global
    10.0.0.101
  }
  virtual_ipaddress_excluded {
    fd00::100/64
  }
  track_interface {
    eth2 weight -10
  }
  track_script {
    chk
  }
  garp_master_repeat 2
  notify_master "/bin/true master"
  notify /bin/true
  frobnicate 1
}
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 52
  virtual_ipaddress {
    fd00::1
  }
}
vrrp_sync_group G {
  group {
    VI_1
    VI_6
  }
  notify_backup /bin/true
}
`;

test('every supported keyword', () => {
  const { config, errors, warnings } = conf(FULL);
  assert.deepEqual(errors, []);
  assert.deepEqual(
    warnings.map((w) => `${w.line}: ${w.text}`),
    ["43: vrrp_instance VI_1: keyword 'frobnicate' is not implemented by tsvs; ignored"],
  );
  assert.equal(config.routerId, 'lvs1');
  assert.deepEqual(config.scripts, [
    { name: 'chk', script: ['/bin/true'], intervalMs: 500, timeoutMs: 500, weight: -20, fall: 2, rise: 3 },
  ]);
  const i = config.instances[0]!;
  assert.equal(i.version, 3);
  assert.equal(i.family, 4);
  assert.equal(i.vrid, 51);
  assert.equal(i.priority, 150);
  assert.equal(i.intervalCs, 25);
  assert.equal(i.preempt, false);
  assert.equal(i.preemptDelayMs, 2000);
  assert.equal(String(i.srcIp), '10.0.0.2');
  assert.deepEqual(i.unicastPeers.map(String), ['10.0.0.3']);
  assert.deepEqual(
    i.vips.map((v) => [String(v.addr), v.plen, v.dev, v.label, v.scope, v.excluded]),
    [
      ['10.0.0.100', 24, 'eth1', 'eth1:vip', 'global', false],
      ['10.0.0.101', 32, 'eth0', null, null, false],
      ['fd00::100', 64, 'eth0', null, null, true],
    ],
  );
  assert.deepEqual(i.trackInterfaces, [{ name: 'eth2', weight: -10 }]);
  assert.deepEqual(i.trackScripts, [{ name: 'chk', weight: null }]);
  assert.equal(i.garpMasterDelayS, 2);
  assert.equal(i.garpMasterRepeat, 2);
  assert.deepEqual(i.notify.master, ['/bin/true', 'master']);
  assert.deepEqual(i.notify.any, ['/bin/true']);
  const six = config.instances[1]!;
  assert.deepEqual([six.family, six.version, six.priority, six.initialMaster, six.intervalCs], [6, 3, 100, false, 100]);
  assert.deepEqual(
    config.syncGroups.map((g) => [g.name, g.members, g.notify.backup]),
    [['G', ['VI_1', 'VI_6'], ['/bin/true']]],
  );
});

test('defaults: v2, 1 s, priority 255 with state MASTER, PASS auth', () => {
  const { config, errors } = conf(`vrrp_instance A {
  state MASTER
  interface eth0
  virtual_router_id 1
  advert_int 1.4
  authentication {
    auth_type PASS
    auth_pass 12345678910
  }
  virtual_ipaddress {
    192.0.2.1
  }
}`);
  assert.deepEqual(errors, []);
  const i = config.instances[0]!;
  assert.deepEqual([i.version, i.intervalCs, i.priority, i.initialMaster, i.authPass, i.preempt], [2, 100, 255, true, '12345678910', true]);
  assert.deepEqual([i.garpMasterDelayS, i.garpMasterRepeat], [5, 5]);
});

const bad: { what: string; text: string; msg: RegExp; line: number }[] = [
  {
    what: 'vrid out of range',
    text: 'vrrp_instance A {\n interface e\n virtual_router_id 256\n virtual_ipaddress {\n 1.2.3.4\n }\n}',
    msg: /virtual_router_id: '256' is not a number in 1..255/,
    line: 3,
  },
  {
    what: 'bad VIP',
    text: 'vrrp_instance A {\n interface e\n virtual_router_id 2\n virtual_ipaddress {\n 1.2.3.400\n }\n}',
    msg: /'1.2.3.400' is not an IP address/,
    line: 5,
  },
  {
    what: 'no interface',
    text: 'vrrp_instance A {\n virtual_router_id 2\n virtual_ipaddress {\n 1.2.3.4\n }\n}',
    msg: /no interface given/,
    line: 1,
  },
  {
    what: 'auth with v3',
    text: 'vrrp_instance A {\n interface e\n version 3\n virtual_router_id 2\n authentication {\n auth_type PASS\n auth_pass x\n }\n virtual_ipaddress {\n 1.2.3.4\n }\n}',
    msg: /authentication is VRRPv2 only/,
    line: 5,
  },
  {
    what: 'missing notify script',
    text: 'vrrp_instance A {\n interface e\n virtual_router_id 2\n notify_master /nonexistent/x.sh\n virtual_ipaddress {\n 1.2.3.4\n }\n}',
    msg: /script \/nonexistent\/x.sh does not exist/,
    line: 4,
  },
  {
    what: 'unknown track_script',
    text: 'vrrp_instance A {\n interface e\n virtual_router_id 2\n track_script {\n nope\n }\n virtual_ipaddress {\n 1.2.3.4\n }\n}',
    msg: /track_script nope has no vrrp_script/,
    line: 1,
  },
  {
    what: 'duplicate vrid on one interface',
    text: 'vrrp_instance A {\n interface e\n virtual_router_id 2\n virtual_ipaddress {\n 1.2.3.4\n }\n}\nvrrp_instance B {\n interface e\n virtual_router_id 2\n virtual_ipaddress {\n 1.2.3.5\n }\n}',
    msg: /virtual_router_id 2 on e is already used by A/,
    line: 8,
  },
  {
    what: 'mixed families',
    text: 'vrrp_instance A {\n interface e\n virtual_router_id 2\n virtual_ipaddress {\n 1.2.3.4\n fd00::1\n }\n}',
    msg: /mixes IPv4 and IPv6/,
    line: 1,
  },
];
for (const b of bad) {
  test(`bad input: ${b.what}`, () => {
    const { config, errors } = conf(b.text);
    assert.ok(
      errors.some((e) => b.msg.test(e.text) && e.line === b.line && e.file === 'k.conf'),
      JSON.stringify(errors),
    );
    assert.ok(!config.instances.some((i) => i.name === 'A' && b.what !== 'duplicate vrid on one interface'), 'instance left out whole');
  });
}
