// What keepalived.conf's VRRP keywords mean (docs/spec/ha.md A.5-A.10): global_defs' VRRP keys,
// vrrp_script, vrrp_instance, vrrp_sync_group. Pure: a tree in, a VrrpConfig plus file:line
// errors and warnings out. A keyword tsvs does not implement is a warning, never dropped silently.

import { accessSync, constants as fsc } from 'node:fs';
import { Addr } from '../../core/inet.js';
import type { ConfMessage, ConfNode } from '../conf/node.js';
import {
  ADVERT_INT_DEFAULT_CS,
  ADVERT_INT_MAX_V2_S,
  ADVERT_INT_MAX_V3_CS,
  GARP_MASTER_DELAY_DEFAULT_S,
  GARP_MASTER_REPEAT_DEFAULT,
  PREEMPT_DELAY_MAX_S,
  PRIO_DEFAULT,
  PRIO_OWNER,
} from './constants.js';

export interface VipConfig {
  addr: Addr;
  plen: number;
  dev: string;
  label: string | null;
  scope: string | null;
  /** Excluded VIPs are configured but not carried in adverts (virtual_ipaddress_excluded). */
  excluded: boolean;
}

export interface VrrpScriptConfig {
  name: string;
  script: string[];
  intervalMs: number;
  timeoutMs: number;
  weight: number;
  fall: number;
  rise: number;
}

export interface NotifyConfig {
  master: string[] | null;
  backup: string[] | null;
  fault: string[] | null;
  stop: string[] | null;
  any: string[] | null;
}

export interface VrrpInstanceConfig {
  name: string;
  iface: string;
  vrid: number;
  family: 4 | 6;
  version: 2 | 3;
  priority: number;
  initialMaster: boolean;
  intervalCs: number;
  preempt: boolean;
  preemptDelayMs: number;
  /** PASS password bytes (v2 only), or null. */
  authPass: string | null;
  vips: VipConfig[];
  /** Source of adverts (mcast_src_ip / unicast_src_ip), or null for the interface's own. */
  srcIp: Addr | null;
  unicastPeers: Addr[];
  trackInterfaces: { name: string; weight: number }[];
  trackScripts: { name: string; weight: number | null }[];
  notify: NotifyConfig;
  garpMasterDelayS: number;
  garpMasterRepeat: number;
  v3ChecksumAsV2: boolean;
  file: string;
  line: number;
}

export interface VrrpSyncGroupConfig {
  name: string;
  members: string[];
  notify: NotifyConfig;
  file: string;
  line: number;
}

export interface VrrpConfig {
  routerId: string | null;
  scripts: VrrpScriptConfig[];
  instances: VrrpInstanceConfig[];
  syncGroups: VrrpSyncGroupConfig[];
}

interface Out {
  errors: ConfMessage[];
  warnings: ConfMessage[];
}

const at = (n: ConfNode, text: string): ConfMessage => ({ file: n.file, line: n.line, text });

function num(n: ConfNode, out: Out, min: number, max: number, arg = 0): number | null {
  const s = n.args[arg];
  const v = s === undefined ? NaN : Number(s);
  if (!Number.isFinite(v) || v < min || v > max) {
    out.errors.push(at(n, `${n.keyword}: '${s ?? ''}' is not a number in ${min}..${max}`));
    return null;
  }
  return v;
}

function addr(n: ConfNode, s: string | undefined, out: Out): Addr | null {
  const a = s === undefined ? null : Addr.parse(s);
  if (!a) out.errors.push(at(n, `${n.keyword}: '${s ?? ''}' is not an IP address`));
  return a;
}

/** A script command line: its words; the program must exist and be executable. */
function command(n: ConfNode, out: Out): string[] | null {
  const words = n.args
    .join(' ')
    .split(/\s+/)
    .filter((w) => w !== '');
  if (words.length === 0) {
    out.errors.push(at(n, `${n.keyword}: no script given`));
    return null;
  }
  const prog = words[0]!;
  if (prog.startsWith('/')) {
    try {
      accessSync(prog, fsc.X_OK);
    } catch {
      out.errors.push(at(n, `${n.keyword}: script ${prog} does not exist or is not executable`));
      return null;
    }
  }
  return words;
}

