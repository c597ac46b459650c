// §3 (which options each command accepts, list conflicts) and §3.1 (validation order).

import { type AdmCase, lines } from './types.js';

const SVC = ['-t', '10.0.0.1:80'];

function bad(spec: string, description: string, argv: string[], stderr: string): AdmCase {
  return { spec, description, argv, stdout: '', stderr: `${stderr}\n`, code: 2, saved: '' };
}

export const TABLE_CASES: AdmCase[] = [
  bad(
    '§3',
    'compulsory service for -A',
    ['-A', '-s', 'rr'],
    "You need to supply the 'service-address' option for the 'add-service' command",
  ),
  bad('§3', 'compulsory service for -E', ['-E'], "You need to supply the 'service-address' option for the 'edit-service' command"),
  bad('§3', 'compulsory real server for -a', ['-a', ...SVC], "You need to supply the 'real-server' option for the 'add-server' command"),
  bad(
    '§3',
    'compulsory service for -d',
    ['-d', '-r', '10.0.0.2'],
    "You need to supply the 'service-address' option for the 'delete-server' command",
  ),
  bad('§3', 'compulsory service for -D', ['-D'], "You need to supply the 'service-address' option for the 'delete-service' command"),
  bad('§3', 'illegal option for -A', ['-A', ...SVC, '-n'], "Illegal 'numeric' option with the 'add-service' command"),
  bad(
    '§3',
    'numeric comes first in the walk, before the missing service',
    ['-A', '-n', '-w', '1'],
    "Illegal 'numeric' option with the 'add-service' command",
  ),
  bad('§3', 'real-server with -E', ['-E', ...SVC, '-r', '10.0.0.2'], "Illegal 'real-server' option with the 'edit-service' command"),
  bad('§3', 'scheduler with -D', ['-D', ...SVC, '-s', 'rr'], "Illegal 'scheduler' option with the 'delete-service' command"),
  bad('§3', 'weight with -d', ['-d', ...SVC, '-r', '10.0.0.2', '-w', '1'], "Illegal 'weight' option with the 'delete-server' command"),
  bad('§3', 'numeric with -C', ['-C', '-n'], "Illegal 'numeric' option with the 'flush' command"),
  bad('§3', 'nosort with -S', ['-S', '--nosort'], "Illegal 'nosort' option with the 'save' command"),
  bad('§3', 'numeric with -R', ['-R', '-n'], "Illegal 'numeric' option with the 'restore' command"),
  bad('§3', 'numeric with --set', ['--set', '1', '2', '3', '-n'], "Illegal 'numeric' option with the 'set' command"),
  bad(
    '§3',
    'mcast-interface with --stop-daemon',
    ['--stop-daemon', 'master', '--mcast-interface', 'eth0'],
    "Illegal 'mcast-interface' option with the 'stop-daemon' command",
  ),
  bad(
    '§3',
    'weight with --start-daemon',
    ['--start-daemon', 'master', '-w', '1'],
    "Illegal 'weight' option with the 'start-daemon' command",
  ),
  bad('§3', 'numeric with -Z', ['-Z', '-n'], "Illegal 'numeric' option with the 'zero' command"),
  bad('§3', 'scheduler with -L', ['-L', '-s', 'rr'], "Illegal 'scheduler' option with the 'list' command"),
  bad('§3', 'ops with -a', ['-a', ...SVC, '-r', '10.0.0.2', '-o'], "Illegal 'ops' option with the 'add-server' command"),
  bad('§3', 'tun-info with -a', ['-a', ...SVC, '-r', '10.0.0.2', '--tun-info'], "Illegal 'tun-info' option with the 'add-server' command"),
  bad(
    '§3',
    'the second exclusive option names the first',
    ['-L', '-c', ...SVC],
    "The option 'service-address' conflicts with the 'connection' option in the 'list' command",
  ),
  bad(
    '§3',
    'timeout and daemon',
    ['-L', '--daemon', '--timeout'],
    "The option 'daemon' conflicts with the 'timeout' option in the 'list' command",
  ),
  bad('§3', 'list conflicts: -c with --stats', ['-L', '-c', '--stats'], 'options conflicts in the list command'),
  bad('§3', 'list conflicts: --daemon with --rate', ['-L', '--daemon', '--rate'], 'options conflicts in the list command'),
  bad(
    '§3',
    'list conflicts: --timeout with --persistent-conn',
    ['-L', '--timeout', '--persistent-conn'],
    'options conflicts in the list command',
  ),
  {
    spec: '§3',
    description: '-c with --persistent-conn, -n, --nosort, --exact, --tun-info is allowed',
    argv: ['-L', '-c', '--persistent-conn', '-n', '--nosort', '--exact', '--tun-info'],
    stdout: lines(
      'IPVS connection entries',
      'pro expire state       source             virtual            destination        pe name          pe_data',
    ),
    stderr: '',
    code: 0,
  },
  {
    spec: '§3',
    description: '--syncid is accepted (and ignored) by -L',
    argv: ['-L', '-n', '--syncid', '3', '--timeout'],
    stdout: 'Timeout (tcp tcpfin udp): 900 120 300\n',
    stderr: '',
    code: 0,
  },
  {
    spec: '§3',
    description: '-6 is never checked against the table',
    given: [['-A', '-f', '1', '-6']],
    argv: ['-L', '-n', '-f', '1', '-6'],
    stdout: lines(
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'FWM  1 IPv6 wlc',
    ),
    stderr: '',
    code: 0,
  },
  // §3.1 order
  {
    spec: '§3.1',
    description: 'popt errors come before --set values',
    argv: ['--set', '1', '2', 'x', '-Q'],
    stdout: '',
    stderr: '-Q: unknown option\n',
    code: 255,
  },
  bad('§3.1', '--set values before leftovers', ['--set', '1', '2', '3000000', 'extra'], "invalid timeout value `3000000' specified"),
  bad('§3.1', 'leftovers before -b', ['-L', 'extra', '-b', 'foo'], 'unexpected argument extra'),
  bad('§3.1', '-b is parsed even where it is illegal, before the table', ['-a', ...SVC, '-b', 'foo'], "invalid scheduler flag `foo'"),
  bad(
    '§3.1',
    'the table before the zero-port check',
    ['-A', '-t', '10.0.0.1', '-n'],
    "Illegal 'numeric' option with the 'add-service' command",
  ),
  bad('§3.1', 'the zero-port check before the -o check', ['-A', '-t', '10.0.0.1', '-o'], 'Zero port specified for non-persistent service'),
  bad(
    '§3.1',
    'the family check before the tunnel options',
    ['-a', ...SVC, '-r', '[2001:db8::1]:80', '--tun-port', '5'],
    'Different address family is allowed only for tunneling servers',
  ),
  bad(
    '§3.1',
    'the table before the list conflicts',
    ['-L', '-c', '--stats', ...SVC],
    "The option 'service-address' conflicts with the 'connection' option in the 'list' command",
  ),
  bad(
    '§3.1',
    'a value error before a later multiple-option error',
    ['-A', '-t', 'x', '-t', '10.0.0.1:80'],
    'illegal virtual server address[:port] specified',
  ),
];
