// The fixed world the conformance cases assume: host names, /etc/services lines and network
// interfaces (a staticResolver over these tables).

import type { StaticTables } from '../../../src/adm/resolve.js';

/** 60 characters: longer than ipvsadm's 59-character address buffer. */
export const LONG_HOST = 'a-rather-long-host-name-for-label-truncation.example.test.xx';

export const TABLES: StaticTables = {
  hosts: {
    localhost: '127.0.0.1',
    'www.example.test': '192.0.2.10',
    'web.example': '192.0.2.80',
    'rs1.example.test': '10.0.0.1',
    'mask.example.test': '255.255.0.0',
    [LONG_HOST]: '10.0.0.99',
    'long-service-name.example.test': '10.0.0.98',
  },
  services: [
    '# a few lines of /etc/services',
    'ftp\t\t21/tcp',
    'domain\t\t53/tcp',
    'domain\t\t53/udp',
    'http\t\t80/tcp\t\twww',
    'https\t\t443/tcp',
    'diameter\t3868/tcp',
    'diameter\t3868/sctp',
    'sip\t\t5060/tcp',
    'sip\t\t5060/udp',
    'http-alt\t8080/tcp\twebcache',
  ].join('\n'),
  interfaces: { lo: 65536, eth0: 1500, eth1: 9000, abcdefghijklmno: 1500 },
};
