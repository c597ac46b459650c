// keepalived.conf → LvsConfig: the meaning of global_defs (its LVS part), virtual_server,
// virtual_server_group, real_server and the checkers, with keepalived's defaults and
// precedence (virtual_server → real_server → checker; docs/spec/ha.md §B.2–B.4). Every keyword is
// either understood, left to VRRP (src/ha/conf/keywords.ts), or a warning with file:line:
// never silently dropped. Any error means the whole file is refused (nothing half applied).
import { accessSync, constants as fsc } from 'node:fs';
import { isIP } from 'node:net';
import type { ConfMessage, ConfNode } from '../conf/node.js';
import { VRRP_GLOBAL_KEYS, VRRP_TOP_BLOCKS } from '../conf/keywords.js';
import type {
  CheckerConf,
  CheckerKind,
  Fwd,
  HttpUrl,
  LvsConfig,
  Proto,
  RealServerConf,
  SorryServer,
  VirtualServerConf,
  VsTarget,
} from './types.js';

/** keepalived's defaults (docs/spec/ha.md §B.2, §B.4). */
export const DEFAULT_DELAY_LOOP_S = 60;
export const DEFAULT_CONNECT_TIMEOUT_S = 5;
const RETRY_DEFAULT: Record<CheckerKind, number> = { TCP_CHECK: 1, HTTP_GET: 1, SSL_GET: 1, MISC_CHECK: 0, DNS_CHECK: 3 };
/** delay_before_retry defaults in s; null = delay_loop (DNS_CHECK). */
const DBR_DEFAULT: Record<CheckerKind, number | null> = { TCP_CHECK: 1, HTTP_GET: 3, SSL_GET: 3, MISC_CHECK: 1, DNS_CHECK: null };
/** A virtual_server_group range (`10.0.0.1-200`) larger than this is almost surely a typo. */
export const MAX_GROUP_RANGE = 256;

