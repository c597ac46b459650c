// Random command lines (fast-check): tsvsadm never throws, never hangs, and a command it
// rejects (any exit status but 0) leaves the rules exactly as they were (`-S -n` unchanged).
// TSVS_FUZZ_RUNS sets the number of command lines (default 100,000).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from '../fc.js';
import { runAdm } from '../../src/adm/run.js';
import { Ipvs } from '../../src/core/ipvs.js';
import { RESOLVER as resolver } from './harness.js';

const RUNS = Number(process.env.TSVS_FUZZ_RUNS ?? 100_000);

const commands = [
  '-A',
  '-E',
  '-D',
  '-C',
  '-a',
  '-e',
  '-d',
  '-L',
  '-l',
  '-Z',
  '-S',
  '--set',
  '--start-daemon',
  '--stop-daemon',
  '-h',
  '-v',
  '-R',
];
const options = [
  '-t',
  '-u',
  '--sctp-service',
  '-f',
  '-6',
  '-s',
  '-p',
  '-M',
  '--pe',
  '-b',
  '-o',
  '-r',
  '-g',
  '-i',
  '-m',
  '-w',
  '-x',
  '-y',
  '--tun-type',
  '--tun-port',
  '--tun-nocsum',
  '--tun-csum',
  '--tun-remcsum',
  '-n',
  '-c',
  '--timeout',
  '--daemon',
  '--stats',
  '--rate',
  '--thresholds',
  '--persistent-conn',
  '--nosort',
  '--sort',
  '--exact',
  '-X',
  '--tun-info',
  '--mcast-interface',
  '--syncid',
  '--sync-maxlen',
  '--mcast-group',
  '--mcast-port',
  '--mcast-ttl',
  '--',
  '--fullnat',
  '--laddr',
  '--proxy-protocol',
  '-Ln',
  '-At',
  '-Lnc',
  '-AQ',
  '--numeric=1',
];
const values = [
  '10.0.0.1:80',
  '10.0.0.2',
  '10.0.0.1:8080',
  '[2001:db8::1]:80',
  '2001:db8::1',
  '1.2.3:80',
  'localhost:http',
  '0.0.0.0:0',
  '224.0.0.1',
  '80',
  '',
  ':',
  '[',
  '1',
  '0',
  '-1',
  '65535',
  '65536',
  '2147483648',
  'rr',
  'wrr',
  'sh',
  'mh',
  'none',
  'wlc',
  'sh-port',
  'mh-fallback',
  'flag-1,,flag-3',
  ',',
  'sip',
  'master',
  'backup',
  'lo',
  'gue',
  'gre',
  'ipip',
  'v1',
  'v2',
  '255.255.255.0',
  '24',
  '129',
  'ipvsadm',
  '#',
  'x',
];
const token = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...options) },
  { weight: 3, arbitrary: fc.constantFrom(...values) },
  { weight: 1, arbitrary: fc.constantFrom(...commands) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const argvArb = fc.tuple(fc.constantFrom(...commands, ...options), fc.array(token, { maxLength: 10 })).map(([a, b]) => [a, ...b]);

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`hung: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

describe('tsvsadm fuzz', () => {
  it(`${RUNS} random command lines: no crash, no hang, rejected commands change nothing`, { timeout: 600_000 }, async () => {
    let ipvs = new Ipvs();
    let n = 0;
    const run = (argv: string[]) => runAdm(argv, 'ipvsadm', { ipvs, now: 0, resolver, stdin: '-A -t 10.0.0.3:80\n' });
    await fc.assert(
      fc.asyncProperty(argvArb, async (argv) => {
        if (++n % 500 === 0) ipvs = new Ipvs(); // keep the table small
        const before = (await run(['-S', '-n'])).stdout;
        const r = await withTimeout(run(argv), 2000, argv.join(' '));
        assert.equal(typeof r.code, 'number');
        if (r.code !== 0) {
          const after = (await run(['-S', '-n'])).stdout;
          assert.equal(after, before, `rejected ${JSON.stringify(argv)} (exit ${r.code}) changed the rules`);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
