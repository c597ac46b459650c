// What the HTTP side reads from a director: the core (read only), the daemon's status, the
// registered observers. The daemon builds one; tests and the bench build one around an Ipvs.

import type { DaemonStatus } from '../control/daemon.js';
import {
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_FULLNAT,
  IP_VS_CONN_F_FWD_MASK,
  IP_VS_CONN_F_LOCALNODE,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from '../core/constants.js';
import type { Ipvs } from '../core/ipvs.js';
import type { ConnsJson } from './api.js';
import type { Service } from '../core/service.js';
import type { Observers } from './observers.js';

export interface DirectorSource {
  readonly ipvs: Ipvs;
  /** The daemon's clock, ms (the `now` the core takes). */
  now(): number;
  status(): DaemonStatus;
  readonly observers: Observers;
  /** Brings the engine's worker-side counters into the core before a read. */
  settle?(): Promise<void>;
  /**
   * Where the core runs on another thread (control/core-thread.ts): `ipvs` is then a copy of
   * the rules without conns, which settle() brings up to date, and the conns are listed there.
   */
  conns?(limit: number): Promise<ConnsJson>;
}

/** Forwarding method as ipvsadm lists it. */
export function fwdName(fwd: number): string {
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
      return 'FullNat';
    default:
      return 'unknown';
  }
}

/** The first token of a /proc/net/ip_vs service line: TCP, UDP, SCTP or FWM. */
export function protoName(svc: Service): string {
  if (svc.fwmark) return 'FWM';
  return protocolName(svc.protocol);
}

export function protocolName(p: number): string {
  if (p === IPPROTO_TCP) return 'TCP';
  if (p === IPPROTO_UDP) return 'UDP';
  if (p === IPPROTO_SCTP) return 'SCTP';
  return String(p);
}

/** `ADDR:PORT`, IPv6 in brackets. */
export function hostPort(addr: { isV6: boolean; toString(): string }, port: number): string {
  return addr.isV6 ? `[${String(addr)}]:${port}` : `${String(addr)}:${port}`;
}
