// The C-library pieces tsvsadm re-implements: strtol-based parsing, inet_aton / inet_pton,
// print_largenum, glibc's merge sort with a non-transitive comparator, popt, and the -R
// tokenizer. Spec: docs/spec/ipvsadm.md §2, §2.1, §4.1, §7.4, §9, §10.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atoi, parseFwmarkValue, stringToNumber } from '../../../src/adm/cnum.js';
import { inetAton, inetPton4, inetPton6 } from '../../../src/adm/inet.js';
import { POPT_TABLE } from '../../../src/adm/options.js';
import { PoptContext } from '../../../src/adm/popt.js';
import { largenum } from '../../../src/adm/printf.js';
import { ConfigStream } from '../../../src/adm/restore.js';
import { glibcMergeSort } from '../../../src/adm/sort.js';
import { format4 } from '../../../src/core/inet.js';

describe('string_to_number / parse_fwmark / atoi (§2.1)', () => {
  const cases: { input: string; min: number; max: number; expected: number }[] = [
    { input: '7', min: 0, max: 10, expected: 7 },
    { input: '+7', min: 0, max: 10, expected: 7 },
    { input: ' \t7', min: 0, max: 10, expected: 7 },
    { input: '007', min: 0, max: 10, expected: 7 },
    { input: '7 ', min: 0, max: 10, expected: -1 },
    { input: '', min: 0, max: 10, expected: -1 },
    { input: '-', min: 0, max: 10, expected: -1 },
    { input: '0x7', min: 0, max: 10, expected: -1 },
    { input: '11', min: 0, max: 10, expected: -1 },
    { input: '-1', min: 0, max: 10, expected: -1 },
    { input: '99999999999999999999', min: 0, max: 2147483647, expected: -1 },
  ];
  for (const c of cases) {
    it(`string_to_number(${JSON.stringify(c.input)}, ${c.min}, ${c.max})`, () => {
      assert.equal(stringToNumber(c.input, c.min, c.max), c.expected);
    });
  }
  it('fwmark bounds', () => {
    assert.equal(parseFwmarkValue('4294967295'), 4294967295);
    assert.equal(parseFwmarkValue('4294967296'), null);
    assert.equal(parseFwmarkValue('0'), null);
    assert.equal(parseFwmarkValue(' +1'), 1);
  });
  it('atoi keeps leading digits and the low 32 bits', () => {
    assert.equal(atoi('64abc'), 64);
    assert.equal(atoi(' -5'), -5);
    assert.equal(atoi('4294967360'), 64);
    assert.equal(atoi('x'), 0);
  });
});

