// The one decision every path of the proxy engine makes for a client's new connection or
// datagram (the daemon's thread alone, or for a worker): ask the core (schedule a TCP conn, or
// run a UDP datagram through the in-hook), refuse what this engine cannot forward (a DR or TUN
// dest needs the packet engine), and name the drop. Returns the conn's ref, or -1 when refused
// (the drop is counted then).

import { IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_TUNNEL, IPPROTO_TCP } from '../../core/constants.js';
import type { PacketInfo } from '../../core/conn/packet.js';
import { TCP_SYN } from '../../core/conn/tcp.js';
import type { Service } from '../../core/service.js';
import type { ProxyContext } from './context.js';

/** How a TCP conn gets its dest: the core's scheduler, or a plan's pick (pool.ts). */
export type Schedule = (svc: Service, p: PacketInfo, now: number) => number;

/** The in-hook's result when no dest could take the packet (the kernel's "no destination"). */
const IN_NO_DEST = -3;

/** `p` is a client's packet to `svc` (a TCP SYN, or a UDP datagram). */
export function admit(ctx: ProxyContext, svc: Service, p: PacketInfo, now: number, schedule?: Schedule): number {
  const { ipvs } = ctx;
  const tcp = p.protocol === IPPROTO_TCP;
  const ref = tcp ? (schedule ? schedule(svc, p, now) : ipvs.schedule(svc, p, now)) : ipvs.processIn(p, now);
  if (ref < 0) {
    ctx.drop(tcp || ref === IN_NO_DEST ? 'no-destination' : 'not-for-service');
    return -1;
  }
  if (tcp) ipvs.inPacket(ref, TCP_SYN, 0, now);
  const fwd = ipvs.connDest(ref)!.fwd & 7;
  if (fwd === IP_VS_CONN_F_DROUTE || fwd === IP_VS_CONN_F_TUNNEL) {
    // The core chose a DR/TUN dest, which only the packet engine can reach. A TCP conn is
    // dropped at once (its client is reset); a UDP conn idles out, as its datagrams are dropped.
    ctx.drop('dest-needs-packet-engine');
    if (tcp) ipvs.drop(ref);
    return -1;
  }
  return ref;
}
