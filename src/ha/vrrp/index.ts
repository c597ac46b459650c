// VRRP for `tsvs keepalived` (contract: briefs' HA-contract.md): the config's meaning and the
// runtime. See docs/vrrp.md.
export { vrrpFromConf } from './config.js';
export type { VrrpConfig, VrrpInstanceConfig, VrrpScriptConfig, VrrpSyncGroupConfig, VipConfig } from './config.js';
export { Vrrp } from './vrrp.js';
export type { VrrpHost, VrrpInstanceStatus, VrrpLogLevel, VrrpRxDrop } from './vrrp.js';
