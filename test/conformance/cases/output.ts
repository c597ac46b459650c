// §7: listing formats byte for byte — address rendering and truncation, the default list,
// --tun-info, --stats/--rate and the large-number rule, --thresholds, --persistent-conn,
// connections, timeouts and daemons.

import { LONG_HOST } from './env.js';
import { type AdmCase, HEAD, lines, server, TITLE, VERSION } from './types.js';

const SVC = ['-t', '10.0.0.1:80'];
const ADD_SVC = ['-A', ...SVC];
const T52 = [
  ['-A', '-t', '192.168.1.1:80'],
  ['-a', '-t', '192.168.1.1:80', '-r', '10.0.0.1:80', '-m'],
  ['-a', '-t', '192.168.1.1:80', '-r', '10.0.0.2:80', '-m'],
];
const STATS_TITLE = lines('Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes', '  -> RemoteAddress:Port');
const RATE_TITLE = lines('Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS', '  -> RemoteAddress:Port');
const CONN_TITLE = lines('IPVS connection entries', 'pro expire state       source             virtual            destination');

function list(spec: string, description: string, given: string[][], argv: string[], stdout: string, extra: Partial<AdmCase> = {}): AdmCase {
  return { spec, description, given, argv, stdout, stderr: '', code: 0, ...extra };
}

