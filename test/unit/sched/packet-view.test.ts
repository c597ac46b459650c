// The scheduler's view of the packet opening a conn (src/core/sched/packet-view.ts): one view is
// reused for every new conn, so what it hands a scheduler must be the packet's own values, and
// an address a scheduler keeps (lblc, lblcr) must not change when the view moves on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketInfo } from '../../../src/core/conn/packet.js';
import { AF_INET6, IP_VS_CONN_F_MASQ, IPPROTO_TCP, IPPROTO_UDP } from '../../../src/core/constants.js';
import { Ipvs, packet4 } from '../../../src/core/ipvs.js';
import { SchedPacketView } from '../../../src/core/sched/packet-view.js';
import { addr, destSpec, makeEnv, svcSpec } from '../../helpers/rules.js';

describe('SchedPacketView', () => {
  it('shows an IPv4 packet, and an address taken stays when the view moves to the next packet', () => {
    const v = new SchedPacketView();
    v.of(packet4(IPPROTO_UDP, '198.51.100.7', 40000, '192.0.2.10', 53));
    assert.equal(v.protocol, IPPROTO_UDP);
    assert.equal(v.sport, 40000);
    assert.equal(v.dport, 53);
    assert.equal(v.inverse, false);
    const s1 = v.saddr;
    assert.ok(s1.equals(addr('198.51.100.7')));
    assert.ok(v.daddr.equals(addr('192.0.2.10')));
    v.of(packet4(IPPROTO_TCP, '203.0.113.9', 1234, '192.0.2.11', 80));
    assert.ok(s1.equals(addr('198.51.100.7')), 'the first address is a value, not a view');
    assert.ok(v.saddr.equals(addr('203.0.113.9')));
    assert.ok(v.daddr.equals(addr('192.0.2.11')));
    assert.equal(v.protocol, IPPROTO_TCP);
  });

  it('shows an IPv6 packet', () => {
    const s = addr('2001:db8::7');
    const d = addr('2001:db8::10');
    const p = new PacketInfo().setV6(IPPROTO_TCP, [s.w0, s.w1, s.w2, s.w3], 40000, [d.w0, d.w1, d.w2, d.w3], 80);
    const v = new SchedPacketView().of(p);
    assert.equal(v.af, AF_INET6);
    assert.ok(v.saddr.equals(s));
    assert.ok(v.daddr.equals(d));
  });

  it('gives sh the client of each new conn through processIn (the vectors of the sh scenarios)', () => {
    // Dests added .1, .2, .3 make the list .3, .2, .1: 192.168.1.100 hashes to bucket 89
    // (the third dest, .1), 10.0.0.1 to bucket 39 (the first, .3).
    const ipvs = new Ipvs({ env: makeEnv() });
    const key = svcSpec('192.0.2.10', 80, { schedName: 'sh' });
    ipvs.rules.addService(key, 0);
    for (const rip of ['10.1.0.1', '10.1.0.2', '10.1.0.3']) ipvs.rules.addDest(key, destSpec(rip, 8080, 1, IP_VS_CONN_F_MASQ), 0);
    const picked = new Map<string, string>();
    for (const [client, cport] of [
      ['192.168.1.100', 1000],
      ['10.0.0.1', 1001],
      ['192.168.1.100', 1002],
    ] as const) {
      assert.ok(ipvs.processIn(packet4(IPPROTO_TCP, client, cport, '192.0.2.10', 80, 0x02), 0) >= 0);
    }
    ipvs.forEachConn(0, (c) => picked.set(`${c.caddr.toString()}:${c.cport}`, c.daddr.toString()));
    assert.deepEqual(Object.fromEntries(picked), {
      '192.168.1.100:1000': '10.1.0.1',
      '10.0.0.1:1001': '10.1.0.3',
      '192.168.1.100:1002': '10.1.0.1',
    });
  });
});
