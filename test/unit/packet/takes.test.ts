// What the packet engine takes from the rules (src/engine/packet/takes.ts): the kernel filter's
// matches leave the director's own conns to a dest alone (#14), and a service that no
// interface can serve is listed as not served with why (#13's first hour).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runAdm } from '../../../src/adm/run.js';
import { staticResolver } from '../../../src/adm/resolve.js';
import { Addr } from '../../../src/core/inet.js';
import { Ipvs } from '../../../src/core/ipvs.js';
import { renderNft } from '../../../src/engine/packet/nft.js';
import { type Host, planTakes } from '../../../src/engine/packet/takes.js';

async function rules(lines: string[]): Promise<Ipvs> {
  const ipvs = new Ipvs({ now: 0 });
  for (const l of lines) {
    const r = await runAdm(l.split(' '), 'tsvsadm', { ipvs, now: 0, resolver: staticResolver({}), stdin: '' });
    assert.equal(r.code, 0, r.stderr);
  }
  return ipvs;
}

const host = (local: Record<string, string>, served: string[]): Host => ({
  local: new Map(Object.entries(local)),
  served: new Set(served),
});
const parse = (s: string): Addr | null => Addr.parse(s);

describe('what the packet engine takes', () => {
  it('a masq dest’s replies are taken unless addressed to the director itself (#14)', async () => {
    const ipvs = await rules([
      '-A -t 10.0.0.100:80 -s rr',
      '-a -t 10.0.0.100:80 -r 10.1.0.11:80 -m',
      '-A -t [fd00::100]:80',
      '-a -t [fd00::100]:80 -r [fd01::11]:80 -m',
    ]);
    const t = planTakes(
      ipvs.rules.services(),
      host({ '10.1.0.1': 'eth1', '10.0.0.1': 'eth0', 'fd01::1': 'eth1' }, ['eth0', 'eth1']),
      parse,
    );
    const text = renderNft({ devices: new Map([['eth1', t.matches]]) });
    assert.match(text, /meta l4proto tcp ip saddr 10\.1\.0\.11 th sport 80 ip daddr != \{ 10\.1\.0\.1, 10\.0\.0\.1 \} counter drop/);
    assert.match(text, /meta l4proto tcp ip6 saddr fd01::11 th sport 80 ip6 daddr != \{ fd01::1 \} counter drop/);
    assert.match(text, /meta l4proto tcp ip daddr 10\.0\.0\.100 th dport 80 counter drop/);
    assert.deepEqual([...t.own4], [Addr.parse4('10.1.0.1')!.w0, Addr.parse4('10.0.0.1')!.w0]);
  });

  it('a FULLNAT local address held by the director stays taken: its replies are the conns’', async () => {
    const ipvs = await rules(['-A -t 10.0.0.100:80 -s rr --laddr 10.1.0.200', '-a -t 10.0.0.100:80 -r 10.1.0.11:80 --fullnat']);
    const t = planTakes(ipvs.rules.services(), host({ '10.1.0.1': 'eth1', '10.1.0.200': 'eth1' }, ['eth1']), parse);
    assert.deepEqual([...t.own4], [Addr.parse4('10.1.0.1')!.w0]);
    assert.ok(t.matches.some((m) => m.saddr === '10.1.0.11' && m.notDaddr?.join() === '10.1.0.1'));
  });

  it('a service that no interface can serve is listed as not served, with why', async () => {
    const ipvs = await rules(['-A -t 10.0.0.100:80 -s rr', '-A -t 192.168.9.9:80 -s rr', '-A -t 127.0.0.5:80 -s rr']);
    const none = planTakes(ipvs.rules.services(), host({}, []), parse);
    assert.equal(none.unserved.length, 3);
    assert.match(none.unserved[0]!.reason, /runs on no interface/);
    assert.equal(none.matches.length, 0);
    const t = planTakes(ipvs.rules.services(), host({ '192.168.9.9': 'wlan0', '127.0.0.5': 'lo' }, ['eth0']), parse);
    assert.deepEqual(
      t.unserved.map((u) => u.rule),
      ['-A -t 192.168.9.9:80'],
    );
    assert.match(t.unserved[0]!.reason, /its VIP is on wlan0, which the packet engine does not run on/);
  });
});
