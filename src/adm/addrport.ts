// Parsing of `host[:port]` (-t -u --sctp-service -r), -M masks and multicast groups, with
// ipvsadm's quirks: a bare IPv6 literal swallows a trailing ":port", bracketed non-IPv6 hosts
// lose their port, IPv4 goes through inet_aton then gethostbyname, port names are looked up
// with the protocol known at that moment. Spec: docs/spec/ipvsadm.md §4.1, §4.3, §4.9.

import { AF_INET, AF_INET6, type Af, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../core/constants.js';
import { Addr } from '../core/inet.js';
import { isCDigit, stringToNumber } from './cnum.js';
import { inetAton, inetPton4, inetPton6, isV4Multicast, isV6Multicast } from './inet.js';
import type { Resolver, ServProto } from './resolve.js';

export const SERVICE_ADDR = 1;
export const SERVICE_PORT = 2;

export interface ParsedService {
  /** SERVICE_ADDR, plus SERVICE_PORT when a port was given. */
  flags: number;
  af: Af;
  addr: Addr;
  port: number;
}

export function protoName(protocol: number): ServProto | null {
  if (protocol === IPPROTO_TCP) return 'tcp';
  if (protocol === IPPROTO_UDP) return 'udp';
  if (protocol === IPPROTO_SCTP) return 'sctp';
  return null;
}

function isAllDigits(s: string): boolean {
  for (const c of s) if (!isCDigit(c)) return false;
  return true;
}

/** IPv4 from a dotted/BSD literal, else from a host name (gethostbyname). */
export async function hostToAddr4(s: string, r: Resolver): Promise<number | null> {
  return inetAton(s) ?? (await r.hostByName(s));
}

/**
 * parse_service: null when the text is not a usable address (SERVICE_NONE). `protocol` is the
 * one known when the option is met (0 before any service option: named ports then fail).
 */
export async function parseService(buf: string, protocol: number, r: Resolver): Promise<ParsedService | null> {
  if (isAllDigits(buf)) return null;
  let host = buf;
  let portText: string | null = null;
  if (host[0] === '[') {
    host = host.slice(1);
    const close = host.indexOf(']');
    if (close < 0 || host[close + 1] !== ':') return null;
    portText = host.slice(close + 2);
    host = host.slice(0, close);
  }
  let af: Af;
  let addr: Addr;
  const a6 = inetPton6(host);
  if (a6) {
    af = AF_INET6;
    addr = a6;
  } else {
    const colon = host.lastIndexOf(':');
    portText = colon >= 0 ? host.slice(colon + 1) : null;
    if (colon >= 0) host = host.slice(0, colon);
    const v4 = await hostToAddr4(host, r);
    if (v4 === null) return null;
    af = AF_INET;
    addr = Addr.v4(v4);
  }
  if (portText === null) return { flags: SERVICE_ADDR, af, addr, port: 0 };
  let port = stringToNumber(portText, 0, 65535);
  if (port === -1) {
    const proto = protoName(protocol);
    port = (proto && (await r.portByName(portText, proto))) ?? -1;
    if (port === -1) return null;
  }
  return { flags: SERVICE_ADDR | SERVICE_PORT, af, addr, port };
}

/** parse_netmask for IPv4 services: inet_aton, else a host name; host-order mask or null. */
export function parseNetmask4(buf: string, r: Resolver): Promise<number | null> {
  return hostToAddr4(buf, r);
}

/** --mcast-group: IPv6 if it contains ':', else strict IPv4; must be multicast. */
export function parseMcastGroup(buf: string): { addr: Addr | null; v6: boolean } {
  if (buf.includes(':')) {
    const a = inetPton6(buf);
    return { addr: a && isV6Multicast(a) ? a : null, v6: true };
  }
  const n = inetPton4(buf);
  return { addr: n !== null && isV4Multicast(n) ? Addr.v4(n) : null, v6: false };
}

/** --laddr (tsvs): an IPv6 literal, an IPv4 literal or an IPv4 host name. */
export async function parseLocalAddr(buf: string, r: Resolver): Promise<Addr | null> {
  const a6 = inetPton6(buf);
  if (a6) return a6;
  if (buf === '') return null;
  const v4 = await hostToAddr4(buf, r);
  return v4 === null ? null : Addr.v4(v4);
}
