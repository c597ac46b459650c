// The sysctls the core acts on, applied to an Ipvs instance: at start and on every write.
// The defences (drop_entry, drop_packet, secure_tcp, amemthresh, am_droprate) are read by
// defence.ts each second instead.

import type { Ipvs } from './ipvs.js';
import type { SysctlTable } from './sysctl.js';

const S_TO_MS = 1000;

function apply(ipvs: Ipvs, table: SysctlTable, name: string): void {
  const v = table.int(name);
  const s = ipvs.sysctls;
  switch (name) {
    case 'expire_nodest_conn':
      s.expireNodestConn = v !== 0;
      break;
    case 'expire_quiescent_template':
      s.expireQuiescentTemplate = v !== 0;
      break;
    case 'conn_reuse_mode':
      s.connReuseMode = v;
      break;
    case 'sloppy_tcp':
      s.sloppyTcp = v !== 0;
      break;
    case 'sloppy_sctp':
      s.sloppySctp = v !== 0;
      break;
    case 'run_estimation':
      s.runEstimation = v !== 0;
      break;
    case 'lblc_expiration':
      ipvs.rules.env.lblcExpiration = v * S_TO_MS;
      break;
    case 'lblcr_expiration':
      ipvs.rules.env.lblcrExpiration = v * S_TO_MS;
      break;
    case 'sync_version':
      ipvs.syncParams.version = v === 0 ? 0 : 1;
      break;
    case 'sync_threshold': {
      const [threshold, period] = table.get(name);
      ipvs.syncParams.threshold = threshold ?? 3;
      ipvs.syncParams.period = period ?? 50;
      break;
    }
    case 'sync_refresh_period':
      ipvs.syncParams.refreshPeriod = v * S_TO_MS;
      break;
    case 'sync_retries':
      ipvs.syncParams.retries = v;
      break;
    case 'sync_persist_mode':
      ipvs.syncParams.persistMode = v;
      break;
    case 'sync_sock_size':
      ipvs.syncParams.sockSize = v;
      break;
  }
}

/** Applies every core sysctl now and after each accepted write. */
export function bindSysctls(ipvs: Ipvs, table: SysctlTable): void {
  for (const name of [
    'expire_nodest_conn',
    'expire_quiescent_template',
    'conn_reuse_mode',
    'sloppy_tcp',
    'sloppy_sctp',
    'run_estimation',
    'lblc_expiration',
    'lblcr_expiration',
    'sync_version',
    'sync_threshold',
    'sync_refresh_period',
    'sync_retries',
    'sync_persist_mode',
    'sync_sock_size',
  ]) {
    apply(ipvs, table, name);
  }
  table.listeners.push((name) => apply(ipvs, table, name));
}
