// tsvs's extensions (docs/tsvsadm.md): --fullnat, --laddr, --proxy-protocol, --laddr-info. They follow
// ipvsadm's rules for option bits, the command table (§3) and the save format (§8).

import { type AdmCase, HEAD, lines, server } from './types.js';

const SVC = ['-t', '10.0.0.1:80'];
const ADD_SVC = ['-A', ...SVC];

function ext(spec: string, description: string, c: Partial<AdmCase> & { argv: string[] }): AdmCase {
  return { spec, description, stdout: '', stderr: '', code: 0, ...c };
}

export const EXTENSION_CASES: AdmCase[] = [
  ext('§4.6', 'tsvs: --fullnat keeps the given port and is listed FullNat', {
    given: [ADD_SVC],
    argv: ['-a', ...SVC, '-r', '10.0.0.2:8080', '--fullnat'],
    after: {
      argv: ['-L', '-n'],
      stdout: `${HEAD}TCP  10.0.0.1:80 wlc\n${server('10.0.0.2:8080', 'FullNat', 1)}`,
    },
    saved: lines('-A -t 10.0.0.1:80 -s wlc', '-a -t 10.0.0.1:80 -r 10.0.0.2:8080 --fullnat -w 1'),
  }),
  ext('§2', 'tsvs: --fullnat shares the forwarding-method bit', {
    argv: ['-a', ...SVC, '-r', '10.0.0.2', '-m', '--fullnat'],
    stderr: "multiple 'forwarding-method' options specified\n",
    code: 2,
  }),
  ext('§4.6', 'tsvs: tunnel options need -i, not --fullnat', {
    argv: ['-a', ...SVC, '-r', '10.0.0.2', '--fullnat', '--tun-csum'],
    stderr: 'Tunnel options conflict with forward method\n',
    code: 2,
  }),
  ext('§8', 'tsvs: --laddr is repeatable, saved and listed', {
    argv: [...ADD_SVC, '--laddr', '10.0.0.5', '-s', 'rr', '--laddr', '10.0.0.6'],
    after: {
      argv: ['-L', '-n'],
      stdout: `${HEAD}TCP  10.0.0.1:80 rr laddr 10.0.0.5,10.0.0.6\n`,
    },
    saved: '-A -t 10.0.0.1:80 -s rr --laddr 10.0.0.5 --laddr 10.0.0.6\n',
  }),
  ext('§4.3', 'tsvs: -E without --laddr keeps the local addresses', {
    given: [[...ADD_SVC, '--laddr', '10.0.0.5']],
    argv: ['-E', ...SVC, '-s', 'rr'],
    saved: '-A -t 10.0.0.1:80 -s rr --laddr 10.0.0.5\n',
  }),
  ext('§4.3', 'tsvs: -E with --laddr replaces them', {
    given: [[...ADD_SVC, '--laddr', '10.0.0.5']],
    argv: ['-E', ...SVC, '--laddr', '10.0.0.7'],
    saved: '-A -t 10.0.0.1:80 -s wlc --laddr 10.0.0.7\n',
  }),
  ext('§4.3', 'tsvs: an IPv6 local address on an IPv4 service', {
    argv: [...ADD_SVC, '--laddr', '2001:db8::5'],
    stderr: 'Local address family differs from the virtual service\n',
    code: 2,
    saved: '',
  }),
  ext('§4.3', 'tsvs: IPv6 local addresses on an IPv6 service', {
    argv: ['-A', '-t', '[2001:db8::1]:80', '--laddr', '2001:db8::5'],
    saved: '-A -t [2001:db8::1]:80 -s wlc --laddr 2001:db8::5\n',
  }),
  ext('§4.3', 'tsvs: a bad local address', {
    argv: [...ADD_SVC, '--laddr', 'nosuch.invalid'],
    stderr: 'illegal local address specified\n',
    code: 2,
  }),
  ext('§7.6', 'tsvs: -c --laddr-info adds a local column to the connection listing', {
    argv: ['-L', '-n', '-c', '--laddr-info'],
    stdout: 'IPVS connection entries\npro expire state       source             virtual            destination        local\n',
  }),
  ext('§3', 'tsvs: --laddr-info is for listings only', {
    argv: [...ADD_SVC, '--laddr-info'],
    stderr: "Illegal 'laddr-info' option with the 'add-service' command\n",
    code: 2,
  }),
  ext('§3', 'tsvs: --laddr is for services only', {
    argv: ['-a', ...SVC, '-r', '10.0.0.2', '--laddr', '10.0.0.5'],
    stderr: "Illegal 'laddr' option with the 'add-server' command\n",
    code: 2,
  }),
  ext('§8', 'tsvs: --proxy-protocol is saved', {
    given: [ADD_SVC],
    argv: ['-a', ...SVC, '-r', '10.0.0.2', '-m', '--proxy-protocol', 'v2'],
    saved: lines('-A -t 10.0.0.1:80 -s wlc', '-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1 --proxy-protocol v2'),
  }),
  ext('§4.6', 'tsvs: -e without --proxy-protocol turns it off', {
    given: [ADD_SVC, ['-a', ...SVC, '-r', '10.0.0.2', '-m', '--proxy-protocol', 'v1']],
    argv: ['-e', ...SVC, '-r', '10.0.0.2', '-m', '-w', '2'],
    saved: lines('-A -t 10.0.0.1:80 -s wlc', '-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 2'),
  }),
  ext('§2.1', 'tsvs: an unknown PROXY protocol version', {
    argv: ['-a', ...SVC, '-r', '10.0.0.2', '--proxy-protocol', 'v3'],
    stderr: 'illegal proxy-protocol version specified\n',
    code: 2,
  }),
  ext('§2', 'tsvs: --proxy-protocol once', {
    argv: ['-a', ...SVC, '-r', '10.0.0.2', '--proxy-protocol', 'v1', '--proxy-protocol', 'v2'],
    stderr: "multiple 'proxy-protocol' options specified\n",
    code: 2,
  }),
  ext('§3', 'tsvs: --proxy-protocol is for servers only', {
    argv: [...ADD_SVC, '--proxy-protocol', 'v1'],
    stderr: "Illegal 'proxy-protocol' option with the 'add-service' command\n",
    code: 2,
  }),
  ext('§9', 'tsvs: extensions survive -S | -R', {
    argv: ['-R'],
    stdin: lines('-A -t 10.0.0.1:80 -s rr --laddr 10.0.0.5', '-a -t 10.0.0.1:80 -r 10.0.0.2:8080 --fullnat -w 1 --proxy-protocol v1'),
    saved: lines('-A -t 10.0.0.1:80 -s rr --laddr 10.0.0.5', '-a -t 10.0.0.1:80 -r 10.0.0.2:8080 --fullnat -w 1 --proxy-protocol v1'),
  }),
];
