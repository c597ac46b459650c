// Which options each command accepts (ipvsadm's commands_v_options table), the tunnel-type
// table, and the list command's extra conflict rule. Checks walk the option bits in order and
// the first offending one names the error. Spec: docs/spec/ipvsadm.md §3, §4.6 (tunnel options).

import { IP_VS_CONN_F_TUNNEL_TYPE_GRE, IP_VS_CONN_F_TUNNEL_TYPE_GUE, IP_VS_CONN_F_TUNNEL_TYPE_IPIP } from '../core/constants.js';
import type { AdmIo, CommandEntry } from './entry.js';
import { type Command, NUMBER_OF_OPT, OPT, type OptBit, OPT_NAMES } from './options.js';

/** '+' compulsory, ' ' optional, '1' at most one of the '1's, 'x' illegal. */
type Rule = '+' | ' ' | '1' | 'x';

interface Legal {
  compulsory?: OptBit[];
  optional?: OptBit[];
  exclusive?: OptBit[];
}

function row(l: Legal): Rule[] {
  const r = new Array<Rule>(NUMBER_OF_OPT).fill('x');
  for (const b of l.compulsory ?? []) r[b] = '+';
  for (const b of l.optional ?? []) r[b] = ' ';
  for (const b of l.exclusive ?? []) r[b] = '1';
  return r;
}

const SERVICE_EDIT: Legal = {
  compulsory: [OPT.service],
  optional: [OPT.scheduler, OPT.persistent, OPT.netmask, OPT.ops, OPT.pe, OPT.schedFlags, OPT.laddr],
};

const SERVER_EDIT: Legal = {
  compulsory: [OPT.service, OPT.server],
  optional: [
    OPT.forward,
    OPT.weight,
    OPT.uThreshold,
    OPT.lThreshold,
    OPT.tunType,
    OPT.tunPort,
    OPT.tunNocsum,
    OPT.tunCsum,
    OPT.tunRemcsum,
    OPT.proxyProtocol,
  ],
};

const TABLE: Record<Command, Rule[]> = {
  'add-service': row(SERVICE_EDIT),
  'edit-service': row(SERVICE_EDIT),
  'delete-service': row({ compulsory: [OPT.service] }),
  flush: row({}),
  list: row({
    optional: [
      OPT.numeric,
      OPT.stats,
      OPT.rate,
      OPT.thresholds,
      OPT.persistentConn,
      OPT.nosort,
      OPT.syncid,
      OPT.exact,
      OPT.tunInfo,
      OPT.laddrInfo,
    ],
    exclusive: [OPT.connection, OPT.service, OPT.timeout, OPT.daemon],
  }),
  'add-server': row(SERVER_EDIT),
  'delete-server': row({ compulsory: [OPT.service, OPT.server] }),
  'edit-server': row(SERVER_EDIT),
  set: row({}),
  'start-daemon': row({
    optional: [OPT.mcastIfn, OPT.syncid, OPT.mcastGroup, OPT.mcastPort, OPT.mcastTtl, OPT.syncMaxlen],
  }),
  'stop-daemon': row({ optional: [OPT.syncid] }),
  restore: row({}),
  save: row({ optional: [OPT.numeric] }),
  zero: row({ optional: [OPT.service] }),
};

/** generic_opt_check. */
export function checkCommandOptions(io: AdmIo, ce: CommandEntry): void {
  const cmd = ce.cmd!;
  checkTable(io, TABLE[cmd], ALL_BITS, ce, `'${cmd}' command`);
}

const ALL_BITS: readonly number[] = Array.from({ length: NUMBER_OF_OPT }, (_, i) => i);

function checkTable(io: AdmIo, rules: readonly Rule[], bits: readonly number[], ce: CommandEntry, what: string): void {
  let first = -1;
  for (let j = 0; j < bits.length; j++) {
    const bit = bits[j]!;
    const rule = rules[j]!;
    if (!ce.opts[bit]) {
      if (rule === '+') io.fail(2, `You need to supply the '${OPT_NAMES[bit]}' option for the ${what}`);
      continue;
    }
    if (rule === 'x') io.fail(2, `Illegal '${OPT_NAMES[bit]}' option with the ${what}`);
    if (rule === '1') {
      if (first < 0) {
        first = bit;
        continue;
      }
      io.fail(2, `The option '${OPT_NAMES[bit]}' conflicts with the '${OPT_NAMES[first]}' option in the ${what}`);
    }
  }
}

const TUN_OPTS: readonly number[] = [OPT.tunPort, OPT.tunNocsum, OPT.tunCsum, OPT.tunRemcsum];
const TUN_NAMES = ['ipip', 'gue', 'gre'];
const TUN_TABLE: Record<number, Rule[]> = {
  [IP_VS_CONN_F_TUNNEL_TYPE_IPIP]: ['x', 'x', 'x', 'x'],
  [IP_VS_CONN_F_TUNNEL_TYPE_GUE]: ['+', '1', '1', '1'],
  [IP_VS_CONN_F_TUNNEL_TYPE_GRE]: ['x', '1', '1', 'x'],
};

/** tunnel_opt_check: the options a tunnel type takes. */
export function checkTunnelOptions(io: AdmIo, ce: CommandEntry): void {
  const t = ce.dest.tunType;
  checkTable(io, TUN_TABLE[t]!, TUN_OPTS, ce, `'${TUN_NAMES[t]}' tunnel type`);
}

/** The list command's combinations no listing can show. */
export function checkListConflicts(io: AdmIo, ce: CommandEntry): void {
  const any = (...bits: OptBit[]) => bits.some((b) => ce.has(b));
  if (
    (any(OPT.connection, OPT.timeout, OPT.daemon) && any(OPT.stats, OPT.rate, OPT.thresholds)) ||
    (any(OPT.timeout, OPT.daemon) && any(OPT.persistentConn))
  ) {
    io.fail(2, 'options conflicts in the list command');
  }
}