const noNotify = (): NotifyConfig => ({ master: null, backup: null, fault: null, stop: null, any: null });

function notifyKey(n: ConfNode, notify: NotifyConfig, out: Out): boolean {
  const k = { notify_master: 'master', notify_backup: 'backup', notify_fault: 'fault', notify_stop: 'stop', notify: 'any' }[n.keyword] as
    keyof NotifyConfig | undefined;
  if (!k) return false;
  notify[k] = command(n, out);
  return true;
}

/** Keys of vrrp_instance that keepalived has and tsvs accepts without acting on them. */
const INSTANCE_IGNORED = new Set([
  'dont_track_primary',
  'debug',
  'smtp_alert',
  'garp_master_refresh',
  'garp_master_refresh_repeat',
  'garp_lower_prio_delay',
  'garp_lower_prio_repeat',
  'lvs_sync_daemon_interface',
]);

function parseVip(n: ConfNode, defDev: string, excluded: boolean, out: Out): VipConfig | null {
  const [a, p] = n.keyword.split('/');
  const ad = addr(n, a, out);
  if (!ad) return null;
  const max = ad.isV6 ? 128 : 32;
  const plen = p === undefined ? max : Number(p);
  if (!Number.isInteger(plen) || plen < 0 || plen > max) {
    out.errors.push(at(n, `virtual_ipaddress: prefix '/${p}' of ${a} is not 0..${max}`));
    return null;
  }
  const vip: VipConfig = { addr: ad, plen, dev: defDev, label: null, scope: null, excluded };
  for (let i = 0; i < n.args.length; i += 2) {
    const k = n.args[i]!;
    const v = n.args[i + 1];
    if (v === undefined) {
      out.errors.push(at(n, `virtual_ipaddress: '${k}' needs a value`));
      return null;
    }
    if (k === 'dev') vip.dev = v;
    else if (k === 'label') vip.label = v;
    else if (k === 'scope') vip.scope = v;
    else out.warnings.push(at(n, `virtual_ipaddress: option '${k}' is not implemented by tsvs; ignored`));
  }
  return vip;
}

function parseScript(n: ConfNode, out: Out): VrrpScriptConfig | null {
  const name = n.args[0];
  if (!name) {
    out.errors.push(at(n, 'vrrp_script needs a name'));
    return null;
  }
  const s: VrrpScriptConfig = { name, script: [], intervalMs: 1000, timeoutMs: 0, weight: 0, fall: 1, rise: 1 };
  for (const c of n.children) {
    if (c.keyword === 'script') s.script = command(c, out) ?? [];
    else if (c.keyword === 'interval') s.intervalMs = (num(c, out, 0.01, 86400) ?? 1) * 1000;
    else if (c.keyword === 'timeout') s.timeoutMs = (num(c, out, 0.01, 86400) ?? 0) * 1000;
    else if (c.keyword === 'weight') s.weight = num(c, out, -253, 253) ?? 0;
    else if (c.keyword === 'fall') s.fall = num(c, out, 1, 1000) ?? 1;
    else if (c.keyword === 'rise') s.rise = num(c, out, 1, 1000) ?? 1;
    else out.warnings.push(at(c, `vrrp_script ${name}: keyword '${c.keyword}' is not implemented by tsvs; ignored`));
  }
  if (s.script.length === 0) {
    out.errors.push(at(n, `vrrp_script ${name}: no script given`));
    return null;
  }
  // keepalived's default timeout is the interval.
  if (s.timeoutMs === 0) s.timeoutMs = s.intervalMs;
  return s;
}

interface Globals {
  version: 2 | 3;
  garpDelayS: number;
  garpRepeat: number;
  v3ChecksumAsV2: boolean;
}

