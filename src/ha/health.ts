// What keepalived's checkers say of each real server, as the director's health series and
// status take it (tsvs_checker_*, DestHealth). Apart from ha/http.ts so that the director,
// which follows a keepalived (control/keepalived-follow.ts), does not load an HTTP server for it.

import type { DestHealth } from '../http/observers.js';
import type { KeepalivedStatus } from './status.js';

/** `TCP 192.0.2.1:80`, `FWM 5 IPv6` (the LVS manager's keys) as tsvs_* labels name a service: `-t 192.0.2.1:80`, `-f 5 -6`. */
export function serviceLabel(key: string): string {
  const fwm = /^FWM (\d+)( IPv6)?$/.exec(key);
  if (fwm) return `-f ${fwm[1]}${fwm[2] ? ' -6' : ''}`;
  const sp = key.indexOf(' ');
  const proto = key.slice(0, sp);
  const opt = proto === 'UDP' ? '-u' : proto === 'SCTP' ? '--sctp-service' : '-t';
  return `${opt} ${key.slice(sp + 1)}`;
}

/** One series per checker of each real server of each service its virtual server makes. */
export function healthOf(st: KeepalivedStatus): DestHealth[] {
  const out: DestHealth[] = [];
  for (const vs of st.virtualServers) {
    for (const key of vs.services) {
      const service = serviceLabel(key);
      for (const rs of vs.realServers) {
        const kinds = new Map<string, number>();
        for (const c of rs.checkers) kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
        for (const c of rs.checkers) {
          // Two checkers of one kind on one real server (keepalived allows it) are told apart by target.
          const checker = (kinds.get(c.kind) ?? 0) > 1 ? `${c.kind} ${c.target}` : c.kind;
          out.push({ service, dest: rs.rs, up: c.up, checker, detail: c.lastResult ?? '', failures: c.failures });
        }
      }
    }
  }
  return out;
}
