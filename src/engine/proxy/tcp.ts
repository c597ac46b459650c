// One proxied TCP connection on the daemon's thread (the single-thread engine): the core
// schedules it at accept, and pipe.ts does the sockets, reporting to the core directly. TCP flags
// are synthesised so that the core's state machine, counters and timeouts behave as for a NAT
// conn: SYN in at accept, SYN+ACK out and ACK in once the real server answers, ACK per data
// segment, FIN per half-close, RST when the real server refuses. Packets are the segments read
// and written plus those synthesised steps; bytes are the exact payload.

import type { Socket } from 'node:net';
import { IPPROTO_TCP } from '../../core/constants.js';
import { TCP_SYN } from '../../core/conn/tcp.js';
import type { Service } from '../../core/service.js';
import { fillPacket, parseSocketAddr } from './addr.js';
import { admit } from './admit.js';
import type { ProxyContext } from './context.js';
import { type Link, pipeTcp, type Session } from './pipe.js';

export { CONNECT_TIMEOUT_MS } from './pipe.js';

export function proxyTcp(ctx: ProxyContext, svc: Service, client: Socket): void {
  const { ipvs } = ctx;
  const caddr = parseSocketAddr(client.remoteAddress);
  if (!caddr || client.remotePort === undefined) {
    client.destroy();
    return;
  }
  client.on('error', () => {});
  const p = fillPacket(ctx.pkt, IPPROTO_TCP, caddr, client.remotePort, svc.addr, svc.port, TCP_SYN, 0);
  const ref = admit(ctx, svc, p, ctx.clock());
  if (ref < 0) {
    client.resetAndDestroy();
    return;
  }
  const dest = ipvs.connDest(ref)!;
  let session: Session | null = null;
  const link: Link = {
    in: (ev, bytes) => ipvs.inPacket(ref, ev, bytes, ctx.clock()),
    out: (ev, bytes) => ipvs.outPacket(ref, ev, bytes, ctx.clock()),
    drop: (reason) => ctx.drop(reason),
    health: (h, detail) => ctx.destHealth(dest, h, detail),
    closed: () => {
      if (session && ctx.sessions.get(ref) === session) ctx.sessions.delete(ref);
    },
  };
  session = pipeTcp(link, client, { host: dest.addr.toString(), port: ipvs.connDport(ref), proxyProtocol: dest.proxyProtocol });
  ctx.sessions.set(ref, session);
}
