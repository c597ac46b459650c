// UDP services: every datagram goes through the core's in-hook (so one-packet scheduling and
// the UDP timeout apply as in the kernel), and each flow (a conn, or for `-o` a client and
// dest pair) gets its own socket to the real server, whose replies go back to the client.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { IP_VS_CONN_F_ONE_PACKET, IPPROTO_UDP } from '../../core/constants.js';
import type { Service } from '../../core/service.js';
import { fillPacket, parseSocketAddr } from './addr.js';
import { admit } from './admit.js';
import type { ProxyContext } from './context.js';

interface Flow {
  ref: number;
  sock: Socket;
  ops: boolean;
  idle: NodeJS.Timeout | null;
  /** Datagrams that arrived before the flow socket was connected. */
  pending: Buffer[] | null;
}

export class UdpService {
  private readonly flows = new Map<string, Flow>();

  constructor(
    private readonly ctx: ProxyContext,
    private readonly svc: Service,
    private readonly server: Socket,
  ) {
    server.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const { ctx, svc } = this;
    const caddr = parseSocketAddr(rinfo.address);
    if (!caddr) return;
    const p = fillPacket(ctx.pkt, IPPROTO_UDP, caddr, rinfo.port, svc.addr, svc.port, 0, msg.length);
    const ref = admit(ctx, svc, p, ctx.clock());
    if (ref < 0) return;
    const dest = ctx.ipvs.connDest(ref)!;
    const ops = (ctx.ipvs.connFlags(ref) & IP_VS_CONN_F_ONE_PACKET) !== 0;
    const key = ops ? `ops|${rinfo.address}|${rinfo.port}|${dest.id}` : `c|${ref}`;
    let flow = this.flows.get(key);
    if (!flow) {
      const sock = createSocket(dest.addr.isV6 ? 'udp6' : 'udp4');
      const f: Flow = { ref, sock, ops, idle: null, pending: [] };
      flow = f;
      this.flows.set(key, f);
      sock.on('error', () => this.close(key));
      sock.on('message', (reply) => {
        // One-packet conns are gone by now: like the kernel, their replies count nowhere.
        if (!f.ops) ctx.ipvs.outPacket(f.ref, 0, reply.length, ctx.clock());
        else this.touch(key, f);
        this.server.send(reply, rinfo.port, rinfo.address);
      });
      sock.connect(ctx.ipvs.connDport(ref), dest.addr.toString(), () => {
        const q = f.pending ?? [];
        f.pending = null;
        for (const m of q) sock.send(m);
      });
      if (!ops) ctx.sessions.set(ref, { destroy: () => this.close(key) });
    }
    if (ops) this.touch(key, flow);
    if (flow.pending) flow.pending.push(msg);
    else flow.sock.send(msg);
  }

  /** One-packet flows have no conn to expire them: they idle out after the UDP timeout. */
  private touch(key: string, f: Flow): void {
    if (f.idle) clearTimeout(f.idle);
    f.idle = setTimeout(() => this.close(key), this.ctx.ipvs.rules.timeouts.udp * 1000);
    f.idle.unref();
  }

  private close(key: string): void {
    const f = this.flows.get(key);
    if (!f) return;
    this.flows.delete(key);
    if (f.idle) clearTimeout(f.idle);
    if (!f.ops && this.ctx.sessions.get(f.ref)) this.ctx.sessions.delete(f.ref);
    f.sock.close();
  }

  closeAll(): void {
    for (const k of [...this.flows.keys()]) this.close(k);
  }
}