function parseInstance(n: ConfNode, g: Globals, out: Out): VrrpInstanceConfig | null {
  const name = n.args[0];
  if (!name) {
    out.errors.push(at(n, 'vrrp_instance needs a name'));
    return null;
  }
  const errs = out.errors.length;
  let state: string | null = null;
  let priority: number | null = null;
  let version: 2 | 3 | null = null;
  let intervalS = ADVERT_INT_DEFAULT_CS / 100;
  const inst: VrrpInstanceConfig = {
    name,
    iface: '',
    vrid: 0,
    family: 4,
    version: g.version,
    priority: PRIO_DEFAULT,
    initialMaster: false,
    intervalCs: ADVERT_INT_DEFAULT_CS,
    preempt: true,
    preemptDelayMs: 0,
    authPass: null,
    vips: [],
    srcIp: null,
    unicastPeers: [],
    trackInterfaces: [],
    trackScripts: [],
    notify: noNotify(),
    garpMasterDelayS: g.garpDelayS,
    garpMasterRepeat: g.garpRepeat,
    v3ChecksumAsV2: g.v3ChecksumAsV2,
    file: n.file,
    line: n.line,
  };
  let authNode: ConfNode | null = null;
  const vipNodes: { node: ConfNode; excluded: boolean }[] = [];
  for (const c of n.children) {
    const k = c.keyword;
    if (k === 'state') {
      state = (c.args[0] ?? '').toUpperCase();
      if (state !== 'MASTER' && state !== 'BACKUP') out.errors.push(at(c, `state: '${c.args[0] ?? ''}' is not MASTER or BACKUP`));
    } else if (k === 'interface') inst.iface = c.args[0] ?? '';
    else if (k === 'virtual_router_id') inst.vrid = num(c, out, 1, 255) ?? -1;
    else if (k === 'priority') priority = num(c, out, 1, 255);
    else if (k === 'advert_int') intervalS = num(c, out, 0.01, 255) ?? intervalS;
    else if (k === 'version') {
      const v = num(c, out, 2, 3);
      if (v !== null) version = v as 2 | 3;
    } else if (k === 'nopreempt') inst.preempt = false;
    else if (k === 'preempt') inst.preempt = true;
    else if (k === 'preempt_delay') inst.preemptDelayMs = (num(c, out, 0, PREEMPT_DELAY_MAX_S) ?? 0) * 1000;
    else if (k === 'authentication') authNode = c;
    else if (k === 'virtual_ipaddress' || k === 'virtual_ipaddress_excluded') {
      for (const v of c.children) vipNodes.push({ node: v, excluded: k === 'virtual_ipaddress_excluded' });
    } else if (k === 'mcast_src_ip' || k === 'unicast_src_ip') inst.srcIp = addr(c, c.args[0], out);
    else if (k === 'unicast_peer') {
      for (const p of c.children) {
        const a = addr(p, p.keyword, out);
        if (a) inst.unicastPeers.push(a);
      }
    } else if (k === 'track_interface') {
      for (const t of c.children) {
        const w = t.args[0] === 'weight' ? (num(t, out, -253, 253, 1) ?? 0) : 0;
        inst.trackInterfaces.push({ name: t.keyword, weight: w });
      }
    } else if (k === 'track_script') {
      for (const t of c.children) {
        const w = t.args[0] === 'weight' ? num(t, out, -253, 253, 1) : null;
        inst.trackScripts.push({ name: t.keyword, weight: w });
      }
    } else if (k === 'garp_master_delay') inst.garpMasterDelayS = num(c, out, 0, 255) ?? inst.garpMasterDelayS;
    else if (k === 'garp_master_repeat') inst.garpMasterRepeat = num(c, out, 1, 255) ?? inst.garpMasterRepeat;
    else if (notifyKey(c, inst.notify, out)) continue;
    else if (INSTANCE_IGNORED.has(k)) out.warnings.push(at(c, `vrrp_instance ${name}: '${k}' is accepted but has no effect in tsvs`));
    else out.warnings.push(at(c, `vrrp_instance ${name}: keyword '${k}' is not implemented by tsvs; ignored`));
  }
  if (!inst.iface) out.errors.push(at(n, `vrrp_instance ${name}: no interface given`));
  if (inst.vrid === 0) out.errors.push(at(n, `vrrp_instance ${name}: no virtual_router_id given (1..255)`));
  for (const { node, excluded } of vipNodes) {
    const v = parseVip(node, inst.iface, excluded, out);
    if (v) inst.vips.push(v);
  }
  const carried = inst.vips.filter((v) => !v.excluded);
  if (carried.length === 0) out.errors.push(at(n, `vrrp_instance ${name}: no virtual_ipaddress given`));
  // The family is the first advertised address's (keepalived); all must agree.
  inst.family = carried[0]?.addr.isV6 ? 6 : 4;
  for (const v of carried) {
    if ((v.addr.isV6 ? 6 : 4) !== inst.family) {
      out.errors.push(
        at(
          n,
          `vrrp_instance ${name}: ${v.addr} mixes IPv4 and IPv6 in virtual_ipaddress; put the other family in virtual_ipaddress_excluded`,
        ),
      );
    }
  }
  inst.version = inst.family === 6 ? 3 : (version ?? g.version);
  if (inst.family === 6 && version === 2) out.errors.push(at(n, `vrrp_instance ${name}: VRRP version 2 cannot carry IPv6; use version 3`));
  if (inst.version === 2) {
    const s = Math.round(intervalS);
    inst.intervalCs = Math.max(1, Math.min(ADVERT_INT_MAX_V2_S, s)) * 100;
  } else {
    inst.intervalCs = Math.max(1, Math.min(ADVERT_INT_MAX_V3_CS, Math.round(intervalS * 100)));
  }
  for (const p of [inst.srcIp, ...inst.unicastPeers]) {
    if (p && (p.isV6 ? 6 : 4) !== inst.family)
      out.errors.push(at(n, `vrrp_instance ${name}: ${p} is not of the instance's family (IPv${inst.family})`));
  }
  // keepalived: no priority → 255 with state MASTER, else 100; no state → MASTER at 255.
  inst.priority = priority ?? (state === 'MASTER' ? PRIO_OWNER : PRIO_DEFAULT);
  inst.initialMaster = state === 'MASTER' || (state === null && inst.priority === PRIO_OWNER);
  if (!inst.preempt && inst.initialMaster) {
    out.warnings.push(at(n, `vrrp_instance ${name}: nopreempt needs state BACKUP (keepalived); state MASTER is treated as BACKUP`));
    inst.initialMaster = false;
  }
  if (authNode) {
    let type = '';
    for (const c of authNode.children) {
      if (c.keyword === 'auth_type') type = (c.args[0] ?? '').toUpperCase();
      else if (c.keyword === 'auth_pass') inst.authPass = c.args[0] ?? '';
    }
    if (inst.version === 3)
      out.errors.push(at(authNode, `vrrp_instance ${name}: authentication is VRRPv2 only; remove it or use version 2`));
    else if (type === 'AH') out.errors.push(at(authNode, `vrrp_instance ${name}: auth_type AH is not implemented by tsvs; use PASS`));
    else if (type !== 'PASS') out.errors.push(at(authNode, `vrrp_instance ${name}: auth_type '${type}' is not PASS or AH`));
    if (inst.authPass === null && type === 'PASS') out.errors.push(at(authNode, `vrrp_instance ${name}: auth_type PASS needs auth_pass`));
  }
  return out.errors.length === errs ? inst : null;
}

