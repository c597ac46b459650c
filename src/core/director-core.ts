// The core as a director runs it: an Ipvs with the sysctls bound and the defences set. The
// director builds its core here, and so does the packet engine's warm-up (warmup.ts) for its
// throwaway one: V8 compiles against the shapes and branches it has seen, and a warm-up core
// built otherwise (no defences) left a branch of the real core's first frames without type
// feedback, to be compiled again under load.

import { DEFAULT_CONN_MEM_MAX, Defence } from './defence.js';
import { Ipvs } from './ipvs.js';
import { SysctlTable } from './sysctl.js';
import { bindSysctls } from './sysctl-bind.js';

export interface DirectorCoreOptions {
  /** Conn slots to reserve (not touch) at start: see Ipvs's `reserve`. */
  reserve?: number;
  /** Bound of the conn table's memory, bytes (the defences' and the table's). */
  connMemMax?: number;
  /** Sysctls whose default differs on this machine (SysctlTable's overrides). */
  sysctlDefaults?: Record<string, readonly number[]>;
}

export interface DirectorCore {
  ipvs: Ipvs;
  sysctls: SysctlTable;
  defence: Defence;
}

export function directorCore(o: DirectorCoreOptions = {}): DirectorCore {
  const ipvs = new Ipvs({ now: 0, reserve: o.reserve });
  const sysctls = new SysctlTable(o.sysctlDefaults);
  bindSysctls(ipvs, sysctls);
  const defence = new Defence(sysctls, o.connMemMax ?? DEFAULT_CONN_MEM_MAX);
  ipvs.defence = defence;
  return { ipvs, sysctls, defence };
}
