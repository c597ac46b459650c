// §8 (save format), §9 (restore) and §10 (sorting).

import { helpText } from '../../../src/adm/help.js';
import { type AdmCase, HEAD, lines, server, TRY } from './types.js';

/** The §8 example, verbatim. */
export const SAVE_EXAMPLE = lines(
  '-A -t 207.175.44.110:80 -s rr -p 360',
  '-a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 1',
  '-a -t 207.175.44.110:80 -r 192.168.10.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
  '-A -u 207.175.44.110:53 -s sh -o -b sh-fallback,sh-port',
  '-A -t [2001:db8::80]:443 -s lc -p 120 -M 64 --pe sip',
  '-A -f 1 -s wrr -p 600 -M 255.255.255.0',
  '-a -f 1 -r 10.0.0.1:0 -m -w 0',
  '-A -f 2 -6 -s mh -b mh-port',
  '-a -f 2 -6 -r [2001:db8::a0a0]:0 -g -w 1',
);

const SVC = ['-t', '10.0.0.1:80'];

function restore(
  description: string,
  stdin: string,
  out: { stdout?: string; stderr?: string; code?: number; saved: string; given?: string[][] },
): AdmCase {
  return {
    spec: '§9',
    description,
    given: out.given ?? [],
    argv: ['-R'],
    stdin,
    stdout: out.stdout ?? '',
    stderr: out.stderr ?? '',
    code: out.code ?? 0,
    saved: out.saved,
  };
}

