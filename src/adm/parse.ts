// ipvsadm's parse_options: the first option must be a command; every later option is applied
// left to right, its "multiple" check before its value is parsed; then --set's three values,
// left-over positionals and the -b list. Spec: docs/spec/ipvsadm.md §2, §2.1, §3.1 steps 1-4, §4.

import {
  AF_INET,
  AF_INET6,
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_FULLNAT,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
  IP_VS_CONN_F_TUNNEL_TYPE_GRE,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE,
  IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT,
  IP_VS_SVC_F_SCHED_MH_FALLBACK,
  IP_VS_SVC_F_SCHED_MH_PORT,
  IP_VS_SVC_F_SCHED_SH_FALLBACK,
  IP_VS_SVC_F_SCHED_SH_PORT,
  IP_VS_SVC_F_SCHED1,
  IP_VS_SVC_F_SCHED2,
  IP_VS_SVC_F_SCHED3,
  IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
  IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPVS_MAX_TIMEOUT,
  IPVS_SVC_PERSISTENT_TIMEOUT,
  type TunType,
} from '../core/constants.js';
import { parseLocalAddr, parseMcastGroup, parseNetmask4, parseService } from './addrport.js';
import { atoi, parseFwmarkValue, stringToNumber } from './cnum.js';
import {
  AdmExit,
  type AdmIo,
  type CommandEntry,
  FMT_EXACT,
  FMT_NOSORT,
  FMT_NUMERIC,
  FMT_PERSISTENTCONN,
  FMT_RATE,
  FMT_STATS,
  FMT_THRESHOLDS,
  FMT_LADDR_INFO,
  FMT_TUN_INFO,
} from './entry.js';
import { MSG_ILLEGAL_LADDR, MSG_ILLEGAL_PROXY_PROTOCOL, parseProxyProtocol } from './extensions.js';
import { helpText, VERSION_LINE } from './help.js';
import { COMMAND_OPTIONS, OPT, type OptBit, OPT_NAMES, POPT_TABLE } from './options.js';
import { PoptContext, poptStrerror } from './popt.js';
import type { Resolver } from './resolve.js';

/** IP_VS_SCHEDNAME_MAXLEN / IP_VS_IFNAME_MAXLEN / IP_VS_PENAME_MAXLEN less the NUL. */
const NAME_MAX = 15;

export interface ParseEnv {
  io: AdmIo;
  resolver: Resolver;
  /** argv[0] as given to the tool (the basename it was invoked as). */
  prog: string;
}

/** tryhelp_exit: the hint line, exit 255. */
export function tryHelp(io: AdmIo, prog: string): never {
  io.err(`Try \`${prog} -h' or '${prog} --help' for more information.\n`);
  throw new AdmExit(255);
}

/**
 * Parses argv (argv[0] = program name) into `ce`. Returns -1 after printing a popt error;
 * throws AdmExit for every fail(), the "Try" hint, -h and -v.
 */
