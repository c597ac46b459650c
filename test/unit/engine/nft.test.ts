import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type IngressMatch, NFT_SET_MIN, renderNft } from '../../../src/engine/packet/nft.js';

describe('the director nftables table', () => {
  it('an empty spec only removes our table', () => {
    assert.equal(renderNft({ devices: new Map() }), 'table netdev tsvs { flags owner; }\ndelete table netdev tsvs\n');
  });

  it('one ingress chain per device, services and NAT replies dropped before the stack', () => {
    const text = renderNft({
      devices: new Map([
        ['eth1', [{ family: 'ip6', proto: 'udp', daddr: '2001:db8::1', dport: 53 }]],
        [
          'eth0',
          [
            { family: 'ip', proto: 'tcp', daddr: '172.16.100.9', dport: 80 },
            { family: 'ip', proto: 'tcp', saddr: '192.168.20.7', sport: 8080 },
            { family: 'ip', proto: 'tcp', daddr: '10.0.0.1', dport: 0 },
          ],
        ],
      ]),
    });
    assert.equal(
      text,
      [
        'table netdev tsvs { flags owner; }',
        'delete table netdev tsvs',
        'table netdev tsvs {',
        '  flags owner',
        '  chain ingress_eth0 {',
        '    type filter hook ingress device "eth0" priority -500; policy accept;',
        '    meta l4proto tcp ip daddr 172.16.100.9 th dport 80 counter drop',
        '    meta l4proto tcp ip saddr 192.168.20.7 th sport 8080 counter drop',
        '    meta l4proto tcp ip daddr 10.0.0.1 counter drop',
        '  }',
        '  chain ingress_eth1 {',
        '    type filter hook ingress device "eth1" priority -500; policy accept;',
        '    meta l4proto udp ip6 daddr 2001:db8::1 th dport 53 counter drop',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });
  it('matches of one shape from NFT_SET_MIN on are one rule over a set, shared by the interfaces', () => {
    const svcs: IngressMatch[] = [];
    for (let i = 0; i < NFT_SET_MIN; i++) svcs.push({ family: 'ip', proto: 'tcp', daddr: `10.1.0.${i}`, dport: 80 });
    const own = ['fd00::ff'];
    const replies: IngressMatch[] = [];
    for (let i = 0; i < NFT_SET_MIN; i++) replies.push({ family: 'ip6', proto: 'udp', saddr: `fd00::${i + 1}`, sport: 53, notDaddr: own });
    // One shape short of the bound stays a rule each; port 0 (all ports) is a shape of its own.
    const few: IngressMatch[] = [{ family: 'ip', proto: 'tcp', daddr: '10.2.0.1', dport: 0 }];
    const all = [...svcs, ...replies, ...few, svcs[0]!];
    const text = renderNft({
      devices: new Map([
        ['eth0', all],
        ['eth1', all],
      ]),
    });
    assert.equal(
      text,
      [
        'table netdev tsvs { flags owner; }',
        'delete table netdev tsvs',
        'table netdev tsvs {',
        '  flags owner',
        '  set m0 {',
        '    type ipv4_addr . inet_service',
        '    counter',
        '    elements = { 10.1.0.0 . 80, 10.1.0.1 . 80, 10.1.0.2 . 80, 10.1.0.3 . 80 }',
        '  }',
        '  set m1 {',
        '    type ipv6_addr . inet_service',
        '    counter',
        '    elements = { fd00::1 . 53, fd00::2 . 53, fd00::3 . 53, fd00::4 . 53 }',
        '  }',
        '  chain ingress_eth0 {',
        '    type filter hook ingress device "eth0" priority -500; policy accept;',
        '    meta l4proto tcp ip daddr . th dport @m0 counter drop',
        '    meta l4proto udp ip6 saddr . th sport @m1 ip6 daddr != { fd00::ff } counter drop',
        '    meta l4proto tcp ip daddr 10.2.0.1 counter drop',
        '  }',
        '  chain ingress_eth1 {',
        '    type filter hook ingress device "eth1" priority -500; policy accept;',
        '    meta l4proto tcp ip daddr . th dport @m0 counter drop',
        '    meta l4proto udp ip6 saddr . th sport @m1 ip6 daddr != { fd00::ff } counter drop',
        '    meta l4proto tcp ip daddr 10.2.0.1 counter drop',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });
});
