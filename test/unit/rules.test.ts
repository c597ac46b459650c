// The kernel's control-plane rules: what is refused, with which errno, in which order
// (docs/spec/ipvs-kernel.md §2.9, docs/spec/ipvsadm.md §5), and the list order of dests (§0.3).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE,
  IP_VS_DEST_F_OVERLOAD,
  IP_VS_SVC_F_PERSISTENT,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from '../../src/core/constants.js';
import { IpvsError } from '../../src/core/errors.js';
import { addr, DR, destSpec, makeRules, svcSpec } from '../helpers/rules.js';

function errnoOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpvsError) return e.errno;
    throw e;
  }
  return 'OK';
}

describe('services', () => {
  it('EEXIST is checked before the scheduler name', () => {
    const r = makeRules();
    r.addService(svcSpec('10.0.0.1', 80), 0);
    assert.equal(
      errnoOf(() => r.addService(svcSpec('10.0.0.1', 80, { schedName: 'nope' }), 0)),
      'EEXIST',
    );
  });

  const cases: [string, () => unknown, string][] = [
    ['unknown scheduler', () => makeRules().addService(svcSpec('10.0.0.1', 80, { schedName: 'xx' }), 0), 'ENOENT'],
    ['unknown pe', () => makeRules().addService(svcSpec('10.0.0.1', 80, { peName: 'http' }), 0), 'ENOENT'],
    ['IPv6 prefix 0', () => makeRules().addService(svcSpec('2001:db8::1', 80, { netmask: 0 }), 0), 'EINVAL'],
    ['IPv6 prefix 129', () => makeRules().addService(svcSpec('2001:db8::1', 80, { netmask: 129 }), 0), 'EINVAL'],
    ['the none scheduler', () => makeRules().addService(svcSpec('10.0.0.1', 80, { schedName: 'none' }), 0), 'OK'],
    ['sip pe', () => makeRules().addService(svcSpec('10.0.0.1', 80, { peName: 'sip' }), 0), 'OK'],
    ['edit missing', () => makeRules().editService(svcSpec('10.0.0.1', 80), 0), 'ESRCH'],
    ['delete missing', () => makeRules().delService(svcSpec('10.0.0.1', 80), 0), 'ESRCH'],
    ['zero missing', () => makeRules().zero(svcSpec('10.0.0.1', 80)), 'ESRCH'],
  ];
  for (const [name, fn, want] of cases) it(`${name} → ${want}`, () => assert.equal(errnoOf(fn), want));

  it('TCP and UDP on the same address:port are two services; fwmark ignores protocol', () => {
    const r = makeRules();
    r.addService(svcSpec('10.0.0.1', 53), 0);
    r.addService(svcSpec('10.0.0.1', 53, { protocol: IPPROTO_UDP }), 0);
    r.addService(svcSpec('0.0.0.0', 0, { fwmark: 7, protocol: IPPROTO_UDP }), 0);
    assert.equal(r.serviceCount, 3);
    assert.equal(r.findService(svcSpec('0.0.0.0', 0, { fwmark: 7 }))?.protocol, IPPROTO_TCP);
  });

  it('edit replaces settings and swaps the scheduler', () => {
    const r = makeRules();
    r.addService(svcSpec('10.0.0.1', 80, { schedName: 'rr', flags: IP_VS_SVC_F_PERSISTENT, timeout: 360 }), 0);
    const svc = r.editService(svcSpec('10.0.0.1', 80, { schedName: 'sh' }), 0);
    assert.equal(svc.schedName, 'sh');
    assert.equal(svc.flags, 0);
    assert.equal(svc.timeout, 0);
  });

  it('lookup: fwmark first, then exact, then the port-zero catch-all', () => {
    const r = makeRules();
    const exact = r.addService(svcSpec('10.0.0.1', 80), 0);
    const zero = r.addService(svcSpec('10.0.0.1', 0, { flags: IP_VS_SVC_F_PERSISTENT, timeout: 60 }), 0);
    const mark = r.addService(svcSpec('0.0.0.0', 0, { fwmark: 5 }), 0);
    const vip = addr('10.0.0.1');
    assert.equal(r.lookup(2, IPPROTO_TCP, vip, 80, 0), exact);
    assert.equal(r.lookup(2, IPPROTO_TCP, vip, 443, 0), zero);
    assert.equal(r.lookup(2, IPPROTO_TCP, vip, 80, 5), mark);
    assert.equal(r.lookup(2, IPPROTO_UDP, vip, 80, 0), null);
  });
});