export const OUTPUT_CASES: AdmCase[] = [
  // §7.1
  list(
    '§7.1',
    'IPv6 numeric, compressed lower case, bracketed',
    [['-A', '-t', '[2001:DB8:0:0::ABCD]:443']],
    ['-L', '-n'],
    `${HEAD}TCP  [2001:db8::abcd]:443 wlc\n`,
  ),
  list(
    '§7.1',
    'names: host by reverse lookup, port by protocol, numbers when unknown',
    [
      ['-A', '-t', '127.0.0.1:80'],
      ['-a', '-t', '127.0.0.1:80', '-r', '10.0.0.1:8080', '-m'],
      ['-a', '-t', '127.0.0.1:80', '-r', '10.0.0.2:65000', '-m'],
      ['-A', '-u', '192.168.1.1:53'],
    ],
    ['-L'],
    HEAD +
      'TCP  localhost:http wlc\n' +
      server('rs1.example.test:http-alt', 'Masq', 1) +
      server('10.0.0.2:65000', 'Masq', 1) +
      'UDP  192.168.1.1:domain wlc\n',
    { needs: ['names'] },
  ),
  list('§7.1', 'IPv6 names keep their brackets', [['-A', '-t', '[::1]:443']], ['-L'], `${HEAD}TCP  [::1]:https wlc\n`, {
    needs: ['names'],
  }),
  list(
    '§7.1',
    'list labels are cut at 33 (service) and 28 (server) characters',
    [
      ['-A', '-t', '10.0.0.98:8080'],
      ['-a', '-t', '10.0.0.98:8080', '-r', '10.0.0.99:8080', '-m'],
    ],
    ['-L'],
    `${HEAD}TCP  long-service-name.example.te wlc\n${server('a-rather-long-host-name-for-', 'Masq', 1)}`,
    { needs: ['names'] },
  ),
  list(
    '§7.1',
    'save labels are not cut, but addresses stop at 59 characters',
    [
      ['-A', '-t', '10.0.0.98:8080'],
      ['-a', '-t', '10.0.0.98:8080', '-r', '10.0.0.99:8080', '-m'],
    ],
    ['-S'],
    lines(
      '-A -t long-service-name.example.test:http-alt -s wlc',
      `-a -t long-service-name.example.test:http-alt -r ${`${LONG_HOST}:http-alt`.slice(0, 59)} -m -w 1`,
    ),
    { needs: ['names'] },
  ),
  list(
    '§7.1',
    'IPv6 labels are never cut',
    [
      ['-A', '-t', '[2001:db8:1234:5678:9abc:def0:1234:5678]:65535'],
      ['-a', '-t', '[2001:db8:1234:5678:9abc:def0:1234:5678]:65535', '-r', '[2001:db8:1234:5678:9abc:def0:1234:5679]:65535', '-m'],
    ],
    ['-L', '-n'],
    `${HEAD}TCP  [2001:db8:1234:5678:9abc:def0:1234:5678]:65535 wlc\n  -> [2001:db8:1234:5678:9abc:def0:1234:5679]:65535 Masq    1      0          0         \n`,
  ),
  list(
    '§7.1',
    'an IPv4 service cuts the label of its IPv6 tunnel server',
    [ADD_SVC, ['-a', ...SVC, '-r', '[2001:db8:1234:5678::abcd:ef01]:80', '-i']],
    ['-L', '-n'],
    `${HEAD}TCP  10.0.0.1:80 wlc\n${server('[2001:db8:1234:5678::abcd:ef', 'Tunnel', 1)}`,
  ),
  // §7.2
  list(
    '§7.2',
    'an empty table is the three header lines',
    [],
    ['-L', '-n'],
    'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
  ),
  list(
    '§7.2',
    'sh flags, persistence, ops',
    [['-A', '-u', '10.0.0.1:53', '-s', 'sh', '-b', 'sh-port', '-p', '60', '-M', '255.255.0.0', '-o']],
    ['-l', '-n'],
    `${HEAD}UDP  10.0.0.1:53 sh (sh-port) persistent 60 mask 255.255.0.0 ops\n`,
  ),
  list(
    '§7.2',
    'the pe shows only when persistent; flag-3 by name with sh',
    [
      ['-A', ...SVC, '--pe', 'sip'],
      ['-A', '-t', '10.0.0.2:80', '--pe', 'sip', '-p', '5', '-s', 'sh', '-b', 'flag-3'],
    ],
    ['-L', '-n'],
    `${HEAD}TCP  10.0.0.1:80 wlc\nTCP  10.0.0.2:80 sh (flag-3) persistent 5 pe sip\n`,
  ),
  list(
    '§7.2',
    'mh flags; fwmark above 2^31 is signed and sorts first',
    [['-A', '-f', '3000000000', '-s', 'mh', '-b', 'mh-fallback,mh-port,flag-3'], ADD_SVC],
    ['-L', '-n'],
    `${HEAD}FWM  -1294967296 mh (mh-fallback,mh-port,flag-3)\nTCP  10.0.0.1:80 wlc\n`,
  ),
  list(
    '§7.2',
    'forwarding names, weights, wide numbers push the line right',
    T52,
    ['-L', '-n'],
    `${HEAD}TCP  192.168.1.1:80 wlc\n  -> 10.0.0.1:80                  Masq    1      1234567    42        \n${server('10.0.0.2:80', 'Local', 1)}`,
    { fixture: 'counts', needs: ['fixture'] },
  ),
  list(
    '§7.2',
    'weight 65535 and 0',
    [ADD_SVC, ['-a', ...SVC, '-r', '10.0.0.2', '-w', '65535'], ['-a', ...SVC, '-r', '10.0.0.3', '-w', '0', '-i']],
    ['-L', '-n'],
    `${HEAD}TCP  10.0.0.1:80 wlc\n${server('10.0.0.2:80', 'Route', 65535)}${server('10.0.0.3:80', 'Tunnel', 0)}`,
  ),
  // §7.3
  list(
    '§7.3',
    '--tun-info',
    [
      ADD_SVC,
      ['-a', ...SVC, '-r', '10.0.0.2', '-i'],
      ['-a', ...SVC, '-r', '10.0.0.3', '-i', '--tun-type', 'gue', '--tun-port', '6080', '--tun-csum'],
      ['-a', ...SVC, '-r', '10.0.0.4', '-i', '--tun-type', 'gre', '--tun-nocsum'],
      ['-a', ...SVC, '-r', '10.0.0.5', '-i', '--tun-type', 'gue', '--tun-port', '6081', '--tun-remcsum'],
      ['-a', ...SVC, '-r', '10.0.0.6', '-m'],
    ],
    ['-L', '-n', '--tun-info'],
    VERSION +
      lines(
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn',
        'TCP  10.0.0.1:80 wlc',
        '  -> 10.0.0.2:80                  Tunnel  ipip          1      0          0         ',
        '  -> 10.0.0.3:80                  Tunnel  gue:6080:+c   1      0          0         ',
        '  -> 10.0.0.4:80                  Tunnel  gre:-c        1      0          0         ',
        '  -> 10.0.0.5:80                  Tunnel  gue:6081:r+c  1      0          0         ',
        '  -> 10.0.0.6:80                  Masq    n/a           1      0          0         ',
      ),
  ),
  // §7.4
  list(
    '§7.4',
    '--stats with --exact',
    T52,
    ['-L', '-n', '--stats', '--exact'],
    VERSION +
      STATS_TITLE +
      lines(
        'TCP  192.168.1.1:80               123456789 99999999 100000000 1234567890123 98765432109876543',
        '  -> 10.0.0.1:80                         5     1000     2000   150000 999999999',
        '  -> 10.0.0.2:80                  4294967295        0        1    99999 100000000000000',
      ),
    { fixture: 't52', needs: ['fixture'] },
  ),
  list(
    '§7.4',
    '--rate with -X: server CPS, InPPS, OutPPS are %8u either way',
    T52,
    ['-L', '-n', '--rate', '-X'],
    VERSION +
      RATE_TITLE +
      lines(
        'TCP  192.168.1.1:80                     12      345       67 123456789 4000000000',
        '  -> 10.0.0.1:80                         1        2        3 100000000 99999999',
        '  -> 10.0.0.2:80                  4294967295 123456789        0        0        0',
      ),
    { fixture: 't52', needs: ['fixture'] },
  ),
  list(
    '§7.4',
    '--stats of an idle table',
    [ADD_SVC, ['-a', ...SVC, '-r', '10.0.0.2']],
    ['-L', '-n', '--stats'],
    VERSION +
      STATS_TITLE +
      lines(
        'TCP  10.0.0.1:80                         0        0        0        0        0',
        '  -> 10.0.0.2:80                         0        0        0        0        0',
      ),
  ),
  list('§7.4', '-Z zeroes counters and rates of every service', T52, ['-Z'], '', {
    fixture: 't52',
    needs: ['fixture'],
    after: {
      argv: ['-L', '-n', '--stats'],
      stdout:
        VERSION +
        STATS_TITLE +
        lines(
          'TCP  192.168.1.1:80                      0        0        0        0        0',
          '  -> 10.0.0.1:80                         0        0        0        0        0',
          '  -> 10.0.0.2:80                         0        0        0        0        0',
        ),
    },
  }),
  // §7.5
  list(
    '§7.5',
    '--thresholds',
    [ADD_SVC, ['-a', ...SVC, '-r', '10.0.0.2', '-x', '100', '-y', '50']],
    ['-L', '-n', '--thresholds'],
    VERSION +
      lines(
        'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ',
        '  -> RemoteAddress:Port',
        'TCP  10.0.0.1:80 wlc',
        '  -> 10.0.0.2:80                  100        50         0          0         ',
      ),
  ),
  list(
    '§7.5',
    '--persistent-conn',
    T52,
    ['-L', '-n', '--persistent-conn'],
    VERSION +
      lines(
        'Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn ',
        '  -> RemoteAddress:Port',
        'TCP  192.168.1.1:80 wlc',
        '  -> 10.0.0.1:80                  1         7           1234567    42        ',
        '  -> 10.0.0.2:80                  1         0           0          0         ',
      ),
    { fixture: 'counts', needs: ['fixture'] },
  ),
  list(
    '§7.5',
    'stats win over rate, rate over thresholds',
    [ADD_SVC],
    ['-L', '-n', '--thresholds', '--rate', '--stats'],
    `${VERSION}${STATS_TITLE}TCP  10.0.0.1:80                         0        0        0        0        0\n`,
  ),
  list(
    '§7.5',
    'thresholds win over persistent-conn and tun-info',
    [ADD_SVC],
    ['-L', '-n', '--tun-info', '--persistent-conn', '--thresholds'],
    VERSION +
      lines(
        'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ',
        '  -> RemoteAddress:Port',
        'TCP  10.0.0.1:80 wlc',
      ),
  ),
  // §7.6
  list(
    '§7.6',
    'connections made by packets through the core',
    [
      ['-A', '-t', '192.168.1.1:80', '-p', '600'],
      ['-a', '-t', '192.168.1.1:80', '-r', '10.0.0.1:80', '-m'],
    ],
    ['-L', '-n', '-c'],
    CONN_TITLE +
      lines(
        'TCP 09:59  NONE        192.168.1.100:0    192.168.1.1:80     10.0.0.1:80',
        'TCP 00:59  SYN_RECV    192.168.1.100:54321 192.168.1.1:80     10.0.0.1:80',
        'TCP 09:59  ASSURED     192.168.1.101:0    192.168.1.1:80     10.0.0.1:80',
        'TCP 14:59  ESTABLISHED 192.168.1.101:40000 192.168.1.1:80     10.0.0.1:80',
      ),
    { fixture: 'synConns', needs: ['fixture'] },
  ),
  list(
    '§7.6',
    'connections with names',
    [],
    ['-L', '-c'],
    CONN_TITLE +
      lines(
        'TCP 14:59  ESTABLISHED 192.168.1.100:54321 192.168.1.1:http   rs1.example.test:http',
        'UDP 04:59  UDP         10.0.0.2:33333     192.168.1.1:domain rs1.example.test:domain',
        'IP  100:00 NONE        192.168.1.100:0    192.168.1.1:80     rs1.example.test:80',
        'TCP 00:59  SYN_RECV    [2001:db8::1]:http-alt [2001:db8::80]:https [2001:db8::10]:https',
      ),
    { fixture: 'conns114', needs: ['fixture', 'names'] },
  ),
  list(
    '§7.6',
    'mixed-family servers as ipvsadm reads them back; pe data with --persistent-conn',
    [],
    ['-L', '-n', '-c', '--persistent-conn'],
    lines(
      'IPVS connection entries',
      'pro expire state       source             virtual            destination        pe name          pe_data',
      'TCP 01:00  ESTABLISHED 192.168.1.100:1000 192.168.1.1:80     0.0.32.1:80',
      'UDP 00:05  UDP         [2001:db8::1]:5060 [2001:db8::80]:5060 [::]:5060        sip                abc@example',
    ),
    { fixture: 'connsOdd', needs: ['fixture'] },
  ),
  list(
    '§7.6',
    'pe data is not shown without --persistent-conn',
    [],
    ['-L', '-n', '-c'],
    CONN_TITLE +
      lines(
        'TCP 01:00  ESTABLISHED 192.168.1.100:1000 192.168.1.1:80     0.0.32.1:80',
        'UDP 00:05  UDP         [2001:db8::1]:5060 [2001:db8::80]:5060 [::]:5060',
      ),
    { fixture: 'connsOdd', needs: ['fixture'] },
  ),
  // §7.7
  list('§7.7', 'default timeouts', [], ['-L', '--timeout'], 'Timeout (tcp tcpfin udp): 900 120 300\n'),
  list('§7.7', 'timeouts with -n', [], ['-L', '-n', '--timeout'], 'Timeout (tcp tcpfin udp): 900 120 300\n'),
  list(
    '§7.7',
    'title only for one service with --stats',
    [ADD_SVC],
    ['-L', '-n', '--stats', ...SVC],
    `${STATS_TITLE}TCP  10.0.0.1:80                         0        0        0        0        0\n`,
  ),
  list('§7.7', 'the one-service list without servers', [ADD_SVC], ['-L', '-n', ...SVC], `${TITLE}TCP  10.0.0.1:80 wlc\n`),
];
