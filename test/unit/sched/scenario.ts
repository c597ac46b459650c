// Scheduler scenarios as data: a list of steps (add/edit/delete dests, set their connection
// counts or overload, pick) run through the real Rules paths, and the sequence of picks
// compared with the expected one. Dests are named by letter: A = 10.0.0.1, B = 10.0.0.2, …

import assert from 'node:assert/strict';
import { IP_VS_DEST_F_OVERLOAD } from '../../../src/core/constants.js';
import type { Dest } from '../../../src/core/dest.js';
import type { Rules } from '../../../src/core/rules.js';
import type { SchedEnv } from '../../../src/core/sched/types.js';
import type { ServiceSpec } from '../../../src/core/service.js';
import { addr, destSpec, makeEnv, makeRules, packet, svcSpec } from '../../helpers/rules.js';

export type Step =
  | { add: string; w?: number; port?: number }
  | { edit: string; w: number }
  | { del: string }
  | { conns: string; active: number; inactive?: number }
  | { overload: string; on: boolean }
  /** Space-separated expected picks ('-' for none), each from `client` (default 192.168.1.100). */
  | { pick: string; client?: string; dst?: string; sport?: number; now?: number }
  | { tick: number }
  /** `-E` to another scheduler: the new one is initialised with the dests already there. */
  | { resched: string };

export interface Scenario {
  name: string;
  sched: string;
  svc?: Partial<ServiceSpec>;
  steps: Step[];
  env?: SchedEnv;
}

export const ipOf = (n: string) => `10.0.0.${n.charCodeAt(0) - 64}`;
const nameOf = (d: Dest | null) => (d ? String.fromCharCode(64 + Number(d.addr.toString().split('.')[3])) : '-');

export function runScenario(sc: Scenario): void {
  const rules: Rules = makeRules(sc.env ?? makeEnv());
  const key = svcSpec('192.0.2.1', 80, { schedName: sc.sched, ...sc.svc });
  rules.addService(key, 0);
  const svc = rules.findService(key)!;
  const find = (n: string) => svc.findDest(addr(ipOf(n)), 80)!;
  let now = 0;
  for (const st of sc.steps) {
    if ('add' in st) rules.addDest(key, destSpec(ipOf(st.add), st.port ?? 80, st.w ?? 1), now);
    else if ('edit' in st) rules.editDest(key, destSpec(ipOf(st.edit), 80, st.w));
    else if ('del' in st) rules.delDest(key, addr(ipOf(st.del)), 80, now);
    else if ('conns' in st) {
      const d = find(st.conns);
      d.activeConns = st.active;
      d.inactConns = st.inactive ?? 0;
    } else if ('overload' in st) {
      const d = find(st.overload);
      d.flags = st.on ? d.flags | IP_VS_DEST_F_OVERLOAD : d.flags & ~IP_VS_DEST_F_OVERLOAD;
    } else if ('resched' in st) {
      rules.editService({ ...key, schedName: st.resched }, now);
    } else if ('tick' in st) {
      now = st.tick;
      svc.sched?.tick?.(now);
    } else {
      if (st.now !== undefined) now = st.now;
      const want = st.pick.split(' ');
      const got = want.map(() => {
        const p = packet(st.client ?? '192.168.1.100', st.sport ?? 40000, st.dst ?? '192.0.2.1', 80);
        return nameOf(svc.sched!.schedule(p, now));
      });
      assert.equal(got.join(' '), st.pick, `${sc.name}: picks`);
    }
  }
}