describe('dests', () => {
  function withService() {
    const r = makeRules();
    const key = svcSpec('10.0.0.1', 80, { schedName: 'rr' });
    r.addService(key, 0);
    return { r, key };
  }

  it('new dests go to the head of the list', () => {
    const { r, key } = withService();
    for (const ip of ['10.1.0.1', '10.1.0.2', '10.1.0.3']) r.addDest(key, destSpec(ip, 80), 0);
    assert.deepEqual(
      r.findService(key)!.dests.map((d) => d.addr.toString()),
      ['10.1.0.3', '10.1.0.2', '10.1.0.1'],
    );
  });

  const cases: [string, (r: ReturnType<typeof makeRules>, k: ReturnType<typeof svcSpec>) => unknown, string][] = [
    ['service missing', (r) => r.addDest(svcSpec('10.9.9.9', 80), destSpec('10.1.0.1', 80), 0), 'ESRCH'],
    ['mixed family without tunnel', (r, k) => r.addDest(k, destSpec('2001:db8::1', 80, 1, DR), 0), 'EINVAL'],
    ['mixed family with tunnel', (r, k) => r.addDest(k, destSpec('2001:db8::1', 80, 1, IP_VS_CONN_F_TUNNEL), 0), 'OK'],
    ['lower above upper', (r, k) => r.addDest(k, destSpec('10.1.0.1', 80, 1, DR, { lThreshold: 10 }), 0), 'ERANGE'],
    [
      'gue without port',
      (r, k) =>
        r.addDest(
          k,
          destSpec('10.1.0.1', 80, 1, IP_VS_CONN_F_TUNNEL, {
            tunType: IP_VS_CONN_F_TUNNEL_TYPE_GUE,
          }),
          0,
        ),
      'EINVAL',
    ],
    ['not unicast', (r, k) => r.addDest(k, destSpec('224.0.0.1', 80), 0), 'EINVAL'],
    ['edit missing', (r, k) => r.editDest(k, destSpec('10.1.0.9', 80)), 'ENOENT'],
    ['delete missing', (r, k) => r.delDest(k, addr('10.1.0.9'), 80, 0), 'ENOENT'],
  ];
  for (const [name, fn, want] of cases) {
    it(`${name} → ${want}`, () => {
      const { r, key } = withService();
      assert.equal(
        errnoOf(() => fn(r, key)),
        want,
      );
    });
  }

  it('EEXIST comes before the unicast check', () => {
    const { r, key } = withService();
    r.addDest(key, destSpec('10.1.0.1', 80), 0);
    assert.equal(
      errnoOf(() => r.addDest(key, destSpec('10.1.0.1', 80), 0)),
      'EEXIST',
    );
  });

  it('the same address on two ports is two dests', () => {
    const { r, key } = withService();
    r.addDest(key, destSpec('10.1.0.1', 80), 0);
    r.addDest(key, destSpec('10.1.0.1', 8080), 0);
    assert.equal(r.findService(key)!.dests.length, 2);
  });

  it('edit keeps the place in the list and replaces every setting', () => {
    const { r, key } = withService();
    r.addDest(key, destSpec('10.1.0.1', 80, 5, IP_VS_CONN_F_MASQ, { uThreshold: 9 }), 0);
    r.addDest(key, destSpec('10.1.0.2', 80), 0);
    const d = r.editDest(key, destSpec('10.1.0.1', 80, 0, DR));
    assert.equal(r.findService(key)!.dests[1], d);
    assert.equal(d.weight, 0);
    assert.equal(d.lastWeight, 5, 'last_weight keeps the latest non-zero weight');
    assert.equal(d.uThreshold, 0);
    assert.equal(d.fwd, DR);
  });

  it('editing clears OVERLOAD when the upper threshold goes away or grows', () => {
    const { r, key } = withService();
    const d = r.addDest(key, destSpec('10.1.0.1', 80, 1, DR, { uThreshold: 5 }), 0);
    d.flags |= IP_VS_DEST_F_OVERLOAD;
    r.editDest(key, destSpec('10.1.0.1', 80, 1, DR, { uThreshold: 4 }));
    assert.equal(d.overloaded, true);
    r.editDest(key, destSpec('10.1.0.1', 80, 1, DR, { uThreshold: 6 }));
    assert.equal(d.overloaded, false);
  });

  it('a deleted dest is revived from the trash with its counters', () => {
    const { r, key } = withService();
    const d = r.addDest(key, destSpec('10.1.0.1', 80), 0);
    d.stats.addConn();
    r.delDest(key, addr('10.1.0.1'), 80, 1000);
    assert.equal(d.available, false);
    assert.equal(r.trashSize(), 1);
    const back = r.addDest(key, destSpec('10.1.0.1', 80, 3), 2000);
    assert.equal(back, d);
    assert.equal(back.available, true);
    assert.equal(back.weight, 3);
    assert.equal(back.stats.snapshot().conns, 1n);
  });

  it('the trash frees a dest once it was unreferenced for 120 s', () => {
    const { r, key } = withService();
    const d = r.addDest(key, destSpec('10.1.0.1', 80), 0);
    d.refcnt = 1;
    r.delDest(key, addr('10.1.0.1'), 80, 0);
    r.expireTrash(60_000);
    assert.equal(r.trashSize(), 1, 'still referenced');
    d.refcnt = 0;
    r.expireTrash(120_000);
    r.expireTrash(180_000);
    assert.equal(r.trashSize(), 1, 'idle for only 60 s');
    r.expireTrash(240_000);
    assert.equal(r.trashSize(), 0);
    assert.equal(r.destById(d.id), undefined);
  });
});