export async function parseOptions(argv: readonly string[], ce: CommandEntry, env: ParseEnv): Promise<number> {
  const io: AdmIo = env.io;
  const prog = env.prog;
  const pc = new PoptContext(argv, POPT_TABLE);
  const first = pc.getNextOpt();
  if (first.kind !== 'opt') tryHelp(io, prog);
  const name = first.opt.long;
  if (name === 'help') {
    io.out(helpText(prog));
    throw new AdmExit(0);
  }
  if (name === 'version') {
    io.out(VERSION_LINE);
    throw new AdmExit(0);
  }
  const cmd = COMMAND_OPTIONS.get(name);
  if (!cmd) tryHelp(io, prog);
  ce.cmd = cmd;
  if (cmd === 'start-daemon' || cmd === 'stop-daemon') {
    const state = first.arg;
    if (state === 'master' || state === 'backup') ce.daemon.state = state;
    else if (cmd === 'start-daemon') io.fail(2, 'illegal start-daemon parameter specified');
    else io.fail(2, 'illegal start_daemon specified');
  }

  for (;;) {
    const r = pc.getNextOpt();
    if (r.kind === 'end') break;
    if (r.kind === 'error') {
      io.err(`${pc.badOption()}: ${poptStrerror(r.code)}\n`);
      return -1;
    }
    if (COMMAND_OPTIONS.has(r.opt.long) || r.opt.long === 'help' || r.opt.long === 'version') {
      io.fail(2, `invalid option \`${pc.badOption()}'`);
    }
    await applyOption(ce, r.opt.long, r.arg, env);
  }

  if (ce.cmd === 'set') {
    const a = pc.getArg();
    const b = a !== undefined ? pc.getArg() : undefined;
    const c = b !== undefined ? pc.getArg() : undefined;
    if (a === undefined || b === undefined || c === undefined) {
      io.fail(2, '--set option requires 3 timeout values');
    }
    ce.timeouts.tcp = parseTimeout(io, a, 0, IPVS_MAX_TIMEOUT);
    ce.timeouts.tcpfin = parseTimeout(io, b, 0, IPVS_MAX_TIMEOUT);
    ce.timeouts.udp = parseTimeout(io, c, 0, IPVS_MAX_TIMEOUT);
  }
  const extra = pc.getArg();
  if (extra !== undefined) io.fail(2, `unexpected argument ${extra}`);

  if (ce.schedFlagsArg) ce.svc.flags |= parseSchedFlags(io, ce.svc.schedName, ce.schedFlagsArg);
  return 0;
}

/** set_option: an option bit may be given once. */
function setOption(io: AdmIo, ce: CommandEntry, bit: OptBit): void {
  if (ce.opts[bit]) io.fail(2, `multiple '${OPT_NAMES[bit]}' options specified`);
  ce.opts[bit] = 1;
}

function parseTimeout(io: AdmIo, s: string | null | undefined, min: number, max: number): number {
  if (s === null || s === undefined) return IPVS_SVC_PERSISTENT_TIMEOUT;
  const n = stringToNumber(s, min, max);
  if (n === -1) io.fail(2, `invalid timeout value \`${s}' specified`);
  return n;
}

function numberOrFail(io: AdmIo, s: string, max: number, msg: string, min = 0): number {
  const n = stringToNumber(s, min, max);
  if (n === -1) io.fail(2, msg);
  return n;
}

const TUN_TYPES = new Map<string, TunType>([
  ['ipip', IP_VS_CONN_F_TUNNEL_TYPE_IPIP],
  ['gue', IP_VS_CONN_F_TUNNEL_TYPE_GUE],
  ['gre', IP_VS_CONN_F_TUNNEL_TYPE_GRE],
]);

