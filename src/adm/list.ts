// The service listings and the save format: list_all / list_service / print_title /
// print_service_entry, with the default, --stats, --rate, --thresholds, --persistent-conn,
// --tun-info and rule (-S) variants. Spec: docs/spec/ipvsadm.md §7.1-7.5, §8, §10.

import {
  AF_INET6,
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_FULLNAT,
  IP_VS_CONN_F_FWD_MASK,
  IP_VS_CONN_F_LOCALNODE,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
  IP_VS_CONN_F_TUNNEL_TYPE_GRE,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE,
  IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
  IP_VS_CONN_TAB_SIZE,
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT,
  IP_VS_SVC_F_SCHED_MASK,
  IP_VS_SVC_F_SCHED1,
  IP_VS_SVC_F_SCHED2,
  IP_VS_SVC_F_SCHED3,
  IP_VS_VERSION_CODE,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from '../core/constants.js';
import type { Dest } from '../core/dest.js';
import { rates } from '../core/estimator.js';
import { format4 } from '../core/inet.js';
import type { Rules } from '../core/rules.js';
import type { Service } from '../core/service.js';
import type { Stats } from '../core/stats.js';
import {
  type AdmIo,
  FMT_EXACT,
  FMT_NOSORT,
  FMT_PERSISTENTCONN,
  FMT_RATE,
  FMT_RULE,
  FMT_STATS,
  FMT_THRESHOLDS,
  FMT_TUN_INFO,
} from './entry.js';
import { FULLNAT_NAME, FULLNAT_SWITCH, listServiceExtras, saveDestExtras, saveServiceExtras } from './extensions.js';
import type { Namer } from './names.js';
import { largenum, left, right, s32, u32 } from './printf.js';
import { cmpDests, cmpServices, glibcMergeSort } from './sort.js';

export interface ListCtx {
  io: AdmIo;
  rules: Rules;
  namer: Namer;
}

const SVC_LABEL_MAX = 33;
const DEST_LABEL_MAX = 28;

/** list_all: version line (not for -S), title, every service. */
export async function listAll(c: ListCtx, format: number): Promise<void> {
  if (!(format & FMT_RULE)) {
    const v = IP_VS_VERSION_CODE;
    c.io.out(`IP Virtual Server version ${v >> 16}.${(v >> 8) & 0xff}.${v & 0xff} (size=${IP_VS_CONN_TAB_SIZE})\n`);
  }
  let services = c.rules.services();
  if (!(format & FMT_NOSORT)) services = glibcMergeSort(services, cmpServices);
  printTitle(c.io, format);
  for (const svc of services) await printServiceEntry(c, svc, format);
}

/** list_service: title and one service (no version line). */
export async function listService(c: ListCtx, svc: Service, format: number): Promise<void> {
  printTitle(c.io, format);
  await printServiceEntry(c, svc, format);
}

function printTitle(io: AdmIo, format: number): void {
  const head = left('Prot LocalAddress:Port', 33);
  if (format & FMT_STATS) {
    io.out(
      `${head} ${right('Conns', 8)} ${right('InPkts', 8)} ${right('OutPkts', 8)} ${right('InBytes', 8)} ${right('OutBytes', 8)}\n  -> RemoteAddress:Port\n`,
    );
  } else if (format & FMT_RATE) {
    io.out(
      `${head} ${right('CPS', 8)} ${right('InPPS', 8)} ${right('OutPPS', 8)} ${right('InBPS', 8)} ${right('OutBPS', 8)}\n  -> RemoteAddress:Port\n`,
    );
  } else if (format & FMT_THRESHOLDS) {
    io.out(
      `${head} ${left('Uthreshold', 10)} ${left('Lthreshold', 10)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}\n  -> RemoteAddress:Port\n`,
    );
  } else if (format & FMT_PERSISTENTCONN) {
    io.out(
      `${head} ${left('Weight', 9)} ${left('PersistConn', 11)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}\n  -> RemoteAddress:Port\n`,
    );
  } else if (format & FMT_TUN_INFO) {
    io.out('Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n');
  } else if (!(format & FMT_RULE)) {
    io.out('Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n');
  }
}

async function serviceLabel(c: ListCtx, svc: Service, format: number): Promise<string> {
  const v6 = svc.af === AF_INET6;
  if (svc.fwmark) {
    const mark = s32(svc.fwmark);
    if (format & FMT_RULE) return v6 ? `-f ${mark} -6` : `-f ${mark}`;
    return v6 ? `FWM  ${mark} IPv6` : `FWM  ${mark}`;
  }
  const vname = await c.namer.addrPort(svc.addr, svc.port, svc.protocol);
  const p = svc.protocol;
  if (format & FMT_RULE) {
    return `${p === IPPROTO_TCP ? '-t' : p === IPPROTO_UDP ? '-u' : '--sctp-service'} ${vname}`;
  }
  const label = `${left(p === IPPROTO_TCP ? 'TCP' : p === IPPROTO_UDP ? 'UDP' : 'SCTP', 4)} ${vname}`;
  return v6 ? label : label.slice(0, SVC_LABEL_MAX);
}

/** print_sched_flags: names by scheduler, in bit order, comma-joined. */
function schedFlagNames(svc: Service): string {
  const [f1, f2] =
    svc.schedName === 'sh' ? ['sh-fallback', 'sh-port'] : svc.schedName === 'mh' ? ['mh-fallback', 'mh-port'] : ['flag-1', 'flag-2'];
  const names: string[] = [];
  if (svc.flags & IP_VS_SVC_F_SCHED1) names.push(f1);
  if (svc.flags & IP_VS_SVC_F_SCHED2) names.push(f2);
  if (svc.flags & IP_VS_SVC_F_SCHED3) names.push('flag-3');
  return names.join(',');
}

/** ` mask …` / ` -M …` for a persistent service whose mask is not the default. */
function maskText(svc: Service, word: string): string {
  if (svc.af === AF_INET6) return svc.netmask !== 128 ? ` ${word} ${svc.netmask}` : '';
  return svc.netmask >>> 0 !== 0xffffffff ? ` ${word} ${format4(svc.netmask)}` : '';
}

function serviceRule(label: string, svc: Service): string {
  let s = `-A ${label} -s ${svc.schedName}`;
  if (svc.flags & IP_VS_SVC_F_PERSISTENT) s += ` -p ${svc.timeout}${maskText(svc, '-M')}`;
  if (svc.peName) s += ` --pe ${svc.peName}`;
  if (svc.flags & IP_VS_SVC_F_ONEPACKET) s += ' -o';
  if (svc.flags & IP_VS_SVC_F_SCHED_MASK) s += ` -b ${schedFlagNames(svc)}`;
  return `${s}${saveServiceExtras(svc.laddrs)}\n`;
}

function serviceLine(label: string, svc: Service): string {
  let s = `${label} ${svc.schedName}`;
  if (svc.flags & IP_VS_SVC_F_SCHED_MASK) s += ` (${schedFlagNames(svc)})`;
  if (svc.flags & IP_VS_SVC_F_PERSISTENT) {
    s += ` persistent ${svc.timeout}${maskText(svc, 'mask')}`;
    if (svc.peName) s += ` pe ${svc.peName}`;
  }
  if (svc.flags & IP_VS_SVC_F_ONEPACKET) s += ' ops';
  return `${s}${listServiceExtras(svc.laddrs)}\n`;
}

function statsNumbers(st: Stats, exact: boolean): string {
  const v = st.snapshot();
  return (
    largenum(v.conns, exact) +
    largenum(v.inpkts, exact) +
    largenum(v.outpkts, exact) +
    largenum(v.inbytes, exact) +
    largenum(v.outbytes, exact)
  );
}

async function printServiceEntry(c: ListCtx, svc: Service, format: number): Promise<void> {
  const io = c.io;
  const exact = (format & FMT_EXACT) !== 0;
  const label = await serviceLabel(c, svc, format);
  if (format & FMT_RULE) io.out(serviceRule(label, svc));
  else if (format & FMT_STATS) io.out(`${left(label, 33)}${statsNumbers(svc.stats, exact)}\n`);
  else if (format & FMT_RATE) {
    const r = rates(svc.stats);
    io.out(
      `${left(label, 33)}${largenum(BigInt(r.cps), exact)}${largenum(BigInt(r.inpps), exact)}${largenum(BigInt(r.outpps), exact)}${largenum(BigInt(r.inbps), exact)}${largenum(BigInt(r.outbps), exact)}\n`,
    );
  } else io.out(serviceLine(label, svc));

  let dests: readonly Dest[] = svc.dests;
  if (!(format & FMT_NOSORT)) dests = glibcMergeSort(dests, cmpDests);
  for (const d of dests) {
    let dname = await c.namer.addrPort(d.addr, d.port, svc.protocol);
    if (!(format & FMT_RULE) && svc.af !== AF_INET6) dname = dname.slice(0, DEST_LABEL_MAX);
    io.out(destLine(d, dname, label, format, exact));
  }
}

function destLine(d: Dest, dname: string, svcLabel: string, format: number, exact: boolean) {
  const n = left(dname, 28);
  if (format & FMT_RULE) {
    return `-a ${svcLabel} -r ${dname} ${fwdSwitch(d.fwd)} -w ${s32(d.weight)}${tunnelRule(d)}${saveDestExtras(d.proxyProtocol)}\n`;
  }
  if (format & FMT_STATS) return `  -> ${n}${statsNumbers(d.stats, exact)}\n`;
  if (format & FMT_RATE) {
    const r = rates(d.stats);
    return `  -> ${n} ${right(u32(r.cps), 8)} ${right(u32(r.inpps), 8)} ${right(u32(r.outpps), 8)}${largenum(BigInt(r.inbps), exact)}${largenum(BigInt(r.outbps), exact)}\n`;
  }
  if (format & FMT_THRESHOLDS) {
    return `  -> ${n} ${left(u32(d.uThreshold), 10)} ${left(u32(d.lThreshold), 10)} ${left(u32(d.activeConns), 10)} ${left(u32(d.inactConns), 10)}\n`;
  }
  if (format & FMT_PERSISTENTCONN) {
    return `  -> ${n} ${left(s32(d.weight), 9)} ${left(u32(d.persistConns), 11)} ${left(u32(d.activeConns), 10)} ${left(u32(d.inactConns), 10)}\n`;
  }
  if (format & FMT_TUN_INFO) {
    return `  -> ${n} ${left(fwdName(d.fwd), 7)} ${left(tunInfo(d), 13)} ${left(s32(d.weight), 6)} ${left(u32(d.activeConns), 10)} ${left(u32(d.inactConns), 10)}\n`;
  }
  return `  -> ${n} ${left(fwdName(d.fwd), 7)} ${left(s32(d.weight), 6)} ${left(u32(d.activeConns), 10)} ${left(u32(d.inactConns), 10)}\n`;
}

function fwdName(fwd: number): string {
  switch (fwd & IP_VS_CONN_F_FWD_MASK) {
    case IP_VS_CONN_F_MASQ:
      return 'Masq';
    case IP_VS_CONN_F_LOCALNODE:
      return 'Local';
    case IP_VS_CONN_F_TUNNEL:
      return 'Tunnel';
    case IP_VS_CONN_F_DROUTE:
      return 'Route';
    case IP_VS_CONN_F_FULLNAT:
      return FULLNAT_NAME;
    default:
      return '(null)';
  }
}

function fwdSwitch(fwd: number): string {
  switch (fwd & IP_VS_CONN_F_FWD_MASK) {
    case IP_VS_CONN_F_MASQ:
      return '-m';
    case IP_VS_CONN_F_TUNNEL:
      return '-i';
    case IP_VS_CONN_F_FULLNAT:
      return FULLNAT_SWITCH;
    default:
      return '-g';
  }
}

const TUN_FLAG_MARKS = ['-c', '+c', 'r+c'];
const TUN_FLAG_OPTS = ['--tun-nocsum', '--tun-csum', '--tun-remcsum'];

/** fwd_tun_info: the --tun-info column. */
function tunInfo(d: Dest): string {
  if ((d.fwd & IP_VS_CONN_F_FWD_MASK) !== IP_VS_CONN_F_TUNNEL) return 'n/a';
  const mark = TUN_FLAG_MARKS[d.tunFlags] ?? '';
  if (d.tunType === IP_VS_CONN_F_TUNNEL_TYPE_IPIP) return 'ipip';
  if (d.tunType === IP_VS_CONN_F_TUNNEL_TYPE_GUE) return `gue:${d.tunPort}:${mark}`;
  if (d.tunType === IP_VS_CONN_F_TUNNEL_TYPE_GRE) return `gre:${mark}`;
  return 'n/a';
}

/** print_tunnel_rule's tail for tunnel servers. */
function tunnelRule(d: Dest): string {
  if ((d.fwd & IP_VS_CONN_F_FWD_MASK) !== IP_VS_CONN_F_TUNNEL) return '';
  const opt = TUN_FLAG_OPTS[d.tunFlags] ?? '';
  if (d.tunType === IP_VS_CONN_F_TUNNEL_TYPE_GUE) {
    return ` --tun-type gue --tun-port ${d.tunPort} ${opt}`;
  }
  if (d.tunType === IP_VS_CONN_F_TUNNEL_TYPE_GRE) return ` --tun-type gre ${opt}`;
  return ' --tun-type ipip';
}
