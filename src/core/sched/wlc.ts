// wlc — Weighted Least Connection (ip_vs_wlc.c), ipvsadm's default. Spec: docs/spec/ipvs-kernel.md §1.4.

import type { Service } from '../service.js';
import { stateless, wlcPick } from './common.js';
import type { SchedulerOps } from './types.js';

export const wlc: SchedulerOps = {
  name: 'wlc',
  create(svc: Service) {
    return { ...stateless, schedule: () => wlcPick(svc.dests) };
  },
};
