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
