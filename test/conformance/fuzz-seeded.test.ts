// Random command lines against a seeded director (services and servers to edit, delete and
// list), with option names from the table, short clusters, plausible and junk values:
// runAdm never throws, never hangs, and a command with a non-zero status leaves `-S -n`
// unchanged. Complements fuzz.test.ts (which starts from an empty director). Runs
// TSVS_FUZZ_RUNS vectors (default 100000).

import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from '../fc.js';
import { POPT_TABLE } from '../../src/adm/options.js';
import { runAdm } from '../../src/adm/run.js';
import { Ipvs } from '../../src/core/ipvs.js';
import { RESOLVER } from './harness.js';

const RUNS = Number(process.env.TSVS_FUZZ_RUNS ?? 100000);

const optionToken = fc.constantFrom(...POPT_TABLE.flatMap((o) => [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])]));
const shorts = POPT_TABLE.flatMap((o) => (o.short ? [o.short] : []));
const cluster = fc.array(fc.constantFrom(...shorts, '=', 'Q'), { minLength: 2, maxLength: 4 }).map((cs) => `-${cs.join('')}`);
const value = fc.constantFrom(
  '10.0.0.1:80',
  '10.0.0.2',
  '10.0.0.1',
  '[2001:db8::1]:80',
  '2001:db8::2',
  '[2001:db8::1]',
  '1.2.3',
  '0x0a000001:80',
  'localhost:http',
  'rr',
  'wlc',
  'sh',
  'mh',
  'sip',
  'master',
  'backup',
  'eth0',
  'gue',
  'ipip',
  'gre',
  'v1',
  'v2',
  'flag-1,sh-port',
  ',',
  '',
  '0',
  '1',
  '80',
  '360',
  '65535',
  '4294967295',
  '-1',
  '255.255.255.0',
  '239.1.2.3',
  'ff02::1',
  '--',
  '-',
  '#',
  '!#:+',
);
const junk = fc.string({ maxLength: 12 });
const token = fc.oneof(
  { weight: 5, arbitrary: optionToken },
  { weight: 1, arbitrary: cluster },
  { weight: 5, arbitrary: value },
  { weight: 1, arbitrary: junk },
);
/** Service and server options that name the seeded objects (or near misses). */
const service = fc.constantFrom(['-t', '10.0.0.1:80'], ['-t', '10.0.0.9:80'], ['-u', '10.0.0.1:53'], ['-f', '1', '-6'], ['-f', '1']);
const server = fc.constantFrom(['-r', '10.0.0.2'], ['-r', '10.0.0.3'], ['-r', '10.0.0.4:8080'], ['-r', '[2001:db8::2]:0']);
/** Other option-value pairs a command may carry. */
const extra = fc.constantFrom(
  ['-s', 'sh'],
  ['-p'],
  ['-p', '60'],
  ['-M', '24'],
  ['-m'],
  ['-i'],
  ['-g'],
  ['--fullnat'],
  ['-w', '3'],
  ['-x', '5'],
  ['-y', '7'],
  ['--tun-type', 'gue', '--tun-port', '9'],
  ['-b', 'sh-port'],
  ['--laddr', '10.0.0.7'],
  ['--proxy-protocol', 'v2'],
  ['-n'],
);
const command = fc.constantFrom('-A', '-E', '-D', '-a', '-e', '-d', '-Z', '-C', '-L', '-S');
const part = fc.oneof({ weight: 3, arbitrary: extra }, { weight: 1, arbitrary: token.map((t) => [t]) });
const argvArb = fc.oneof(
  fc.array(token, { maxLength: 9 }),
  fc
    .tuple(command, service, fc.option(server), fc.array(part, { maxLength: 3 }))
    .map(([c, svc, rs, parts]) => [c, ...svc, ...(rs ?? []), ...parts.flat()]),
);

/** A small director with something to break: two services, three servers. */
async function seeded(): Promise<Ipvs> {
  const ipvs = new Ipvs({ capacity: 16 });
  const ctx = { ipvs, now: 0, resolver: RESOLVER, stdin: '' };
  for (const argv of [
    ['-A', '-t', '10.0.0.1:80', '-s', 'rr'],
    ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-m'],
    ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.3', '-i', '--tun-type', 'gue', '--tun-port', '1'],
    ['-A', '-f', '1', '-6', '-p'],
    ['-a', '-f', '1', '-6', '-r', '[2001:db8::2]:0'],
  ]) {
    const r = await runAdm(argv, 'ipvsadm', ctx);
    assert.equal(r.code, 0, r.stderr);
  }
  return ipvs;
}

it(`tsvsadm survives ${RUNS} random command lines on a seeded director`, async () => {
  let ipvs = await seeded();
  const ctx = () => ({ ipvs, now: 0, resolver: RESOLVER, stdin: '' });
  const seededSave = (await runAdm(['-S', '-n'], 'ipvsadm', ctx())).stdout;
  // Each run starts from the seed: a run that succeeded (or failed the check) may have
  // changed the director, so the next one reseeds.
  let dirty = false;
  await fc.assert(
    fc.asyncProperty(argvArb, async (argv) => {
      if (dirty) ipvs = await seeded();
      dirty = true;
      const r = await runAdm(argv, 'ipvsadm', ctx());
      assert.ok(Number.isInteger(r.code) && r.code >= 0 && r.code <= 255);
      if (r.code === 0) return;
      const after = (await runAdm(['-S', '-n'], 'ipvsadm', ctx())).stdout;
      assert.equal(after, seededSave, `refused ${JSON.stringify(argv)} (exit ${r.code})`);
      dirty = false;
    }),
    { numRuns: RUNS, timeout: 2000 },
  );
});