async function applyOption(ce: CommandEntry, name: string, arg: string | null, env: ParseEnv): Promise<void> {
  const io: AdmIo = env.io;
  const resolver = env.resolver;
  const v = arg ?? '';
  const svc = ce.svc;
  const dest = ce.dest;
  switch (name) {
    case 'tcp-service':
    case 'udp-service':
    case 'sctp-service': {
      setOption(io, ce, OPT.service);
      svc.protocol = name === 'tcp-service' ? IPPROTO_TCP : name === 'udp-service' ? IPPROTO_UDP : IPPROTO_SCTP;
      const p = await parseService(v, svc.protocol, resolver);
      if (!p) io.fail(2, 'illegal virtual server address[:port] specified');
      svc.af = p.af;
      svc.addr = p.addr;
      if (p.af === AF_INET6) svc.netmask = 128;
      if (p.flags & 2) svc.port = p.port;
      return;
    }
    case 'fwmark-service': {
      setOption(io, ce, OPT.service);
      svc.af = AF_INET;
      svc.protocol = IPPROTO_TCP;
      const mark = parseFwmarkValue(v);
      if (mark === null) io.fail(2, `invalid fwmark value \`${v}' specified`);
      svc.fwmark = mark;
      return;
    }
    case 'scheduler':
      setOption(io, ce, OPT.scheduler);
      svc.schedName = v.slice(0, NAME_MAX);
      return;
    case 'persistent':
      setOption(io, ce, OPT.persistent);
      svc.flags |= IP_VS_SVC_F_PERSISTENT;
      svc.timeout = parseTimeout(io, arg, 1, IPVS_MAX_TIMEOUT);
      return;
    case 'netmask':
      setOption(io, ce, OPT.netmask);
      if (!ce.isV6) {
        const m = await parseNetmask4(v, resolver);
        if (m === null) io.fail(2, 'illegal virtual server persistent mask specified');
        svc.netmask = m;
      } else {
        svc.netmask = atoi(v);
        if (svc.netmask < 1 || svc.netmask > 128) io.fail(2, 'illegal ipv6 netmask specified');
      }
      return;
    case 'real-server': {
      setOption(io, ce, OPT.server);
      const p = await parseService(v, svc.protocol, resolver);
      if (!p) io.fail(2, 'illegal real server address[:port] specified');
      dest.af = p.af;
      dest.addr = p.addr;
      dest.port = p.flags & 2 ? p.port : svc.port;
      return;
    }
    case 'ipip':
      setOption(io, ce, OPT.forward);
      dest.fwd = IP_VS_CONN_F_TUNNEL;
      return;
    case 'gatewaying':
      setOption(io, ce, OPT.forward);
      dest.fwd = IP_VS_CONN_F_DROUTE;
      return;
    case 'masquerading':
      setOption(io, ce, OPT.forward);
      dest.fwd = IP_VS_CONN_F_MASQ;
      return;
    case 'fullnat':
      setOption(io, ce, OPT.forward);
      dest.fwd = IP_VS_CONN_F_FULLNAT;
      return;
    case 'weight':
      setOption(io, ce, OPT.weight);
      dest.weight = numberOrFail(io, v, 65535, 'illegal weight specified');
      return;
    case 'u-threshold':
      setOption(io, ce, OPT.uThreshold);
      dest.uThreshold = numberOrFail(io, v, 0x7fffffff, 'illegal u_threshold specified');
      return;
    case 'l-threshold':
      setOption(io, ce, OPT.lThreshold);
      dest.lThreshold = numberOrFail(io, v, 0x7fffffff, 'illegal l_threshold specified');
      return;
    case 'connection':
      setOption(io, ce, OPT.connection);
      return;
    case 'numeric':
      setOption(io, ce, OPT.numeric);
      ce.format |= FMT_NUMERIC;
      return;
    case 'mcast-interface':
      setOption(io, ce, OPT.mcastIfn);
      ce.daemon.ifname = v.slice(0, NAME_MAX);
      return;
    case 'syncid':
      setOption(io, ce, OPT.syncid);
      ce.daemon.syncid = numberOrFail(io, v, 255, 'illegal syncid specified');
      return;
    case 'timeout':
      setOption(io, ce, OPT.timeout);
      return;
    case 'daemon':
      setOption(io, ce, OPT.daemon);
      return;
    case 'stats':
      setOption(io, ce, OPT.stats);
      ce.format |= FMT_STATS;
      return;
    case 'rate':
      setOption(io, ce, OPT.rate);
      ce.format |= FMT_RATE;
      return;
    case 'thresholds':
      setOption(io, ce, OPT.thresholds);
      ce.format |= FMT_THRESHOLDS;
      return;
    case 'persistent-conn':
      setOption(io, ce, OPT.persistentConn);
      ce.format |= FMT_PERSISTENTCONN;
      return;
    case 'nosort':
      setOption(io, ce, OPT.nosort);
      ce.format |= FMT_NOSORT;
      return;
    case 'sort':
      return;
    case 'exact':
      setOption(io, ce, OPT.exact);
      ce.format |= FMT_EXACT;
      return;
    case 'ipv6':
      if (!svc.fwmark) io.fail(2, '-6 used before -f\n');
      svc.af = AF_INET6;
      svc.netmask = 128;
      return;
    case 'ops':
      setOption(io, ce, OPT.ops);
      svc.flags |= IP_VS_SVC_F_ONEPACKET;
      return;
    case 'pe':
      setOption(io, ce, OPT.pe);
      svc.peName = v.slice(0, NAME_MAX);
      return;
    case 'sched-flags':
      setOption(io, ce, OPT.schedFlags);
      ce.schedFlagsArg = v;
      return;
    case 'mcast-group': {
      setOption(io, ce, OPT.mcastGroup);
      const g = parseMcastGroup(v);
      if (!g.addr) io.fail(2, `invalid IPv${g.v6 ? 6 : 4} mcast-group \`${v}'`);
      ce.daemon.group = g.addr;
      return;
    }
    case 'mcast-port':
      setOption(io, ce, OPT.mcastPort);
      ce.daemon.port = numberOrFail(io, v, 65535, 'illegal mcast-port specified', 1);
      return;
    case 'mcast-ttl':
      setOption(io, ce, OPT.mcastTtl);
      ce.daemon.ttl = numberOrFail(io, v, 255, 'illegal mcast-ttl specified', 1);
      return;
    case 'sync-maxlen':
      setOption(io, ce, OPT.syncMaxlen);
      ce.daemon.maxlen = numberOrFail(io, v, 65535 - 20 - 8, 'illegal sync-maxlen specified', 1);
      return;
    case 'tun-info':
      setOption(io, ce, OPT.tunInfo);
      ce.format |= FMT_TUN_INFO;
      return;
    case 'laddr-info':
      setOption(io, ce, OPT.laddrInfo);
      ce.format |= FMT_LADDR_INFO;
      return;
    case 'tun-type': {
      setOption(io, ce, OPT.tunType);
      const t = TUN_TYPES.get(v);
      if (t === undefined) io.fail(2, 'illegal tunnel type specified');
      dest.tunType = t;
      return;
    }
    case 'tun-port':
      setOption(io, ce, OPT.tunPort);
      dest.tunPort = numberOrFail(io, v, 65535, 'illegal tunnel port specified', 1);
      return;
    case 'tun-nocsum':
      setOption(io, ce, OPT.tunNocsum);
      return;
    case 'tun-csum':
      setOption(io, ce, OPT.tunCsum);
      dest.tunFlags |= IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
      return;
    case 'tun-remcsum':
      setOption(io, ce, OPT.tunRemcsum);
      dest.tunFlags |= IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;
      return;
    case 'laddr': {
      // Repeatable: one local address per occurrence.
      ce.opts[OPT.laddr] = 1;
      const a = await parseLocalAddr(v, resolver);
      if (!a) io.fail(2, MSG_ILLEGAL_LADDR);
      svc.laddrs.push(a);
      return;
    }
    case 'proxy-protocol': {
      setOption(io, ce, OPT.proxyProtocol);
      const pp = parseProxyProtocol(v);
      if (pp === null) io.fail(2, MSG_ILLEGAL_PROXY_PROTOCOL);
      dest.proxyProtocol = pp;
      return;
    }
    default:
      throw new Error(`tsvsadm: option --${name} has no handler`);
  }
}

