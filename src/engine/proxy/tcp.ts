// One proxied TCP connection: the core schedules it, the engine connects to the real server
// and pipes both ways with backpressure and half-close. TCP flags are synthesised so that the
// core's state machine, counters and timeouts behave as for a NAT conn: SYN in at accept,
// SYN+ACK out and ACK in once the real server answers, ACK per data segment, FIN per
// half-close, RST when the real server refuses. Packets are the segments read and written
// plus those synthesised steps; bytes are the exact payload.

import { connect, type Socket } from 'node:net';
import { IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_TUNNEL, IPPROTO_TCP } from '../../core/constants.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../core/conn/tcp.js';
import type { Service } from '../../core/service.js';
import { fillPacket, parseSocketAddr } from './addr.js';
import type { ProxyContext } from './context.js';
import { proxyV1, proxyV2 } from './proxy-protocol.js';

/** How long a real server may take to accept before the client is reset. */
export const CONNECT_TIMEOUT_MS = 5000;

export function proxyTcp(ctx: ProxyContext, svc: Service, client: Socket): void {
  const { ipvs } = ctx;
  const caddr = parseSocketAddr(client.remoteAddress);
  if (!caddr || client.remotePort === undefined) {
    client.destroy();
    return;
  }
  client.on('error', () => {});
  const p = fillPacket(ctx.pkt, IPPROTO_TCP, caddr, client.remotePort, svc.addr, svc.port, TCP_SYN, 0);
  const ref = ipvs.schedule(svc, p, ctx.clock());
  if (ref < 0) {
    ctx.drop('no-destination');
    client.resetAndDestroy();
    return;
  }
  ipvs.inPacket(ref, TCP_SYN, 0, ctx.clock());
  const dest = ipvs.connDest(ref)!;
  const fwd = dest.fwd & 7;
  if (fwd === IP_VS_CONN_F_DROUTE || fwd === IP_VS_CONN_F_TUNNEL) {
    // The core's scheduler chose a DR/TUN dest, which only the packet engine can reach.
    ctx.drop('dest-needs-packet-engine');
    ipvs.drop(ref);
    client.resetAndDestroy();
    return;
  }
  const dport = ipvs.connDport(ref);
  const upstream = connect({ host: dest.addr.toString(), port: dport, allowHalfOpen: true });
  upstream.setNoDelay(true);
  client.setNoDelay(true);
  let connected = false;
  let closed = 0;
  const session = {
    destroy() {
      client.destroy();
      upstream.destroy();
    },
  };
  ctx.sessions.set(ref, session);
  const onClose = () => {
    if (++closed === 2 && ctx.sessions.get(ref) === session) ctx.sessions.delete(ref);
  };
  client.on('close', onClose);
  upstream.on('close', onClose);
  const timer = setTimeout(() => {
    ctx.drop('dest-timeout');
    ctx.destHealth(dest, 'timeout', `no answer within ${CONNECT_TIMEOUT_MS} ms`);
    ipvs.outPacket(ref, TCP_RST, 0, ctx.clock());
    upstream.destroy();
    client.resetAndDestroy();
  }, CONNECT_TIMEOUT_MS);

  upstream.on('connect', () => {
    clearTimeout(timer);
    connected = true;
    ctx.destHealth(dest, 'ok');
    ipvs.outPacket(ref, TCP_SYN | TCP_ACK, 0, ctx.clock());
    ipvs.inPacket(ref, TCP_ACK, 0, ctx.clock());
    if (dest.proxyProtocol) {
      const sa = client.remoteAddress!;
      const la = client.localAddress!;
      const hdr =
        dest.proxyProtocol === 1
          ? proxyV1(parseSocketAddr(sa)!.toString(), client.remotePort!, parseSocketAddr(la)!.toString(), client.localPort!)
          : proxyV2(sa, client.remotePort!, la, client.localPort!);
      upstream.write(hdr);
    }
    client.resume();
  });
  upstream.on('error', (e: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    if (!connected) {
      const refused = e.code === 'ECONNREFUSED';
      ctx.drop(refused ? 'dest-refused' : 'dest-error');
      ctx.destHealth(dest, refused ? 'refused' : 'error', e.code ?? e.message);
      ipvs.outPacket(ref, TCP_RST, 0, ctx.clock());
      client.resetAndDestroy();
    } else {
      client.destroy();
    }
  });

  client.on('data', (b: Buffer) => {
    ipvs.inPacket(ref, TCP_ACK, b.length, ctx.clock());
    if (!upstream.write(b)) client.pause();
  });
  upstream.on('drain', () => client.resume());
  upstream.on('data', (b: Buffer) => {
    ipvs.outPacket(ref, TCP_ACK, b.length, ctx.clock());
    if (!client.write(b)) upstream.pause();
  });
  client.on('drain', () => upstream.resume());
  client.on('end', () => {
    ipvs.inPacket(ref, TCP_FIN | TCP_ACK, 0, ctx.clock());
    if (connected) upstream.end();
    else upstream.destroy();
  });
  upstream.on('end', () => {
    ipvs.outPacket(ref, TCP_FIN | TCP_ACK, 0, ctx.clock());
    client.end();
  });
}
