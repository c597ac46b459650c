import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderNft } from '../../../src/engine/packet/nft.js';

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
});