describe('timeouts and daemons', () => {
  it('--set 0 keeps a value; out of range is EINVAL', () => {
    const r = makeRules();
    r.setTimeouts({ tcp: 0, tcpfin: 30, udp: 0 });
    assert.deepEqual(r.timeouts, { tcp: 900, tcpfin: 30, udp: 300 });
    assert.equal(
      errnoOf(() => r.setTimeouts({ tcp: 2147484, tcpfin: 0, udp: 0 })),
      'EINVAL',
    );
    assert.deepEqual(r.timeouts, { tcp: 900, tcpfin: 30, udp: 300 });
  });

  it('sync daemons: EEXIST twice, ESRCH when not running', () => {
    const r = makeRules();
    const cfg = {
      state: 'master' as const,
      ifname: 'eth0',
      syncid: 0,
      maxlen: 1472,
      group: addr('224.0.0.81'),
      port: 8848,
      ttl: 1,
    };
    r.startDaemon(cfg);
    assert.equal(
      errnoOf(() => r.startDaemon(cfg)),
      'EEXIST',
    );
    assert.equal(
      errnoOf(() => r.stopDaemon('backup')),
      'ESRCH',
    );
    r.stopDaemon('master');
    assert.equal(r.master, null);
  });
});

describe('lookup4: the IPv4 packet lookup and its one-entry cache', () => {
  it('answers as lookup() does, and forgets its answer when a service comes or goes', () => {
    const r = makeRules();
    const vip = addr('10.0.0.1').w0;
    assert.equal(r.lookup4(IPPROTO_TCP, vip, 80, 0), null);
    // A cached "no service" must not hide a service added afterwards.
    const a = r.addService(svcSpec('10.0.0.1', 80), 0);
    assert.equal(r.lookup4(IPPROTO_TCP, vip, 80, 0), a);
    assert.equal(r.lookup4(IPPROTO_TCP, vip, 80, 0), a);
    assert.equal(r.lookup4(IPPROTO_UDP, vip, 80, 0), null);
    assert.equal(r.lookup4(IPPROTO_TCP, vip, 81, 0), null);
    assert.equal(r.lookup4(IPPROTO_TCP, vip, 80, 0), a);
    // A port-zero catch-all and an fwmark service are found as lookup() finds them.
    const any = r.addService(svcSpec('10.0.0.1', 0, { flags: IP_VS_SVC_F_PERSISTENT, timeout: 300 }), 0);
    assert.equal(r.lookup4(IPPROTO_TCP, vip, 81, 0), any);
    const fw = r.addService({ ...svcSpec('0.0.0.0', 0), fwmark: 7 }, 0);
    assert.equal(r.lookup4(IPPROTO_TCP, vip, 80, 7), fw);
    assert.equal(r.lookup4(IPPROTO_TCP, vip, 80, 0), a);
    r.delService(svcSpec('10.0.0.1', 80), 0);
    assert.equal(r.lookup4(IPPROTO_TCP, vip, 80, 0), any);
    r.delService(svcSpec('10.0.0.1', 0), 0);
    assert.equal(r.lookup4(IPPROTO_TCP, vip, 80, 0), null);
  });
});
