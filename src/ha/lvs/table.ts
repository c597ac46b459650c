// The IPVS rules keepalived wants, as tsvsadm arguments, and the difference between two such
// tables: the commands that turn the director's rules from one into the other without
// touching what stays (a dest that stays keeps its conns and counters).
import type { VirtualServerConf, VsTarget } from './types.js';
import { targetKey } from './config.js';
import type { WantedDest } from './state.js';

export interface SvcRule {
  key: string;
  /** `-t 10.0.0.1:80`, `-f 5 -6`: names the service in every command. */
  id: string[];
  /** Scheduler, persistence, flags: the part -E can change. */
  opts: string[];
  dests: Map<string, WantedDest>;
}

export type Table = Map<string, SvcRule>;

export function serviceId(t: VsTarget): string[] {
  if (t.proto === 'FWM') return t.af === 6 ? ['-f', String(t.fwmark), '-6'] : ['-f', String(t.fwmark)];
  const flag = t.proto === 'TCP' ? '-t' : t.proto === 'UDP' ? '-u' : '--sctp-service';
  return [flag, t.af === 6 ? `[${t.addr}]:${t.port}` : `${t.addr}:${t.port}`];
}

export function serviceOpts(vs: VirtualServerConf): string[] {
  const o = ['-s', vs.sched];
  if (vs.persistenceS !== null) o.push('-p', String(vs.persistenceS));
  if (vs.granularity !== null) o.push('-M', vs.granularity);
  if (vs.schedFlags.length) o.push('-b', vs.schedFlags.join(','));
  if (vs.ops) o.push('-o');
  if (vs.pe) o.push('--pe', vs.pe);
  return o;
}

export function svcRules(vs: VirtualServerConf, dests: Map<string, WantedDest>): SvcRule[] {
  return vs.targets.map((t) => ({ key: targetKey(t), id: serviceId(t), opts: serviceOpts(vs), dests }));
}

const FWD_FLAG = { NAT: '-m', DR: '-g', TUN: '-i' } as const;

function destArgs(d: WantedDest): string[] {
  return ['-r', d.rs, FWD_FLAG[d.fwd], '-w', String(d.weight), '-x', String(d.uthreshold), '-y', String(d.lthreshold)];
}

const sameDest = (a: WantedDest, b: WantedDest): boolean =>
  a.fwd === b.fwd && a.weight === b.weight && a.uthreshold === b.uthreshold && a.lthreshold === b.lthreshold;

/** The tsvsadm commands from `from` to `to`, in an order IPVS accepts. */
export function diffTables(from: Table, to: Table): string[][] {
  const cmds: string[][] = [];
  for (const [k, s] of from) if (!to.has(k)) cmds.push(['-D', ...s.id]);
  for (const [k, s] of to) {
    const old = from.get(k);
    if (!old) cmds.push(['-A', ...s.id, ...s.opts]);
    else if (old.opts.join(' ') !== s.opts.join(' ')) cmds.push(['-E', ...s.id, ...s.opts]);
    const oldDests = old?.dests ?? new Map<string, WantedDest>();
    for (const [rk] of oldDests) if (!s.dests.has(rk)) cmds.push(['-d', ...s.id, '-r', rk]);
    for (const [rk, d] of s.dests) {
      const o = oldDests.get(rk);
      if (!o) cmds.push(['-a', ...s.id, ...destArgs(d)]);
      else if (!sameDest(o, d)) cmds.push(['-e', ...s.id, ...destArgs(d)]);
    }
  }
  return cmds;
}