describe('inet_aton / inet_pton (§4.1)', () => {
  const aton: { input: string; expected: string | null }[] = [
    { input: '1.2.3.4', expected: '1.2.3.4' },
    { input: '1.2.3', expected: '1.2.0.3' },
    { input: '1.2', expected: '1.0.0.2' },
    { input: '10', expected: '0.0.0.10' },
    { input: '4294967295', expected: '255.255.255.255' },
    { input: '4294967296', expected: null },
    { input: '010.0.0.1', expected: '8.0.0.1' },
    { input: '0x0a000002', expected: '10.0.0.2' },
    { input: '0X0A.0.0.1', expected: '10.0.0.1' },
    { input: '08.1.1.1', expected: null },
    { input: '1.2.3.4 tail', expected: '1.2.3.4' },
    { input: '1.2.3.4x', expected: null },
    { input: '1.2.3.4.', expected: null },
    { input: '1..2', expected: null },
    { input: '256.1.1.1', expected: null },
    { input: '1.256.1', expected: null },
    { input: '1.2.65535', expected: '1.2.255.255' },
    { input: '1.2.65536', expected: null },
    { input: '+1.2.3.4', expected: null },
    { input: '', expected: null },
    { input: '0x', expected: null },
  ];
  for (const c of aton) {
    it(`inet_aton(${JSON.stringify(c.input)})`, () => {
      const r = inetAton(c.input);
      assert.equal(r === null ? null : format4(r), c.expected);
    });
  }
  it('inet_pton(AF_INET) is strict', () => {
    assert.equal(inetPton4('239.1.2.3'), 0xef010203);
    for (const bad of ['239.1.2', '239.01.2.3', '1.2.3.4.5', '1.2.3.256', ' 1.2.3.4', '']) {
      assert.equal(inetPton4(bad), null, bad);
    }
  });
  const pton6: { input: string; expected: string | null }[] = [
    { input: '::', expected: '::' },
    { input: '::1', expected: '::1' },
    { input: '2001:DB8::1', expected: '2001:db8::1' },
    { input: '1:2:3:4:5:6:7:8', expected: '1:2:3:4:5:6:7:8' },
    { input: '1::2:3:4:5:6:7', expected: '1:0:2:3:4:5:6:7' },
    { input: '::ffff:1.2.3.4', expected: '::ffff:1.2.3.4' },
    { input: '1:2:3:4:5:6:1.2.3.4', expected: '1:2:3:4:5:6:102:304' },
    { input: '::01.2.3.4', expected: null },
    { input: '1:2:3:4:5:6:7:8:9', expected: null },
    { input: '1:2:3:4:5:6:7::8', expected: null },
    { input: '1:::2', expected: null },
    { input: ':1::2', expected: null },
    { input: '1::2:', expected: null },
    { input: '12345::', expected: null },
    { input: '1.2.3.4', expected: null },
    { input: '', expected: null },
  ];
  for (const c of pton6) {
    it(`inet_pton(AF_INET6, ${JSON.stringify(c.input)})`, () => {
      const a = inetPton6(c.input);
      assert.equal(a === null ? null : a.toString(), c.expected);
    });
  }
});

describe('print_largenum (§7.4)', () => {
  const cases: [bigint, boolean, string][] = [
    [0n, false, '        0'],
    [99999999n, false, ' 99999999'],
    [100000000n, false, '  100000K'],
    [999999999n, false, '  999999K'],
    [1000000000n, false, '    1000M'],
    [4294967295n, false, '    4294M'],
    [1234567890123n, false, '    1234G'],
    [98765432109876543n, false, '   98765T'],
    // 8 digits fill %8llu: no leading space is left.
    [18446744073709551615n, false, '18446744T'],
    [12345678n, true, ' 12345678'],
    [123456789n, true, ' 123456789'],
  ];
  for (const [v, exact, expected] of cases) {
    it(`${v}${exact ? ' exact' : ''}`, () => assert.equal(largenum(v, exact), expected));
  }
});

describe('glibc merge sort (§10)', () => {
  const wrap = (a: number, b: number) => (a - b) | 0;
  it('is stable and takes the left element on ties', () => {
    const items = [3, 1, 2, 1, 3].map((k, i) => ({ k, i }));
    const out = glibcMergeSort(items, (a, b) => a.k - b.k);
    assert.deepEqual(
      out.map((x) => x.i),
      [1, 3, 2, 0, 4],
    );
  });
  it('reproduces the wrap-around order of T50', () => {
    const ips = [0x01010101, 0x0a000001, 0xac100001, 0xc0a80101];
    assert.deepEqual(glibcMergeSort(ips, wrap).map(format4), ['172.16.0.1', '192.168.1.1', '1.1.1.1', '10.0.0.1']);
  });
  it('depends on the input order when the comparator is not transitive', () => {
    const five = [0x01010101, 0x0a000001, 0xac100001, 0xc0a80101, 0x7f000001];
    assert.deepEqual(glibcMergeSort(five, wrap).map(format4), ['1.1.1.1', '10.0.0.1', '127.0.0.1', '172.16.0.1', '192.168.1.1']);
    const swapped = [0x01010101, 0xac100001, 0x0a000001, 0xc0a80101, 0x7f000001];
    assert.deepEqual(glibcMergeSort(swapped, wrap).map(format4), ['172.16.0.1', '1.1.1.1', '10.0.0.1', '127.0.0.1', '192.168.1.1']);
  });
});