export const RULES_CASES: AdmCase[] = [
  // §8
  {
    spec: '§8',
    description: 'the man-page save example restores and saves back identically',
    argv: ['-R'],
    stdin: SAVE_EXAMPLE,
    stdout: '',
    stderr: '',
    code: 0,
    saved: SAVE_EXAMPLE,
  },
  {
    spec: '§8',
    description: '-S with names',
    given: [
      ['-A', '-t', '127.0.0.1:80', '-s', 'rr'],
      ['-a', '-t', '127.0.0.1:80', '-r', '10.0.0.1:8080', '-m'],
      ['-A', '--sctp-service', '10.1.1.1:3868'],
    ],
    argv: ['-S'],
    stdout: lines(
      '-A -t localhost:http -s rr',
      '-a -t localhost:http -r rs1.example.test:http-alt -m -w 1',
      '-A --sctp-service 10.1.1.1:diameter -s wlc',
    ),
    stderr: '',
    code: 0,
    needs: ['names'],
  },
  {
    spec: '§8',
    description: 'thresholds are not saved; Local is saved as -g',
    given: [
      ['-A', '-t', '192.168.1.1:80'],
      ['-a', '-t', '192.168.1.1:80', '-r', '10.0.0.1:80', '-m', '-x', '10', '-y', '5'],
      ['-a', '-t', '192.168.1.1:80', '-r', '10.0.0.2:80', '-m'],
    ],
    fixture: 'counts',
    argv: ['-S', '-n'],
    stdout: lines(
      '-A -t 192.168.1.1:80 -s wlc',
      '-a -t 192.168.1.1:80 -r 10.0.0.1:80 -m -w 1',
      '-a -t 192.168.1.1:80 -r 10.0.0.2:80 -g -w 1',
    ),
    stderr: '',
    code: 0,
    needs: ['fixture'],
  },
  {
    spec: '§8',
    description: 'an empty table saves nothing',
    argv: ['-S'],
    stdout: '',
    stderr: '',
    code: 0,
  },
  // §9
  restore(
    'lines may start with ipvsadm; the word is dropped anywhere; blank lines are skipped',
    'ipvsadm -A -t 10.0.0.1:80\n\n   \nipvsadm\n-a ipvsadm -t 10.0.0.1:80 -r 10.0.0.2 ipvsadm\n',
    { saved: lines('-A -t 10.0.0.1:80 -s wlc', '-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1') },
  ),
  restore('tabs, CR and a last line without a newline', '-A\t-t 10.0.0.1:80\r\n-E -t 10.0.0.1:80 -s rr', {
    saved: '-A -t 10.0.0.1:80 -s rr\n',
  }),
  restore('a last line ending in two blanks and no newline is lost', '-A -t 10.0.0.1:80\n-E -t 10.0.0.1:80 -s rr  ', {
    saved: '-A -t 10.0.0.1:80 -s wlc\n',
  }),
  restore('# is not special: a comment line is the hint, exit 255', '-A -t 10.0.0.1:80\n# comment\n-C\n', {
    stderr: TRY,
    code: 255,
    saved: '-A -t 10.0.0.1:80 -s wlc\n',
  }),
  restore('a trailing comment is an unexpected argument', '-A -t 10.0.0.1:80 # web\n', {
    stderr: 'unexpected argument #\n',
    code: 2,
    saved: '',
  }),
  restore('-R inside -R', '-A -t 10.0.0.1:80\n-R\n-C\n', {
    stderr: TRY,
    code: 255,
    saved: '-A -t 10.0.0.1:80 -s wlc\n',
  }),
  restore('a validation error stops the restore', '-A -t 10.0.0.1:80\n-A -t 10.0.0.2\n-A -t 10.0.0.3:80\n', {
    stderr: 'Zero port specified for non-persistent service\n',
    code: 2,
    saved: '-A -t 10.0.0.1:80 -s wlc\n',
  }),
  restore('a kernel error is reported and the restore goes on', '-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n-A -t 10.0.0.3:80\n', {
    stderr: 'Service already exists\n',
    code: 0,
    saved: lines('-A -t 10.0.0.1:80 -s wlc', '-A -t 10.0.0.3:80 -s wlc'),
  }),
  restore('the status is that of the last line', '-A -t 10.0.0.3:80\n-D -t 10.0.0.1:80\n', {
    stderr: 'No such service\n',
    code: 255,
    saved: '-A -t 10.0.0.3:80 -s wlc\n',
  }),
  restore('a popt error is reported and the restore goes on', '-A -t 10.0.0.1:80 --foo\n-A -t 10.0.0.3:80\n', {
    stderr: '--foo: unknown option\n',
    code: 0,
    saved: '-A -t 10.0.0.3:80 -s wlc\n',
  }),
  restore('a listing failure stops the restore with status 1', '-L -t 10.0.0.9:80\n-A -t 10.0.0.3:80\n', {
    stderr: 'No such service\n',
    code: 1,
    saved: '',
  }),
  restore('listings and --set work inside -R', '-A -t 10.0.0.1:80\n-L -n\n--set 1 2 3\n-L --timeout\n', {
    stdout: `${HEAD}TCP  10.0.0.1:80 wlc\nTimeout (tcp tcpfin udp): 1 2 3\n`,
    saved: '-A -t 10.0.0.1:80 -s wlc\n',
  }),
  restore('-h inside -R prints help and ends with 0', '-A -t 10.0.0.1:80\n-h\n-A -t 10.0.0.3:80\n', {
    stdout: helpText('ipvsadm'),
    saved: '-A -t 10.0.0.1:80 -s wlc\n',
  }),
  restore('empty input', '', { saved: '' }),
  restore('-S output is -R input', '-A -t 10.0.0.1:80 -s rr -p 60 -M 255.255.255.0\n-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 3\n', {
    saved: lines('-A -t 10.0.0.1:80 -s rr -p 60 -M 255.255.255.0', '-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 3'),
  }),
  restore('a fwmark above 2^31 saved negative cannot be restored', '-A -f -1294967296 -s wlc\n', {
    stderr: "invalid fwmark value `-1294967296' specified\n",
    code: 2,
    saved: '',
  }),
  // §10
  {
    spec: '§10',
    description: 'T50: addresses 2^31 apart compare backwards',
    given: [
      ['-A', '-t', '1.1.1.1:80'],
      ['-A', '-t', '10.0.0.1:80'],
      ['-A', '-t', '172.16.0.1:80'],
      ['-A', '-t', '192.168.1.1:80'],
    ],
    argv: ['-S', '-n'],
    stdout: lines('-A -t 172.16.0.1:80 -s wlc', '-A -t 192.168.1.1:80 -s wlc', '-A -t 1.1.1.1:80 -s wlc', '-A -t 10.0.0.1:80 -s wlc'),
    stderr: '',
    code: 0,
  },
  {
    spec: '§10',
    description: 'T51: server 192.168.2.1 before 10.0.0.2',
    given: [
      ['-A', ...SVC],
      ['-a', ...SVC, '-r', '10.0.0.2', '-m'],
      ['-a', ...SVC, '-r', '192.168.2.1', '-m'],
    ],
    argv: ['-L', '-n'],
    stdout: `${HEAD}TCP  10.0.0.1:80 wlc\n${server('192.168.2.1:80', 'Masq', 1)}${server('10.0.0.2:80', 'Masq', 1)}`,
    stderr: '',
    code: 0,
  },
  {
    spec: '§10',
    description: 'fwmark-less first, then by family, protocol, address, port',
    given: [
      ['-A', '-f', '5'],
      ['-A', '-t', '[2001:db8::1]:80'],
      ['-A', '-f', '4', '-6'],
      ['-A', '--sctp-service', '10.0.0.1:80'],
      ['-A', '-u', '10.0.0.1:80'],
      ['-A', '-t', '10.0.0.1:443'],
      ['-A', '-t', '10.0.0.1:80'],
      ['-A', '-t', '[2001:db8::1]:79'],
      ['-A', '-t', '[2001:db8::0:1:0]:1'],
    ],
    argv: ['-S', '-n'],
    stdout: lines(
      '-A -t 10.0.0.1:80 -s wlc',
      '-A -t 10.0.0.1:443 -s wlc',
      '-A -u 10.0.0.1:80 -s wlc',
      '-A --sctp-service 10.0.0.1:80 -s wlc',
      '-A -t [2001:db8::1]:79 -s wlc',
      '-A -t [2001:db8::1]:80 -s wlc',
      '-A -t [2001:db8::1:0]:1 -s wlc',
      '-A -f 4 -6 -s wlc',
      '-A -f 5 -s wlc',
    ),
    stderr: '',
    code: 0,
  },
  {
    spec: '§10',
    description: '--nosort: services in insertion order, servers newest first',
    given: [
      ['-A', '-t', '10.0.0.2:80'],
      ['-A', ...SVC],
      ['-a', ...SVC, '-r', '10.0.0.5', '-m'],
      ['-a', ...SVC, '-r', '10.0.0.4', '-m'],
      ['-a', ...SVC, '-r', '10.0.0.6', '-m'],
    ],
    argv: ['-L', '-n', '--nosort'],
    stdout: `${HEAD}TCP  10.0.0.2:80 wlc\nTCP  10.0.0.1:80 wlc\n${server('10.0.0.6:80', 'Masq', 1)}${server('10.0.0.4:80', 'Masq', 1)}${server('10.0.0.5:80', 'Masq', 1)}`,
    stderr: '',
    code: 0,
  },
  {
    spec: '§10',
    description: '--sort is the default',
    given: [
      ['-A', '-t', '10.0.0.2:80'],
      ['-A', ...SVC],
    ],
    argv: ['-L', '-n', '--sort'],
    stdout: `${HEAD}TCP  10.0.0.1:80 wlc\nTCP  10.0.0.2:80 wlc\n`,
    stderr: '',
    code: 0,
  },
  {
    spec: '§10',
    description: 'servers of one address sort by port',
    given: [
      ['-A', ...SVC],
      ['-a', ...SVC, '-r', '10.0.0.2:90', '-m'],
      ['-a', ...SVC, '-r', '10.0.0.2:9', '-m'],
    ],
    argv: ['-S', '-n'],
    stdout: lines('-A -t 10.0.0.1:80 -s wlc', '-a -t 10.0.0.1:80 -r 10.0.0.2:9 -m -w 1', '-a -t 10.0.0.1:80 -r 10.0.0.2:90 -m -w 1'),
    stderr: '',
    code: 0,
  },
];
