// tsvs's additions to ipvsadm, all in one place: the FULLNAT forwarding method (`--fullnat`,
// listed `FullNat` as DPVS does), FULLNAT local addresses on services (`--laddr ADDR`,
// repeatable) and the PROXY protocol towards a real server (`--proxy-protocol v1|v2`). None of
// them changes the output of a command that does not use them. Documented in docs/tsvsadm.md.

import type { Addr } from '../core/inet.js';

export const FULLNAT_NAME = 'FullNat';
export const FULLNAT_SWITCH = '--fullnat';

export const MSG_ILLEGAL_LADDR = 'illegal local address specified';
export const MSG_LADDR_FAMILY = 'Local address family differs from the virtual service';
export const MSG_ILLEGAL_PROXY_PROTOCOL = 'illegal proxy-protocol version specified';

/** `--proxy-protocol` value → version, or null if not v1/v2. */
export function parseProxyProtocol(s: string): 1 | 2 | null {
  if (s === 'v1') return 1;
  if (s === 'v2') return 2;
  return null;
}

/** The save-format tail of a service line: ` --laddr A` per local address. */
export function saveServiceExtras(laddrs: readonly Addr[]): string {
  let s = '';
  for (const a of laddrs) s += ` --laddr ${a.toString()}`;
  return s;
}

/** The list-format tail of a service line: ` laddr A,B` when local addresses are set. */
export function listServiceExtras(laddrs: readonly Addr[]): string {
  return laddrs.length ? ` laddr ${laddrs.map((a) => a.toString()).join(',')}` : '';
}

/** The save-format tail of a real-server line. */
export function saveDestExtras(proxyProtocol: number): string {
  return proxyProtocol ? ` --proxy-protocol v${proxyProtocol}` : '';
}
