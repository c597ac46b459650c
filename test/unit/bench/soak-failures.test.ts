// The soak's failure classes (bench/soak-failures.ts): a failed request is blamed on a dying real
// server only when it overlapped that server's death and went to it (or to an unknown dest), on
// a rule change only when the change touched its dest or the whole service near it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, type Death, type Failure, type SoakEvent, summary } from '../../../bench/soak-failures.js';

const WEB1 = '192.168.0.10:80';
const WEB2 = '192.168.0.20:80';

function failure(start: number, end: number, dest: string | null): Failure {
  return {
    start,
    end,
    kind: 'http /',
    exit: 28,
    status: 0,
    error: 'Connection timed out',
    cport: 40000,
    connectMs: 0,
    bytes: 0,
    dest,
    state: null,
    drops: {},
  };
}

const deaths: Death[] = [{ dest: WEB1, kill: 10_000, removed: 10_400 }];
const events: SoakEvent[] = [
  { t0: 10_000, t1: 10_000, what: 'kill web1', dest: WEB1 },
  { t0: 10_001, t1: 10_400, what: '-d web1', dest: WEB1 },
  { t0: 20_000, t1: 20_300, what: '-e web2 -w 3', dest: WEB2 },
  { t0: 30_000, t1: 30_200, what: '-E -s wlc', dest: null },
];

describe('soak failure classes', () => {
  const cases: { name: string; f: Failure; cls: string }[] = [
    { name: 'in flight to web1 when it was killed', f: failure(9_000, 10_050, WEB1), cls: 'in flight to a dying RS' },
    { name: 'scheduled to web1 before the checker took it out', f: failure(10_300, 15_300, WEB1), cls: 'in flight to a dying RS' },
    { name: 'refused, dest unknown, inside the death', f: failure(10_200, 10_201, null), cls: 'in flight to a dying RS' },
    { name: 'to web1 after it was out of the rules', f: failure(10_500, 15_500, WEB1), cls: 'other' },
    { name: 'to web2 while web1 died, nothing changed web2', f: failure(9_900, 10_100, WEB2), cls: 'other' },
    { name: 'to web2 beside its weight change', f: failure(18_000, 19_500, WEB2), cls: 'sent to an RS during a rule change' },
    { name: 'to web1 beside web2 weight change', f: failure(18_000, 19_500, WEB1), cls: 'other' },
    { name: 'beside a scheduler change (every dest)', f: failure(30_900, 31_100, WEB1), cls: 'sent to an RS during a rule change' },
    { name: 'more than 1 s from any change', f: failure(40_000, 45_000, WEB2), cls: 'other' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(classify(c.f, deaths, events).cls, c.cls);
    });
  }

  it('lists what the soak did within 1 s and counts every class', () => {
    const c = classify(failure(18_000, 19_500, WEB2), deaths, events);
    assert.deepEqual(c.near, ['-e web2 -w 3@20000..20300']);
    const all = cases.map((k) => classify(k.f, deaths, events));
    assert.deepEqual(
      [...summary(all)],
      [
        ['in flight to a dying RS', 3],
        ['sent to an RS during a rule change', 2],
        ['other', 4],
      ],
    );
  });
});
