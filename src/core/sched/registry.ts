// Scheduler names → implementations, as `ipvsadm -s NAME` finds them (case-sensitive).

import { dh } from './dh.js';
import { fo } from './fo.js';
import { lblc } from './lblc.js';
import { lblcr } from './lblcr.js';
import { lc } from './lc.js';
import { mh } from './mh.js';
import { nq } from './nq.js';
import { ovf } from './ovf.js';
import { rr } from './rr.js';
import { sed } from './sed.js';
import { sh } from './sh.js';
import { twos } from './twos.js';
import type { SchedulerOps } from './types.js';
import { wlc } from './wlc.js';
import { wrr } from './wrr.js';

const ALL: readonly SchedulerOps[] = [rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos];
const BY_NAME = new Map(ALL.map((s) => [s.name, s]));

export function lookupScheduler(name: string): SchedulerOps | undefined {
  return BY_NAME.get(name);
}