const SCHEDULERS = new Set(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos']);
const SCHED_FLAGS = new Set(['flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback']);
const DNS_TYPES = new Set(['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA']);

/** keepalived keywords tsvs knows but does not act on: a warning says so, by name. */
const NOT_IMPLEMENTED_TOP = new Set([
  'SSL',
  'track_file',
  'bfd_instance',
  'linkbeat_use_polling',
  'net_namespace',
  'garp_group',
  'track_process',
]);

export interface LvsParse {
  config: LvsConfig;
  errors: ConfMessage[];
  warnings: ConfMessage[];
}

interface Ctx {
  errors: ConfMessage[];
  warnings: ConfMessage[];
}

const err = (c: Ctx, n: ConfNode, text: string): void => {
  c.errors.push({ file: n.file, line: n.line, text });
};
const warn = (c: Ctx, n: ConfNode, text: string): void => {
  c.warnings.push({ file: n.file, line: n.line, text });
};
const unknown = (c: Ctx, n: ConfNode, where: string): void =>
  warn(c, n, `unknown keyword '${n.keyword}' in ${where}: ignored (tsvs does not implement it)`);

function num(c: Ctx, n: ConfNode, opts: { min?: number; max?: number; int?: boolean; i?: number } = {}): number | null {
  const s = n.args[opts.i ?? 0];
  if (s === undefined) {
    err(c, n, `${n.keyword} needs a value`);
    return null;
  }
  const v = Number(s);
  const bad =
    s.trim() === '' ||
    !Number.isFinite(v) ||
    (opts.int !== false && !Number.isInteger(v)) ||
    (opts.min !== undefined && v < opts.min) ||
    (opts.max !== undefined && v > opts.max);
  if (bad) {
    const range = `${opts.min ?? '-∞'}..${opts.max ?? '∞'}`;
    err(c, n, `${n.keyword} ${s}: not ${opts.int === false ? 'a number' : 'an integer'} in ${range}`);
    return null;
  }
  return v;
}

const secs = (c: Ctx, n: ConfNode): number | null => {
  const v = num(c, n, { min: 0, max: 86_400, int: false });
  return v === null ? null : Math.round(v * 1000);
};

function bool(c: Ctx, n: ConfNode): boolean {
  const s = (n.args[0] ?? 'true').toLowerCase();
  if (['true', 'on', 'yes', '1'].includes(s)) return true;
  if (['false', 'off', 'no', '0'].includes(s)) return false;
  err(c, n, `${n.keyword} ${n.args[0]}: use true or false`);
  return false;
}

function addr(c: Ctx, n: ConfNode, s: string | undefined, what: string): string | null {
  if (s === undefined || isIP(s) === 0) {
    err(c, n, `${what} '${s ?? ''}' is not an IPv4 or IPv6 address`);
    return null;
  }
  return s;
}

function port(c: Ctx, n: ConfNode, s: string | undefined, what: string): number | null {
  const v = Number(s);
  if (s === undefined || !/^\d+$/.test(s) || v > 65535) {
    err(c, n, `${what} port '${s ?? ''}' is not a number in 0..65535`);
    return null;
  }
  return v;
}

/** A command line for notify_* / misc_path: one quoted string or several words. */
function script(c: Ctx, n: ConfNode, mustExist: boolean): string[] | null {
  const argv = n.args.length === 1 ? (n.args[0] as string).split(/\s+/).filter(Boolean) : n.args;
  if (argv.length === 0) {
    err(c, n, `${n.keyword} needs a command`);
    return null;
  }
  if (mustExist) {
    const path = argv[0] as string;
    try {
      accessSync(path, fsc.X_OK);
    } catch {
      err(c, n, `${n.keyword}: script ${path} does not exist or is not executable`);
      return null;
    }
  }
  return argv;
}

function fwd(c: Ctx, n: ConfNode): Fwd | null {
  const m = (n.args[0] ?? '').toUpperCase();
  if (m === 'NAT' || m === 'DR' || m === 'TUN') {
    if (n.args.length > 1) warn(c, n, `${n.keyword} ${n.args.slice(1).join(' ')}: tunnel options are not implemented; plain ipip is used`);
    return m;
  }
  err(c, n, `${n.keyword} '${n.args[0] ?? ''}': use NAT, DR or TUN`);
  return null;
}

/** The settings a virtual_server passes down to its real servers and their checkers. */
interface Inherited {
  delayLoopMs: number;
  connectTimeoutMs: number | null;
  retry: number | null;
  delayBeforeRetryMs: number | null;
  alpha: boolean;
  inhibit: boolean;
  virtualhost: string | null;
  weight: number;
  fwd: Fwd;
}

/** Keys shared by virtual_server, real_server and checkers (B.2–B.4); true when handled. */
function inherited(c: Ctx, n: ConfNode, h: Inherited): boolean {
  switch (n.keyword) {
    case 'delay_loop': {
      const v = secs(c, n);
      if (v !== null) h.delayLoopMs = Math.max(v, 1);
      return true;
    }
    case 'connect_timeout': {
      const v = secs(c, n);
      if (v !== null) h.connectTimeoutMs = Math.max(v, 1);
      return true;
    }
    case 'retry':
    case 'nb_get_retry': {
      const v = num(c, n, { min: 0, max: 1000 });
      if (v !== null) h.retry = v;
      return true;
    }
    case 'delay_before_retry': {
      const v = secs(c, n);
      if (v !== null) h.delayBeforeRetryMs = v;
      return true;
    }
    case 'alpha':
      h.alpha = bool(c, n);
      return true;
    case 'inhibit_on_failure':
      h.inhibit = bool(c, n);
      return true;
    case 'virtualhost':
      h.virtualhost = n.args[0] ?? null;
      return true;
    case 'warmup':
    case 'log_all_failures':
      warn(c, n, `${n.keyword} is not implemented by tsvs: ignored`);
      return true;
    default:
      return false;
  }
}

/** Parses the LVS part of a configuration. VRRP blocks and keys are left to src/ha/vrrp. */
export function lvsFromConf(nodes: ConfNode[]): LvsParse {
  const c: Ctx = { errors: [], warnings: [] };
  const groups = new Map<string, ConfNode>();
  for (const n of nodes) {
    if (n.keyword !== 'virtual_server_group') continue;
    const name = n.args[0];
    if (!name) err(c, n, 'virtual_server_group needs a name');
    else if (groups.has(name)) err(c, n, `virtual_server_group ${name} is defined twice (first at line ${groups.get(name)?.line})`);
    else groups.set(name, n);
  }
  const vss: VirtualServerConf[] = [];
  const seen = new Map<string, VirtualServerConf>();
  for (const n of nodes) {
    if (n.keyword === 'global_defs') globalDefs(c, n);
    else if (n.keyword === 'virtual_server') {
      const vs = virtualServer(c, n, groups);
      if (!vs) continue;
      for (const t of vs.targets) {
        const k = targetKey(t);
        const first = seen.get(k);
        if (first) {
          err(c, n, `duplicate virtual server ${k} (already defined at ${first.file}:${first.line})`);
        } else seen.set(k, vs);
      }
      vss.push(vs);
    } else if (n.keyword === 'virtual_server_group' || VRRP_TOP_BLOCKS.has(n.keyword)) continue;
    else if (NOT_IMPLEMENTED_TOP.has(n.keyword)) warn(c, n, `${n.keyword} is not implemented by tsvs: block ignored`);
    else unknown(c, n, 'the top level');
  }
  return { config: { virtualServers: vss }, errors: c.errors, warnings: c.warnings };
}

/** The IPVS service identity, as ipvsadm names it (`TCP 10.0.0.1:80`, `FWM 5 IPv6`). */
export function targetKey(t: VsTarget): string {
  if (t.proto === 'FWM') return `FWM ${t.fwmark}${t.af === 6 ? ' IPv6' : ''}`;
  const a = t.af === 6 ? `[${t.addr}]` : t.addr;
  return `${t.proto} ${a}:${t.port}`;
}

function globalDefs(c: Ctx, g: ConfNode): void {
  for (const n of g.children) {
    if (VRRP_GLOBAL_KEYS.has(n.keyword)) continue;
    if (n.keyword === 'lvs_sync_daemon') {
      // read by ha/sync/follow.ts
    } else if (
      [
        'notification_email',
        'notification_email_from',
        'smtp_server',
        'smtp_connect_timeout',
        'smtp_helo_name',
        'enable_script_security',
        'script_user',
        'lvs_flush',
        'lvs_flush_on_stop',
        'lvs_timeouts',
        'checker_log_all_failures',
        'max_auto_priority',
        'enable_snmp_checker',
        'enable_snmp_keepalived',
        'dynamic_interfaces',
        'process_names',
        'checker_process_name',
        'vrrp_process_name',
        'lvs_id',
      ].includes(n.keyword)
    ) {
      warn(c, n, `global_defs ${n.keyword} is not implemented by tsvs: ignored`);
    } else unknown(c, n, 'global_defs');
  }
}

function expandRange(c: Ctx, n: ConfNode, spec: string): string[] | null {
  const m = /^(.*[.:])([0-9a-fA-F]+)-([0-9a-fA-F]+)$/.exec(spec);
  if (!m) return addr(c, n, spec, 'address') === null ? null : [spec];
  const [, prefix, from, to] = m as unknown as [string, string, string, string];
  const v6 = prefix.includes(':');
  const lo = parseInt(from, v6 ? 16 : 10);
  const hi = parseInt(to, v6 ? 16 : 10);
  if (!(hi >= lo) || hi - lo >= MAX_GROUP_RANGE || (!v6 && hi > 255) || hi > 0xffff) {
    err(c, n, `address range ${spec}: the last part must rise by at most ${MAX_GROUP_RANGE - 1} within one byte (IPv4) or group (IPv6)`);
    return null;
  }
  const out: string[] = [];
  for (let i = lo; i <= hi; i++) {
    const a = prefix + (v6 ? i.toString(16) : String(i));
    if (addr(c, n, a, 'address') === null) return null;
    out.push(a);
  }
  return out;
}

/** virtual_server_group members: `ADDR[-END] PORT` or `fwmark N`; protocol is the VS's. */
function groupTargets(c: Ctx, g: ConfNode, proto: Proto): VsTarget[] {
  const out: VsTarget[] = [];
  for (const n of g.children) {
    if (n.keyword === 'fwmark') {
      const m = num(c, n, { min: 1, max: 0xffffffff });
      if (m !== null) out.push({ proto: 'FWM', addr: null, port: 0, fwmark: m, af: n.args[1] === 'IPv6' || n.args[1] === 'inet6' ? 6 : 4 });
      continue;
    }
    const addrs = expandRange(c, n, n.keyword);
    const p = port(c, n, n.args[0] ?? '0', 'group member');
    if (!addrs || p === null) continue;
    for (const a of addrs) out.push({ proto, addr: a, port: p, fwmark: 0, af: isIP(a) === 6 ? 6 : 4 });
  }
  if (out.length === 0) err(c, g, `virtual_server_group ${g.args[0] ?? ''} has no members`);
  return out;
}

function virtualServer(c: Ctx, n: ConfNode, groups: Map<string, ConfNode>): VirtualServerConf | null {
  const errorsBefore = c.errors.length;
  const a = n.args;
  let kind: 'addr' | 'fwmark' | 'group';
  let vaddr: string | null = null;
  let vport = 0;
  let fwmark = 0;
  let group: ConfNode | undefined;
  if (a[0] === 'fwmark') {
    kind = 'fwmark';
    fwmark = num(c, n, { min: 1, max: 0xffffffff, i: 1 }) ?? 0;
  } else if (a[0] === 'group') {
    kind = 'group';
    group = groups.get(a[1] ?? '');
    if (!group) err(c, n, `virtual_server group ${a[1] ?? ''}: no virtual_server_group of that name`);
  } else {
    kind = 'addr';
    vaddr = addr(c, n, a[0], 'virtual server address');
    vport = a[1] === undefined ? 0 : (port(c, n, a[1], 'virtual server') ?? 0);
  }
  const h: Inherited = {
    delayLoopMs: DEFAULT_DELAY_LOOP_S * 1000,
    connectTimeoutMs: null,
    retry: null,
    delayBeforeRetryMs: null,
    alpha: false,
    inhibit: false,
    virtualhost: null,
    weight: 1,
    fwd: 'NAT',
  };
  let sched: string | null = null;
  let persistenceS: number | null = null;
  let granularity: string | null = null;
  let pe: string | null = null;
  let proto: Proto | null = null;
  let ipv6Mark = false;
  const schedFlags: string[] = [];
  let ops = false;
  let quorum = 1;
  let hysteresis = 0;
  let quorumUp: string[] | null = null;
  let quorumDown: string[] | null = null;
  let sorryNode: ConfNode | null = null;
  let sorryInhibit = false;
  let sorryFwd: Fwd | null = null;
  let omega = false;
  const rsNodes: ConfNode[] = [];
  for (const k of n.children) {
    if (inherited(c, k, h)) continue;
    switch (k.keyword) {
      case 'lvs_sched':
      case 'lb_algo': {
        const s = k.args[0] ?? '';
        if (!SCHEDULERS.has(s)) err(c, k, `${k.keyword} '${s}': unknown scheduler (use one of ${[...SCHEDULERS].join(' ')})`);
        else sched = s;
        break;
      }
      case 'lvs_method':
      case 'lb_kind':
        h.fwd = fwd(c, k) ?? h.fwd;
        break;
      case 'persistence_timeout':
        persistenceS = k.args.length ? num(c, k, { min: 1, max: 0x7fffffff }) : 360;
        break;
      case 'persistence_granularity':
        granularity = k.args[0] ?? null;
        if (!granularity) err(c, k, 'persistence_granularity needs a netmask or prefix length');
        break;
      case 'persistence_engine':
        pe = k.args[0] ?? null;
        break;
      case 'protocol': {
        const p = (k.args[0] ?? '').toUpperCase();
        if (p === 'TCP' || p === 'UDP' || p === 'SCTP') proto = p;
        else err(c, k, `protocol '${k.args[0] ?? ''}': use TCP, UDP or SCTP`);
        break;
      }
      case 'ip_family':
        ipv6Mark = (k.args[0] ?? '') === 'inet6';
        break;
      case 'ops':
        ops = bool(c, k);
        break;
      case 'quorum':
        quorum = num(c, k, { min: 1, max: 0xffffffff }) ?? quorum;
        break;
      case 'hysteresis':
        hysteresis = num(c, k, { min: 0, max: 0xffffffff }) ?? hysteresis;
        break;
      case 'quorum_up':
        quorumUp = script(c, k, true);
        break;
      case 'quorum_down':
        quorumDown = script(c, k, true);
        break;
      case 'sorry_server':
        sorryNode = k;
        break;
      case 'sorry_server_inhibit':
        sorryInhibit = bool(c, k);
        break;
      case 'sorry_server_lvs_method':
        sorryFwd = fwd(c, k);
        break;
      case 'omega':
        omega = bool(c, k);
        break;
      case 'real_server':
        rsNodes.push(k);
        break;
      case 'ha_suspend':
      case 'smtp_alert':
      case 'snmp_name':
        warn(c, k, `${k.keyword} is not implemented by tsvs: ignored`);
        break;
      default:
        if (SCHED_FLAGS.has(k.keyword)) schedFlags.push(k.keyword);
        else unknown(c, k, 'virtual_server');
    }
  }
  if (kind !== 'fwmark' && proto === null) {
    warn(c, n, 'virtual_server has no protocol: UDP assumed, as keepalived does');
    proto = 'UDP';
  }
  let targets: VsTarget[] = [];
  if (kind === 'addr' && vaddr) targets = [{ proto: proto as Proto, addr: vaddr, port: vport, fwmark: 0, af: isIP(vaddr) === 6 ? 6 : 4 }];
  else if (kind === 'fwmark') targets = [{ proto: 'FWM', addr: null, port: 0, fwmark, af: ipv6Mark ? 6 : 4 }];
  else if (group) targets = groupTargets(c, group, proto ?? 'UDP');
  if (sched === null) {
    warn(c, n, 'virtual_server has no lvs_sched: wlc assumed, as keepalived does');
    sched = 'wlc';
  }
  if (persistenceS === null && granularity !== null) persistenceS = 360;
  const af = targets[0]?.af ?? 4;
  const realServers: RealServerConf[] = [];
  const seenRs = new Set<string>();
  for (const k of rsNodes) {
    const rs = realServer(c, k, h, vport, af, kind === 'fwmark');
    if (!rs) continue;
    const key = `${rs.addr} ${rs.port}`;
    if (seenRs.has(key)) err(c, k, `real_server ${key} appears twice in this virtual_server`);
    seenRs.add(key);
    realServers.push(rs);
  }
  let sorry: SorryServer | null = null;
  if (sorryNode) {
    const sa = addr(c, sorryNode, sorryNode.args[0], 'sorry_server address');
    const sp = sorryNode.args[1] === undefined ? vport : port(c, sorryNode, sorryNode.args[1], 'sorry_server');
    if (sa && sp !== null) sorry = { addr: sa, port: sp, fwd: sorryFwd ?? h.fwd, inhibit: sorryInhibit };
  }
  if (c.errors.length > errorsBefore) return null;
  return {
    file: n.file,
    line: n.line,
    name: n.args.join(' '),
    targets,
    sched,
    persistenceS,
    granularity,
    pe,
    schedFlags,
    ops,
    quorum,
    hysteresis,
    quorumUp,
    quorumDown,
    sorry,
    omega,
    realServers,
  };
}

function realServer(c: Ctx, n: ConfNode, vs: Inherited, vport: number, af: 4 | 6, fwmarkVs: boolean): RealServerConf | null {
  const a = addr(c, n, n.args[0], 'real_server address');
  const p = n.args[1] === undefined ? vport : port(c, n, n.args[1], 'real_server');
  if (a && !fwmarkVs && (isIP(a) === 6 ? 6 : 4) !== af) {
    err(c, n, `real_server ${a} is IPv${isIP(a)} but the virtual server is IPv${af}`);
  }
  const h: Inherited = { ...vs };
  let uthreshold = 0;
  let lthreshold = 0;
  let notifyUp: string[] | null = null;
  let notifyDown: string[] | null = null;
  const checkerNodes: ConfNode[] = [];
  for (const k of n.children) {
    if (inherited(c, k, h)) continue;
    switch (k.keyword) {
      case 'weight':
        h.weight = num(c, k, { min: 0, max: 0x7fffffff }) ?? h.weight;
        break;
      case 'lvs_method':
        h.fwd = fwd(c, k) ?? h.fwd;
        break;
      case 'uthreshold':
        uthreshold = num(c, k, { min: 0, max: 0x7fffffff }) ?? 0;
        break;
      case 'lthreshold':
        lthreshold = num(c, k, { min: 0, max: 0x7fffffff }) ?? 0;
        break;
      case 'notify_up':
        notifyUp = script(c, k, true);
        break;
      case 'notify_down':
        notifyDown = script(c, k, true);
        break;
      case 'TCP_CHECK':
      case 'HTTP_GET':
      case 'SSL_GET':
      case 'MISC_CHECK':
      case 'DNS_CHECK':
        checkerNodes.push(k);
        break;
      case 'SMTP_CHECK':
      case 'UDP_CHECK':
      case 'PING_CHECK':
      case 'FILE_CHECK':
      case 'BFD_CHECK':
        warn(c, k, `${k.keyword} is not implemented by tsvs: this checker is ignored`);
        break;
      default:
        unknown(c, k, 'real_server');
    }
  }
  if (!a || p === null) return null;
  const checkers: CheckerConf[] = [];
  for (const k of checkerNodes) {
    const ck = checker(c, k, h, a, p);
    if (ck) checkers.push(ck);
  }
  // IPVS forces the service's port on gate and ipip dests; the checks still use the RS port.
  const destPort = !fwmarkVs && h.fwd !== 'NAT' ? vport : p;
  return {
    file: n.file,
    line: n.line,
    addr: a,
    port: destPort,
    weight: h.weight,
    fwd: h.fwd,
    uthreshold,
    lthreshold,
    inhibitOnFailure: h.inhibit,
    notifyUp,
    notifyDown,
    checkers,
  };
}

function statusRanges(c: Ctx, n: ConfNode): [number, number][] {
  const out: [number, number][] = [];
  for (const part of n.args.join(',').split(',').filter(Boolean)) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(part);
    if (!m) {
      err(c, n, `status_code '${part}': use codes like 200, 200-299 or 200,301`);
      continue;
    }
    const lo = Number(m[1]);
    out.push([lo, m[2] ? Number(m[2]) : lo]);
  }
  return out;
}