/** The -b list: known names, and sh-/mh- names only with their scheduler (§4.3). */
function parseSchedFlags(io: AdmIo, schedName: string, list: string): number {
  const sched = schedName || 'wlc';
  const names = list.split(',').filter((x) => x !== '');
  // ipvsadm dereferences strtok's NULL when the list holds no name at all.
  if (names.length === 0) throw new AdmExit(139);
  let flags = 0;
  for (const f of names) {
    const bit = SCHED_FLAG_BITS.get(f);
    if (bit === undefined) io.fail(2, `invalid scheduler flag \`${f}'`);
    const only = f.startsWith('sh-') ? 'sh' : f.startsWith('mh-') ? 'mh' : null;
    if (only && sched !== only) io.fail(2, `incompatible scheduler flag \`${f}'`);
    flags |= bit;
  }
  return flags;
}

const SCHED_FLAG_BITS = new Map<string, number>([
  ['flag-1', IP_VS_SVC_F_SCHED1],
  ['flag-2', IP_VS_SVC_F_SCHED2],
  ['flag-3', IP_VS_SVC_F_SCHED3],
  ['sh-fallback', IP_VS_SVC_F_SCHED_SH_FALLBACK],
  ['sh-port', IP_VS_SVC_F_SCHED_SH_PORT],
  ['mh-fallback', IP_VS_SVC_F_SCHED_MH_FALLBACK],
  ['mh-port', IP_VS_SVC_F_SCHED_MH_PORT],
]);
