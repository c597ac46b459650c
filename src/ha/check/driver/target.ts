// Where a checker connects, as the driver's system calls want it: the sockaddrs of connect_ip /
// connect_port and of bindto / bind_port, built once per checker configuration (not per check).
import { Addr } from '../../../core/inet.js';
import { AF_INET, AF_INET6 } from '../../../sys/constants.js';
import { sockaddr } from '../../../sys/sockaddr.js';
import type { CheckerConf } from '../../lvs/types.js';

export interface Target {
  af: number;
  sa: Uint8Array;
  /** The local sockaddr to bind() first (bindto and/or bind_port), or null. */
  bind: Uint8Array | null;
}

const targets = new WeakMap<CheckerConf, Target | null>();

/**
 * The checker's sockaddrs, or null when an address is not numeric or the families differ (the
 * check then runs on Node's sockets, which resolve names and report the error as before).
 */
export function targetOf(c: CheckerConf): Target | null {
  const known = targets.get(c);
  if (known !== undefined) return known;
  const t = build(c);
  targets.set(c, t);
  return t;
}

function build(c: CheckerConf): Target | null {
  const addr = Addr.parse(c.connectIp);
  if (!addr) return null;
  let bind: Uint8Array | null = null;
  if (c.bindto !== null || c.bindPort !== null) {
    const local = c.bindto !== null ? Addr.parse(c.bindto) : Addr.any(addr.af);
    if (!local || local.af !== addr.af) return null;
    bind = sockaddr(local.toBytes(), c.bindPort ?? 0);
  }
  return { af: addr.isV6 ? AF_INET6 : AF_INET, sa: sockaddr(addr.toBytes(), c.connectPort), bind };
}