function checker(c: Ctx, n: ConfNode, rs: Inherited, rsAddr: string, rsPort: number): CheckerConf | null {
  const kind = n.keyword as CheckerKind;
  const h: Inherited = { ...rs };
  let connectIp = rsAddr;
  let connectPort = rsPort;
  let bindto: string | null = null;
  let bindPort: number | null = null;
  const urls: HttpUrl[] = [];
  let protocol: '1.0' | '1.0C' | '1.1' = '1.0';
  let sni: string | null = null;
  let enableSni = false;
  let miscArgv: string[] | null = null;
  let miscTimeoutMs: number | null = null;
  let miscDynamic = false;
  let dnsName = '.';
  let dnsType = 'SOA';
  const http = kind === 'HTTP_GET' || kind === 'SSL_GET';
  for (const k of n.children) {
    if (inherited(c, k, h)) continue;
    const is = (kw: string, kinds: CheckerKind[] | null): boolean => k.keyword === kw && (kinds === null || kinds.includes(kind));
    if (is('connect_ip', null)) connectIp = addr(c, k, k.args[0], 'connect_ip') ?? connectIp;
    else if (is('connect_port', null)) connectPort = port(c, k, k.args[0], 'connect_port') ?? connectPort;
    else if (is('bindto', null)) bindto = addr(c, k, k.args[0], 'bindto');
    else if (is('bind_port', null)) bindPort = port(c, k, k.args[0], 'bind_port');
    else if (is('url', ['HTTP_GET', 'SSL_GET'])) {
      const u: HttpUrl = { path: '/', status: [], digest: null, virtualhost: null };
      for (const x of k.children) {
        if (x.keyword === 'path') u.path = x.args[0] ?? '/';
        else if (x.keyword === 'status_code') u.status.push(...statusRanges(c, x));
        else if (x.keyword === 'digest') {
          const d = (x.args[0] ?? '').toLowerCase();
          if (!/^[0-9a-f]{32}$/.test(d)) err(c, x, `digest '${x.args[0] ?? ''}': an MD5 is 32 hex digits (genhash prints it)`);
          u.digest = d;
        } else if (x.keyword === 'virtualhost') u.virtualhost = x.args[0] ?? null;
        else unknown(c, x, 'url');
      }
      if (u.status.length === 0) u.status.push([200, 299]);
      urls.push(u);
    } else if (is('http_protocol', ['HTTP_GET', 'SSL_GET'])) {
      const v = k.args[0] ?? '';
      if (v === '1.0' || v === '1.0C' || v === '1.1') protocol = v;
      else err(c, k, `http_protocol '${v}': use 1.0, 1.0C or 1.1`);
    } else if (is('enable_sni', ['SSL_GET'])) enableSni = bool(c, k);
    else if (is('sni_name', ['SSL_GET'])) sni = k.args[0] ?? null;
    else if (is('misc_path', ['MISC_CHECK'])) miscArgv = script(c, k, true);
    else if (is('misc_timeout', ['MISC_CHECK'])) miscTimeoutMs = secs(c, k);
    else if (is('misc_dynamic', ['MISC_CHECK'])) miscDynamic = bool(c, k);
    else if (is('user', ['MISC_CHECK']))
      warn(c, k, 'MISC_CHECK user is not implemented by tsvs: the script runs as keepalived does without it');
    else if (is('name', ['DNS_CHECK'])) dnsName = k.args[0] ?? '.';
    else if (is('type', ['DNS_CHECK'])) {
      const t = (k.args[0] ?? '').toUpperCase();
      if (!DNS_TYPES.has(t)) err(c, k, `DNS_CHECK type '${k.args[0] ?? ''}': use one of ${[...DNS_TYPES].join(' ')}`);
      dnsType = t;
    } else if (['bind_if', 'fwmark', 'regex', 'regex_no_match', 'fast_recovery', 'tls_compliant'].includes(k.keyword)) {
      warn(c, k, `${kind} ${k.keyword} is not implemented by tsvs: ignored`);
    } else unknown(c, k, kind);
  }
  if (kind === 'MISC_CHECK' && !miscArgv) {
    if (!n.children.some((k) => k.keyword === 'misc_path')) err(c, n, 'MISC_CHECK needs misc_path');
    return null;
  }
  if (http && urls.length === 0) err(c, n, `${kind} needs at least one url { path ... }`);
  if (bindto && isIP(bindto) !== isIP(connectIp)) err(c, n, `bindto ${bindto} and connect_ip ${connectIp} are of different families`);
  const dbr = h.delayBeforeRetryMs ?? (DBR_DEFAULT[kind] === null ? h.delayLoopMs : (DBR_DEFAULT[kind] as number) * 1000);
  return {
    file: n.file,
    line: n.line,
    kind,
    connectIp,
    connectPort,
    bindto,
    bindPort,
    delayLoopMs: h.delayLoopMs,
    connectTimeoutMs: h.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_S * 1000,
    retry: h.retry ?? RETRY_DEFAULT[kind],
    delayBeforeRetryMs: dbr,
    alpha: h.alpha,
    http: http
      ? {
          urls,
          virtualhost: h.virtualhost,
          protocol,
          sni: kind === 'SSL_GET' && (enableSni || sni) ? (sni ?? h.virtualhost ?? null) : null,
        }
      : null,
    misc: miscArgv ? { argv: miscArgv, timeoutMs: miscTimeoutMs ?? h.delayLoopMs, dynamic: miscDynamic } : null,
    dns: kind === 'DNS_CHECK' ? { name: dnsName, type: dnsType } : null,
  };
}
