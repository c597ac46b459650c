// A deleted masq dest's conns keep their way out (#16, soak): the kernel's ip_vs_out finds the
// conn whatever became of its dest, so a real server's reply to a conn scheduled just before
// `-d` (the RST of a server that died, the rest of a download) still leaves from the VIP. The
// packet engine used to take replies only from the dests in the rules: the soak's clients
// waited out curl's 5 s for a RST that the director let the kernel forward unNATed, while
// their SYN retransmits were dropped (conn_dropped: the dest was deleted).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Addr } from '../../../src/core/inet.js';
import { planTakes } from '../../../src/engine/packet/takes.js';
import { frame4, ip } from '../wire/build.js';
import { Director, mac } from './director.js';

const CIP = ip('10.9.0.9');
const VIP = ip('10.0.0.100');
const RS1 = ip('10.1.0.11');
const NAT = ['-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.1.0.11:80 -m'];
const DEL = '-d -t 10.0.0.100:80 -r 10.1.0.11:80';
const syn = frame4({ saddr: CIP, daddr: VIP, sport: 40000, dport: 80, flags: 0x02, dmac: mac('eth0'), smac: mac('gw') });
/** The RST+ACK a real server's kernel answers a SYN with when nothing listens. */
const rst = frame4({
  saddr: RS1,
  daddr: CIP,
  sport: 80,
  dport: 40000,
  flags: 0x14,
  seq: 0,
  ack: 1001,
  dmac: mac('eth1'),
  smac: mac('rs1'),
});

describe('replies of a deleted masq dest', () => {
  it('the RST of a dest deleted after the SYN went to it reaches the client from the VIP', async () => {
    const d = new Director();
    await d.rules(NAT);
    d.receive('eth0', [syn]);
    assert.deepEqual(d.sent(), ['eth1 >rs1 ip 10.9.0.9:40000 > 10.1.0.11:80 tcp S seq 1000 ttl 63 len 0']);
    await d.rules([DEL]);
    d.receive('eth1', [rst]);
    assert.deepEqual(d.sent(), ['eth0 >gw ip 10.0.0.100:80 > 10.9.0.9:40000 tcp RA seq 0 ack 1001 ttl 63 len 0']);
  });

  it('the kernel filter keeps taking them while the dest is in the trash, and lets go when it is freed', async () => {
    const d = new Director();
    await d.rules(NAT);
    d.receive('eth0', [syn]);
    await d.rules([DEL]);
    const host = { local: new Map([['10.1.0.1', 'eth1']]), served: new Set(['eth0', 'eth1']) };
    const plan = () => planTakes(d.ipvs.rules.services(), host, (s) => Addr.parse(s), d.ipvs.rules.trashed());
    const taken = (t: ReturnType<typeof plan>) => t.matches.some((m) => m.saddr === '10.1.0.11' && m.sport === 80);
    assert.ok(taken(plan()), 'deleted dest with a conn: its replies are taken');
    assert.equal(plan().unserved.length, 0, 'a deleted dest is not a rule that is not served');
    // The conn ends (3 s in state NONE... SYN_RECV's timeout), then the trash frees the dest
    // after a minute unreferenced, swept every 60 s.
    const freed: string[] = [];
    d.ipvs.rules.listeners.push({ destFreed: (dest) => freed.push(`${dest.addr}:${dest.port}`) });
    for (let now = 0; now <= 5 * 60_000; now += 1000) d.ipvs.tick(now);
    assert.deepEqual(freed, ['10.1.0.11:80']);
    assert.ok(!taken(plan()), 'freed dest: its replies are the kernel’s again');
  });
});
