// Scheduler choices for event histories, derived step by step from the kernel's algorithms
// (docs/spec/ipvs-kernel.md §1). Remember: a new dest goes to the head of the list, so adding A, B, C
// gives the list order C, B, A.
import { describe, it } from 'node:test';
import { IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2 } from '../../../src/core/constants.js';
import { makeEnv } from '../../helpers/rules.js';
import { runScenario, type Scenario } from './scenario.js';

const ABC = [{ add: 'A' }, { add: 'B' }, { add: 'C' }];

const scenarios: Scenario[] = [
  // rr (§1.1)
  {
    name: 'rr walks the list from the head',
    sched: 'rr',
    steps: [...ABC, { pick: 'C B A C B A' }],
  },
  {
    name: 'rr skips weight 0 and overloaded dests',
    sched: 'rr',
    steps: [...ABC, { edit: 'B', w: 0 }, { pick: 'C A C A' }, { overload: 'A', on: true }, { pick: 'C C' }],
  },
  {
    name: 'rr: deleting the cursor dest moves the cursor to its predecessor',
    sched: 'rr',
    steps: [...ABC, { pick: 'C B' }, { del: 'B' }, { pick: 'A C A' }],
  },
  {
    name: 'rr: a new dest at the head is reached after the wrap',
    sched: 'rr',
    steps: [...ABC, { pick: 'C' }, { add: 'D' }, { pick: 'B A D C' }],
  },
  { name: 'rr with nothing available', sched: 'rr', steps: [{ add: 'A', w: 0 }, { pick: '-' }] },
  // wrr (§1.2)
  {
    name: 'wrr: the spec example 4,3,2 (initialised with the dests present)',
    sched: 'rr',
    steps: [{ add: 'C', w: 2 }, { add: 'B', w: 3 }, { add: 'A', w: 4 }, { resched: 'wrr' }, { pick: 'A A B A B C A B C A A B A B C' }],
  },
  {
    // Dests added one by one keep cw at 1 (dest_changed only resets cw when it is 0 or above
    // mw), so the kernel starts with the cycle's last round: A B C, then A A B A B C A B C.
    name: 'wrr: 4,3,2 added one at a time starts in the last round',
    sched: 'wrr',
    steps: [{ add: 'C', w: 2 }, { add: 'B', w: 3 }, { add: 'A', w: 4 }, { pick: 'A B C A A B A B C A B C A A B' }],
  },
  {
    name: 'wrr: gcd stepping with weights 4 and 2 (di = 2, mw = 3)',
    sched: 'wrr',
    steps: [{ add: 'B', w: 2 }, { add: 'A', w: 4 }, { pick: 'A B A A B A' }],
  },
  {
    name: 'wrr: a weight edit restarts from the head and keeps cw',
    sched: 'wrr',
    steps: [
      { add: 'C', w: 2 },
      { add: 'B', w: 3 },
      { add: 'A', w: 4 },
      { pick: 'A B C' },
      { edit: 'C', w: 4 },
      { pick: 'A B C A C A B C A B C A B C' },
    ],
  },
  {
    name: 'wrr: zero weights are never chosen, all zero is none',
    sched: 'wrr',
    steps: [{ add: 'B', w: 0 }, { add: 'A', w: 1 }, { pick: 'A A' }, { edit: 'A', w: 0 }, { pick: '-' }],
  },
  // lc (§1.3)
  {
    name: 'lc: least (active << 8) + inactive, ties to the list head',
    sched: 'lc',
    steps: [
      ...ABC,
      { pick: 'C' },
      { conns: 'A', active: 1 },
      { conns: 'B', active: 0, inactive: 10 },
      { conns: 'C', active: 0, inactive: 300 },
      { pick: 'B' },
      { conns: 'B', active: 2 },
      { pick: 'A' },
    ],
  },
  // wlc (§1.4)
  {
    name: 'wlc: loaded per weight, weight 0 never wins',
    sched: 'wlc',
    steps: [
      { add: 'A', w: 1 },
      { add: 'B', w: 3 },
      { conns: 'A', active: 1 },
      { conns: 'B', active: 2 },
      { pick: 'B' },
      { conns: 'B', active: 4 },
      { pick: 'A' },
      { add: 'C', w: 0 },
      { pick: 'A' },
      { overload: 'A', on: true },
      { pick: 'B' },
    ],
  },
  // sed, nq (§1.5, §1.6)
  {
    name: 'sed: (active + 1) / weight, ties keep the earlier dest',
    sched: 'sed',
    steps: [
      { add: 'A', w: 1 },
      { add: 'B', w: 3 },
      { conns: 'B', active: 2, inactive: 100 },
      { pick: 'B' },
      { conns: 'B', active: 3 },
      { pick: 'A' },
    ],
  },
  {
    name: 'nq: the first idle dest wins at once',
    sched: 'nq',
    steps: [{ add: 'A', w: 1 }, { add: 'B', w: 9 }, { conns: 'B', active: 1 }, { pick: 'A' }, { conns: 'A', active: 1 }, { pick: 'B' }],
  },
  // fo, ovf (§1.7, §1.8)
  {
    name: 'fo: highest weight, first of equals',
    sched: 'fo',
    steps: [{ add: 'A', w: 2 }, { add: 'B', w: 5 }, { add: 'C', w: 5 }, { pick: 'C C' }, { overload: 'C', on: true }, { pick: 'B' }],
  },
  {
    name: 'ovf: highest weight among dests with active <= weight',
    sched: 'ovf',
    steps: [
      { add: 'B', w: 1 },
      { add: 'A', w: 2 },
      { pick: 'A' },
      { conns: 'A', active: 3 },
      { pick: 'B' },
      { conns: 'A', active: 2 },
      { pick: 'A' },
    ],
  },
  // sh (§1.13): with C, B, A and weight 1 each, bucket i holds the (i mod 3)th dest.
  {
    name: 'sh: source address buckets (192.168.1.100 → 89, 10.0.0.1 → 39)',
    sched: 'sh',
    steps: [...ABC, { pick: 'A A', client: '192.168.1.100' }, { pick: 'C', client: '10.0.0.1' }],
  },
  {
    name: 'sh-port: 10.0.0.1 with source port 12345 → bucket 134',
    sched: 'sh',
    svc: { flags: IP_VS_SVC_F_SCHED2 },
    steps: [...ABC, { pick: 'A', client: '10.0.0.1', sport: 12345 }],
  },
  {
    name: 'sh: weight 2 takes two buckets in a row (B A A B A A …)',
    sched: 'sh',
    steps: [
      { add: 'A', w: 2 },
      { add: 'B', w: 1 },
      { pick: 'A', client: '192.168.1.100' },
      { pick: 'B', client: '10.0.0.1' },
    ],
  },
  {
    name: 'sh: unavailable bucket dest fails without fallback',
    sched: 'sh',
    steps: [...ABC, { edit: 'C', w: 0 }, { pick: '-', client: '10.0.0.1' }],
  },
  {
    name: 'sh-fallback: probes (offset + 2*ih) & 255 → bucket 79 → B',
    sched: 'sh',
    svc: { flags: IP_VS_SVC_F_SCHED1 },
    steps: [...ABC, { edit: 'C', w: 0 }, { pick: 'B', client: '10.0.0.1' }],
  },
  // dh (§1.12): keyed by the destination address.
  {
    name: 'dh: destination address buckets, no fallback',
    sched: 'dh',
    steps: [
      ...ABC,
      { pick: 'C', dst: '10.0.0.1' },
      { pick: 'A', dst: '192.168.1.100' },
      { overload: 'C', on: true },
      { pick: '-', dst: '10.0.0.1' },
    ],
  },
  // twos (§1.9): random draws scripted.
  {
    name: 'twos: two weighted draws, the less loaded per weight wins',
    sched: 'twos',
    env: makeEnv(
      (() => {
        const draws = [0, 4, 0, 4];
        let i = 0;
        return () => draws[i++ % draws.length]!;
      })(),
    ),
    steps: [{ add: 'A', w: 1 }, { add: 'B', w: 3 }, { pick: 'B' }, { conns: 'B', active: 1 }, { pick: 'A' }],
  },
  // lblc, lblcr (§1.10, §1.11)
  {
    name: 'lblc: the cached dest holds until overloaded in lblc terms',
    sched: 'lblc',
    steps: [
      { add: 'A' },
      { add: 'B' },
      { pick: 'B', dst: '10.9.9.9' },
      { conns: 'B', active: 0, inactive: 5 },
      { pick: 'B', dst: '10.9.9.9' },
      { pick: 'A', dst: '10.9.9.8' },
      { conns: 'B', active: 2 },
      { pick: 'A', dst: '10.9.9.9' },
    ],
  },
  {
    name: 'lblc: entries unused for lblc_expiration go at the 30th check',
    sched: 'lblc',
    env: { ...makeEnv(), lblcExpiration: 10 * 60_000 },
    steps: [
      { add: 'A' },
      { add: 'B' },
      { pick: 'B', dst: '10.9.9.9' },
      { conns: 'B', active: 0, inactive: 5 },
      { tick: 29 * 60_000 },
      { pick: 'B', dst: '10.9.9.9', now: 0 },
      { tick: 30 * 60_000 },
      { pick: 'A', dst: '10.9.9.9' },
    ],
  },
  {
    name: 'lblcr: an overloaded member brings in a new one; the least loaded member serves',
    sched: 'lblcr',
    steps: [
      { add: 'A' },
      { add: 'B' },
      { pick: 'B', dst: '10.9.9.9' },
      { conns: 'B', active: 2 },
      { pick: 'A', dst: '10.9.9.9' },
      { conns: 'B', active: 0 },
      { conns: 'A', active: 1 },
      { pick: 'B', dst: '10.9.9.9' },
    ],
  },
  {
    name: 'none of them picks a dest from an empty service',
    sched: 'wlc',
    steps: [{ pick: '-' }],
  },
];

describe('scheduler scenarios', () => {
  for (const sc of scenarios) it(`${sc.sched}: ${sc.name}`, () => runScenario(sc));
});