function parseSyncGroup(n: ConfNode, out: Out): VrrpSyncGroupConfig | null {
  const name = n.args[0];
  if (!name) {
    out.errors.push(at(n, 'vrrp_sync_group needs a name'));
    return null;
  }
  const g: VrrpSyncGroupConfig = { name, members: [], notify: noNotify(), file: n.file, line: n.line };
  for (const c of n.children) {
    if (c.keyword === 'group') g.members.push(...c.children.map((m) => m.keyword), ...c.args);
    else if (notifyKey(c, g.notify, out)) continue;
    else out.warnings.push(at(c, `vrrp_sync_group ${name}: keyword '${c.keyword}' is not implemented by tsvs; ignored`));
  }
  return g;
}

/** The VRRP meaning of a parsed keepalived.conf (contract: HA-contract.md). */
export function vrrpFromConf(nodes: ConfNode[]): { config: VrrpConfig; errors: ConfMessage[]; warnings: ConfMessage[] } {
  const out: Out = { errors: [], warnings: [] };
  const config: VrrpConfig = { routerId: null, scripts: [], instances: [], syncGroups: [] };
  const g: Globals = { version: 2, garpDelayS: GARP_MASTER_DELAY_DEFAULT_S, garpRepeat: GARP_MASTER_REPEAT_DEFAULT, v3ChecksumAsV2: false };
  for (const n of nodes) {
    if (n.keyword !== 'global_defs') continue;
    for (const c of n.children) {
      if (c.keyword === 'router_id') config.routerId = c.args[0] ?? null;
      else if (c.keyword === 'vrrp_version') g.version = (num(c, out, 2, 3) ?? 2) as 2 | 3;
      else if (c.keyword === 'vrrp_garp_master_delay') g.garpDelayS = num(c, out, 0, 255) ?? g.garpDelayS;
      else if (c.keyword === 'vrrp_garp_master_repeat') g.garpRepeat = num(c, out, 1, 255) ?? g.garpRepeat;
      else if (c.keyword === 'vrrp_min_garp') {
        g.garpRepeat = 1;
        g.garpDelayS = 0;
      } else if (c.keyword === 'v3_checksum_as_v2' || c.keyword === 'vrrp_checksum_as_v2') g.v3ChecksumAsV2 = true;
    }
  }
  for (const n of nodes)
    if (n.keyword === 'vrrp_script') {
      const s = parseScript(n, out);
      if (s) config.scripts.push(s);
    }
  const names = new Set<string>();
  const vrids = new Map<string, string>();
  for (const n of nodes) {
    if (n.keyword === 'vrrp_instance') {
      const inst = parseInstance(n, g, out);
      if (!inst) continue;
      if (names.has(inst.name)) {
        out.errors.push(at(n, `vrrp_instance ${inst.name} is defined twice`));
        continue;
      }
      const key = `${inst.iface}/${inst.family}/${inst.vrid}`;
      const other = vrids.get(key);
      if (other) {
        out.errors.push(at(n, `vrrp_instance ${inst.name}: virtual_router_id ${inst.vrid} on ${inst.iface} is already used by ${other}`));
        continue;
      }
      const unknown = inst.trackScripts.filter((t) => !config.scripts.some((s) => s.name === t.name));
      for (const t of unknown) out.errors.push(at(n, `vrrp_instance ${inst.name}: track_script ${t.name} has no vrrp_script`));
      if (unknown.length > 0) continue;
      names.add(inst.name);
      vrids.set(key, inst.name);
      config.instances.push(inst);
    } else if (n.keyword === 'vrrp_sync_group') {
      const sg = parseSyncGroup(n, out);
      if (sg) config.syncGroups.push(sg);
    } else if (n.keyword === 'static_ipaddress' || n.keyword === 'static_routes' || n.keyword === 'static_rules') {
      out.warnings.push(at(n, `${n.keyword} is not implemented by tsvs; ignored`));
    }
  }
  for (const sg of config.syncGroups) {
    for (const m of sg.members) {
      if (!names.has(m))
        out.errors.push({ file: sg.file, line: sg.line, text: `vrrp_sync_group ${sg.name}: member ${m} is not a vrrp_instance` });
    }
  }
  return { config, errors: out.errors, warnings: out.warnings };
}