describe('popt (§2)', () => {
  function events(...argv: string[]): string[] {
    const pc = new PoptContext(['ipvsadm', ...argv], POPT_TABLE);
    const out: string[] = [];
    for (;;) {
      const r = pc.getNextOpt();
      if (r.kind === 'end') break;
      if (r.kind === 'error') {
        out.push(`error ${r.code} at ${pc.badOption()}`);
        break;
      }
      out.push(r.arg === null ? r.opt.long : `${r.opt.long}=${r.arg}`);
    }
    for (let a = pc.getArg(); a !== undefined; a = pc.getArg()) out.push(`arg ${a}`);
    return out;
  }
  const cases: { input: string[]; expected: string[] }[] = [
    { input: ['-Lnc'], expected: ['list', 'numeric', 'connection'] },
    {
      input: ['-At1.1.1.1:80'],
      expected: ['add-service', 'tcp-service=1.1.1.1:80'],
    },
    { input: ['-A', '-t', '-p'], expected: ['add-service', 'tcp-service=-p'] },
    {
      input: ['-A', '-p', '-n'],
      expected: ['add-service', 'persistent', 'numeric'],
    },
    { input: ['-A', '-p', '9'], expected: ['add-service', 'persistent=9'] },
    {
      input: ['-A', '--persistent=9'],
      expected: ['add-service', 'persistent=9'],
    },
    {
      input: ['-A', '--', '-n', 'x'],
      expected: ['add-service', 'arg -n', 'arg x'],
    },
    { input: ['x', '-L', 'y'], expected: ['list', 'arg x', 'arg y'] },
    {
      input: ['-L', '--numeric=1'],
      expected: ['list', 'error -12 at --numeric=1'],
    },
    { input: ['-L', '-n==1'], expected: ['list', 'error -12 at -n==1'] },
    {
      input: ['-L', '-n=1'],
      expected: ['list', 'numeric', 'error -11 at -n=1'],
    },
    { input: ['-L', '-s'], expected: ['list', 'error -10 at -s'] },
    { input: ['-L', '--lis'], expected: ['list', 'error -11 at --lis'] },
    {
      input: ['-A', '-s', 'a!#:+b', 'c', 'd'],
      expected: ['add-service', 'scheduler=acb', 'arg d'],
    },
  ];
  for (const c of cases) {
    it(c.input.join(' '), () => assert.deepEqual(events(...c.input), c.expected));
  }
});

describe('-R input (§9)', () => {
  function all(text: string): string[][] {
    const s = new ConfigStream(text);
    const out: string[][] = [];
    for (let l = s.read(); l !== null; l = s.read()) out.push(l);
    return out;
  }
  const cases: { input: string; expected: string[][] }[] = [
    { input: '', expected: [] },
    { input: '-C\n', expected: [['-C']] },
    { input: '-C', expected: [['-C']] },
    { input: '-C ', expected: [['-C']] },
    { input: '-C  ', expected: [] },
    { input: '\n\n-C\n', expected: [[], [], ['-C']] },
    { input: 'ipvsadm -L ipvsadm -n\n', expected: [['-L', '-n']] },
    { input: ' \t-A\t-t\r1:80 \r\n', expected: [['-A', '-t', '1:80']] },
    { input: '# x\n', expected: [['#', 'x']] },
    { input: 'a\vb\n', expected: [['a\vb']] },
    { input: `${'x'.repeat(4100)}\n`, expected: [['x'.repeat(4096), 'xxxx']] },
  ];
  for (const c of cases) {
    it(JSON.stringify(c.input.slice(0, 20)), () => assert.deepEqual(all(c.input), c.expected));
  }
});
