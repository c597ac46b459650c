// Protocol dispatch for the connection table: transitions, timeouts, names and what counts as
// active. Spec: docs/spec/ipvs-kernel.md §3. The kernel counts a TCP or SCTP conn as active only in
// ESTABLISHED (set_tcp_state / set_sctp_state move it between activeconns and inactconns on
// every state change); UDP conns are never active.

import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../constants.js';
import type { Timeouts } from '../rules.js';
import { SCTP_S_ESTABLISHED, SCTP_STATE_NAMES, SCTP_TIMEOUTS, sctpTransition } from './sctp.js';
import { TCP_S_ESTABLISHED, TCP_S_FIN_WAIT, TCP_STATE_NAMES, TCP_TIMEOUTS, tcpTransition } from './tcp.js';

export const DIR_INPUT = 0;
export const DIR_OUTPUT = 1;
export const DIR_INPUT_ONLY = 2;

/** The single UDP state, printed "UDP". */
export const UDP_S_NORMAL = 0;

/** ev: TCP flags byte for TCP, an sctpEvent() value for SCTP, ignored for UDP. */
export function stateTransition(protocol: number, state: number, dir: number, ev: number, secure: boolean): number {
  if (protocol === IPPROTO_TCP) return tcpTransition(state, dir, ev, secure);
  if (protocol === IPPROTO_SCTP) return sctpTransition(state, dir, ev);
  return UDP_S_NORMAL;
}

/** Timeout in seconds for a conn in `state`; `--set` values replace three entries. */
export function stateTimeout(protocol: number, state: number, t: Timeouts): number {
  if (protocol === IPPROTO_TCP) {
    if (state === TCP_S_ESTABLISHED) return t.tcp;
    if (state === TCP_S_FIN_WAIT) return t.tcpfin;
    return TCP_TIMEOUTS[state]!;
  }
  if (protocol === IPPROTO_SCTP) return SCTP_TIMEOUTS[state]!;
  if (protocol === IPPROTO_UDP) return t.udp;
  return t.udp;
}

/** Counted in activeconns (rather than inactconns). */
export function isActiveState(protocol: number, state: number): boolean {
  return isEstablished(protocol, state);
}

/** Reaching this state marks the controlling template ASSURED. */
export function isEstablished(protocol: number, state: number): boolean {
  if (protocol === IPPROTO_TCP) return state === TCP_S_ESTABLISHED;
  if (protocol === IPPROTO_SCTP) return state === SCTP_S_ESTABLISHED;
  return false;
}

/** The name `ipvsadm -c` prints. Templates print NONE or ASSURED (state 1). */
export function stateName(protocol: number, state: number, template: boolean): string {
  if (template) return state === 0 ? 'NONE' : 'ASSURED';
  if (protocol === IPPROTO_TCP) return TCP_STATE_NAMES[state] ?? 'ERR!';
  if (protocol === IPPROTO_SCTP) return SCTP_STATE_NAMES[state] ?? 'ERR!';
  if (protocol === IPPROTO_UDP) return 'UDP';
  return 'NONE';
}
