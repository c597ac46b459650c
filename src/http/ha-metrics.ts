// The families both HTTP endpoints write: checker verdicts per real server (tsvs_checker_*),
// VRRP instances (tsvs_vrrp_*) and the process's own figures (process_*). The director
// writes the first two for sources registered on its Observers; `tsvs keepalived --http`
// writes them for its own checkers and instances (docs/http-api.md).

import { readdirSync } from 'node:fs';
import type { Exposition } from './exposition.js';
import { labelSet } from './exposition.js';
import type { DestHealth, VrrpInstance } from './observers.js';

const startTimeSeconds = Math.floor(Date.now() / 1000 - process.uptime());

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** tsvs_checker_{up,transitions_total,failures_total}, one series per checker of a real server. */
export function collectHealth(x: Exposition, health: readonly DestHealth[]): void {
  if (health.length === 0) return;
  const up = x.family('tsvs_checker_up', 'gauge', "1 when the real server's health checker lets it take traffic, else 0.");
  const tr = x.family('tsvs_checker_transitions_total', 'counter', 'Health checker UP/DOWN transitions of the real server.');
  const fail = x.family(
    'tsvs_checker_failures_total',
    'counter',
    'Failed checks of the real server by this checker, retries included, since the checker started.',
  );
  const sorted = [...health].sort((a, b) => cmp(a.checker, b.checker) || cmp(a.dest, b.dest) || cmp(a.service, b.service));
  for (const h of sorted) {
    const ls = labelSet(['checker', 'dest', 'service'], [h.checker, h.dest, h.service]);
    x.sample(up, ls, h.up ? 1 : 0);
    if (h.transitions !== undefined) x.sample(tr, ls, h.transitions);
    if (h.failures !== undefined) x.sample(fail, ls, h.failures);
  }
}

/** What tsvs_vrrp_* needs of an instance. */
export type VrrpFigures = Pick<VrrpInstance, 'name' | 'state' | 'priority' | 'becameMaster'>;

/** tsvs_vrrp_{state,priority,became_master_total}, one series set per instance. */
export function collectVrrp(x: Exposition, instances: readonly VrrpFigures[]): void {
  if (instances.length === 0) return;
  const state = x.family('tsvs_vrrp_state', 'gauge', 'VRRP instance state: 1 for the current state, 0 for the others.');
  const prio = x.family('tsvs_vrrp_priority', 'gauge', 'VRRP instance priority.');
  const bm = x.family('tsvs_vrrp_became_master_total', 'counter', 'Times the VRRP instance became MASTER.');
  for (const v of [...instances].sort((a, b) => cmp(a.name, b.name))) {
    for (const s of ['BACKUP', 'FAULT', 'INIT', 'MASTER']) {
      x.sample(state, labelSet(['instance', 'state'], [v.name, s]), v.state === s ? 1 : 0);
    }
    x.sample(prio, labelSet(['instance'], [v.name]), v.priority);
    if (v.becameMaster !== undefined) x.sample(bm, labelSet(['instance'], [v.name]), v.becameMaster);
  }
}

/** process_*: the names client libraries use for the process they run in. */
export function collectProcess(x: Exposition): void {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  x.sample(
    x.family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.'),
    '',
    (cpu.user + cpu.system) / 1e6,
  );
  x.sample(x.family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.'), '', mem.rss);
  x.sample(x.family('process_heap_bytes', 'gauge', 'Process heap size in bytes.'), '', mem.heapTotal);
  x.sample(x.family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.'), '', startTimeSeconds);
  const fds = openFds();
  if (fds >= 0) x.sample(x.family('process_open_fds', 'gauge', 'Number of open file descriptors.'), '', fds);
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}
