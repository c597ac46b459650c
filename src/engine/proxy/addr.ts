// Socket addresses as the core wants them.

import { AF_INET, AF_INET6 } from '../../core/constants.js';
import { PacketInfo } from '../../core/conn/packet.js';
import { Addr } from '../../core/inet.js';

/** Node reports IPv4 clients of a dual-stack socket as ::ffff:a.b.c.d. */
export function parseSocketAddr(s: string | undefined): Addr | null {
  if (!s) return null;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  return Addr.parse(m ? m[1]! : s);
}

/** Fills `p` with a client→VIP flow (addresses of the service's family). */
export function fillPacket(
  p: PacketInfo,
  proto: number,
  client: Addr,
  cport: number,
  vip: Addr,
  vport: number,
  ev: number,
  len: number,
): PacketInfo {
  p.af = vip.af === AF_INET6 ? AF_INET6 : AF_INET;
  p.protocol = proto;
  for (let k = 0; k < 4; k++) {
    p.saddr[k] = client.word(k);
    p.daddr[k] = vip.word(k);
  }
  p.sport = cport;
  p.dport = vport;
  p.fwmark = 0;
  p.ev = ev;
  p.len = len;
  p.fragment = false;
  return p;
}

export function hostOf(a: Addr): string {
  return a.toString();
}

/** The address of a struct sockaddr_in or sockaddr_in6 (an IPv4-mapped one as IPv4, as Node). */
export function sockaddrAddr(sa: Uint8Array): Addr {
  if (sa[0]! + (sa[1]! << 8) !== AF_INET6) return Addr.fromBytes(sa, 4, AF_INET);
  let mapped = sa[18] === 0xff && sa[19] === 0xff;
  for (let k = 8; k < 18 && mapped; k++) mapped = sa[k] === 0;
  return mapped ? Addr.fromBytes(sa, 20, AF_INET) : Addr.fromBytes(sa, 8, AF_INET6);
}

/** The port of a struct sockaddr_in or sockaddr_in6. */
export function sockaddrPort(sa: Uint8Array): number {
  return (sa[2]! << 8) | sa[3]!;
}
