// The XDP map's keys come from the same plan as the nftables claim (planTakes' matches).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Addr } from '../../../../src/core/inet.js';
import { KIND_DST4, KIND_DST6, KIND_OWN4, KIND_SRC4, xdpKeys } from '../../../../src/engine/packet/xdp/keys.js';
import { planTakes } from '../../../../src/engine/packet/takes.js';
import { Ipvs } from '../../../../src/core/ipvs.js';
import { runAdm } from '../../../../src/adm/run.js';
import { staticResolver } from '../../../../src/adm/resolve.js';

async function rules(lines: string[]): Promise<Ipvs> {
  const ipvs = new Ipvs({ now: 0 });
  for (const l of lines) {
    const r = await runAdm(l.split(' '), 'tsvsadm', { ipvs, now: 0, resolver: staticResolver({}), stdin: '' });
    assert.equal(r.code, 0, r.stderr);
  }
  return ipvs;
}

describe('XDP map keys', () => {
  it('encode kind, protocol, port and address in network order', () => {
    const keys = xdpKeys([{ family: 'ip', proto: 'udp', daddr: '10.0.0.100', dport: 53 }], [], []);
    assert.deepEqual([...keys.keys()], [`${KIND_DST4.toString(16).padStart(2, '0')}110035` + '0a000064' + '00'.repeat(12)]);
  });

  it('an IPv6 VIP fills the whole address', () => {
    const [k] = [...xdpKeys([{ family: 'ip6', proto: 'tcp', daddr: 'fd00::1', dport: 443 }], [], []).values()];
    assert.equal(Buffer.from(k!).toString('hex'), `0${KIND_DST6}0601bb` + 'fd00' + '00'.repeat(13) + '01');
  });

  it('follow planTakes: services, NAT replies and the director’s own addresses', async () => {
    const ipvs = await rules(['-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.1.0.11:8080 -m', '-A -u 10.0.0.101:0 -s rr -p 60']);
    const t = planTakes(ipvs.rules.services(), { local: new Map([['10.1.0.1', 'eth0']]), served: new Set(['eth0']) }, (s) => Addr.parse(s));
    const kinds = [...xdpKeys(t.matches, t.own4, t.own6).keys()].map((h) => `${h.slice(0, 8)}:${h.slice(8, 16)}`).sort();
    assert.deepEqual(kinds, [
      `0${KIND_DST4}060050:0a000064`,
      `0${KIND_DST4}110000:0a000065`,
      `0${KIND_SRC4}061f90:0a01000b`,
      `0${KIND_OWN4}000000:0a010001`,
    ]);
  });
});
