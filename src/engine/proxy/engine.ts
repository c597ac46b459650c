// The proxy engine: real TCP and UDP load balancing on sockets, without privileges. It listens
// on each service's VIP:port (which must be a local address), asks the core for a dest per new
// connection or datagram, and follows rule changes. What it cannot serve — fwmark services,
// DR/TUN dests, a VIP that is not (yet) local — stays accepted by the control plane and is
// reported by status() and logged once per change.
//
// On Linux (x64, arm64) with two or more cores, TCP connections and UDP flows are served by
// epoll worker threads (pool.ts), each on its own SO_REUSEPORT socket of every service, while
// this thread keeps the core and makes every scheduling decision, or, for rr and wrr services,
// publishes the scheduler's plan that the workers pick from with a shared counter (plans.ts).
// Elsewhere (no Linux, no koffi), or with `workers: 0`, everything runs on this thread, on
// Node's sockets (tcp.ts, udp.ts).

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { availableParallelism } from 'node:os';
import { IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_TUNNEL, IPPROTO_TCP, IPPROTO_UDP } from '../../core/constants.js';
import { formatAddrPort } from '../../core/inet.js';
import type { Ipvs } from '../../core/ipvs.js';
import type { Service } from '../../core/service.js';
import { type Engine, type EngineStatus, label as svcLabel, type UnservedRule } from '../../control/engine.js';
import { type Logger, stderrLogger } from '../../control/log.js';
import { ProxyContext } from './context.js';
import { epollAvailable, WorkerPool } from './pool.js';
import { ListenError, reusePortAvailable } from './reuseport.js';
import { proxyTcp } from './tcp.js';
import { UdpService } from './udp.js';

/** How often a listener whose address is not (yet) local is retried. */
export const LISTEN_RETRY_MS = 2000;

interface Listener {
  svc: Service;
  tcp: Server | null;
  /** Listening in the workers. */
  pooled: boolean;
  udp: UdpSocket | null;
  udpService: UdpService | null;
  /** Why it is not listening, or null when it is. */
  problem: string | null;
  retry: NodeJS.Timeout | null;
}

function listenProblem(e: NodeJS.ErrnoException): string {
  if (e.code === 'EADDRNOTAVAIL') return 'the VIP is not a local address (retrying)';
  if (e.code === 'EADDRINUSE') return 'the address is in use by another program (retrying)';
  if (e.code === 'EACCES') return 'the port needs privileges (retrying)';
  return `${e.code ?? e.message} (retrying)`;
}

export interface ProxyEngineOptions {
  /**
   * Epoll worker threads (0: none, all on the daemon's thread). Default: the
   * TSVS_PROXY_WORKERS environment variable, else one per core when there are two or more.
   */
  workers?: number;
}

/** How many workers the engine starts when not told. */
export function defaultWorkers(): number {
  const env = process.env.TSVS_PROXY_WORKERS;
  if (env !== undefined && /^\d+$/.test(env)) return Number(env);
  const n = availableParallelism();
  return n >= 2 ? Math.min(n, 8) : 0;
}

export class ProxyEngine implements Engine {
  readonly name = 'proxy' as const;
  private ctx: ProxyContext | null = null;
  private pool: WorkerPool | null = null;
  private readonly listeners = new Map<Service, Listener>();
  private readonly wanted: number;

  constructor(
    private readonly log: Logger = stderrLogger,
    opts: ProxyEngineOptions = {},
  ) {
    this.wanted = opts.workers ?? defaultWorkers();
  }

  /** Worker threads serving TCP (0: the daemon's thread does). */
  get workers(): number {
    return this.pool?.size ?? 0;
  }

  /** TCP connections accepted by each worker so far ([] without workers). */
  workerConns(): number[] {
    return this.pool?.accepted() ?? [];
  }

  /** TCP connections each worker scheduled itself from an rr/wrr plan ([] without workers). */
  workerPicked(): number[] {
    return this.pool?.pickedConns() ?? [];
  }

  /** UDP conns whose flows each worker served so far ([] when UDP is on the daemon's thread). */
  workerFlows(): number[] {
    return this.pool?.flows() ?? [];
  }

  /** Ends one worker as if it had crashed; the engine replaces it (see WorkerPool.kill). */
  async killWorker(index: number): Promise<void> {
    await this.pool?.kill(index);
  }

  async start(ipvs: Ipvs, clock: () => number): Promise<void> {
    const ctx = new ProxyContext(ipvs, clock, this.log);
    this.ctx = ctx;
    if (process.env.TSVS_PROXY_IO === 'node')
      this.log('proxy: TSVS_PROXY_IO=node is retired: workers use epoll, or the engine runs on one thread');
    if (this.wanted >= 1 && reusePortAvailable() && epollAvailable()) {
      const pool = new WorkerPool(ctx, this.wanted);
      try {
        await pool.start();
        this.pool = pool;
      } catch (e) {
        await pool.stop();
        this.log(`proxy: worker threads unavailable (${(e as Error).message}); serving on one thread`);
      }
    }
    ipvs.onExpire((ref) => {
      if (this.pool?.expire(ref)) return;
      const s = ctx.sessions.get(ref);
      if (s) {
        ctx.sessions.delete(ref);
        s.destroy();
      }
    });
    ipvs.rules.listeners.push({
      beforeChange: (svc) => this.pool?.beforeChange(svc),
      serviceAdded: (svc) => this.open(svc),
      serviceDeleted: (svc) => this.close(svc),
      destAdded: (svc, d) => this.noteDest(svc, d.fwd),
      destEdited: (svc, d) => this.noteDest(svc, d.fwd),
      destDeleted: (_svc, d) => this.pool?.destDeleted(d),
    });
    for (const svc of ipvs.rules.services()) this.open(svc);
  }

  private noteDest(svc: Service, fwd: number): void {
    const f = fwd & 7;
    if (f === IP_VS_CONN_F_DROUTE || f === IP_VS_CONN_F_TUNNEL) {
      this.log(`proxy: ${svcLabel(svc)} has a DR/TUN real server; only the packet engine can reach it`);
    }
  }

  private open(svc: Service): void {
    const l: Listener = { svc, tcp: null, pooled: false, udp: null, udpService: null, problem: null, retry: null };
    this.listeners.set(svc, l);
    if (svc.fwmark) {
      l.problem = 'fwmark services need the packet engine';
      this.log(`proxy: ${svcLabel(svc)} not served: ${l.problem}`);
      return;
    }
    if (svc.protocol !== IPPROTO_TCP && svc.protocol !== IPPROTO_UDP) {
      l.problem = 'SCTP services need the packet engine';
      this.log(`proxy: ${svcLabel(svc)} not served: ${l.problem}`);
      return;
    }
    this.listen(l);
  }

  private listen(l: Listener): void {
    const ctx = this.ctx!;
    const { svc } = l;
    const host = svc.addr.toString();
    const fail = (e: NodeJS.ErrnoException) => {
      const problem = listenProblem(e);
      if (problem !== l.problem) this.log(`proxy: ${svcLabel(svc)} not served: ${problem}`);
      l.problem = problem;
      if (this.listeners.get(svc) !== l) return;
      l.retry = setTimeout(() => this.listen(l), LISTEN_RETRY_MS);
      l.retry.unref();
    };
    const ok = () => {
      if (l.problem) this.log(`proxy: ${svcLabel(svc)} now served`);
      l.problem = null;
    };
    if (this.pool) {
      try {
        this.pool.listen(svc);
      } catch (e) {
        if (!(e instanceof ListenError)) throw e;
        fail(Object.assign(new Error(e.code), { code: e.code }));
        return;
      }
      l.pooled = true;
      ok();
    } else if (svc.protocol === IPPROTO_TCP) {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (c) => proxyTcp(ctx, svc, c));
      server.once('error', (e) => {
        l.tcp = null;
        fail(e);
      });
      server.listen({ host, port: svc.port, exclusive: false }, () => {
        l.tcp = server;
        // From now on an error is an accept that failed (the listen errors are over): out of
        // descriptors, libuv has already refused the waiting clients with its spare one. Count
        // it; never take it for a listen failure (nor, after the first, an unhandled error).
        server.removeAllListeners('error');
        server.on('error', (e: NodeJS.ErrnoException) => ctx.drop(e.code === 'EMFILE' || e.code === 'ENFILE' ? 'no-fd' : 'accept-error'));
        ok();
      });
    } else {
      const sock = createSocket({ type: svc.addr.isV6 ? 'udp6' : 'udp4', reuseAddr: true });
      sock.once('error', (e) => {
        sock.close();
        l.udp = null;
        fail(e);
      });
      sock.bind(svc.port, host, () => {
        l.udp = sock;
        l.udpService = new UdpService(ctx, svc, sock);
        ok();
      });
    }
  }

  private close(svc: Service): void {
    const l = this.listeners.get(svc);
    if (!l) return;
    this.listeners.delete(svc);
    if (l.retry) clearTimeout(l.retry);
    l.tcp?.close();
    if (l.pooled) this.pool?.unlisten(svc);
    l.udpService?.closeAll();
    l.udp?.close();
  }

  /** Resolves once every worker has reported the events it had (counters, states). */
  async settle(): Promise<void> {
    await this.pool?.settle();
  }

  async stop(): Promise<void> {
    for (const svc of [...this.listeners.keys()]) this.close(svc);
    await this.pool?.stop();
    this.pool = null;
    for (const s of this.ctx?.sessions.values() ?? []) s.destroy();
    this.ctx?.sessions.clear();
  }

  status(): EngineStatus {
    const interfaces: string[] = [];
    const unserved: UnservedRule[] = [];
    for (const l of this.listeners.values()) {
      const label = svcLabel(l.svc);
      if (l.problem) unserved.push({ rule: `-A ${label}`, reason: l.problem });
      else interfaces.push(`${l.svc.protocol === IPPROTO_UDP ? 'udp' : 'tcp'} ${label.slice(3)}`);
      for (const d of l.svc.dests) {
        const f = d.fwd & 7;
        if (f === IP_VS_CONN_F_DROUTE || f === IP_VS_CONN_F_TUNNEL) {
          unserved.push({
            rule: `-a ${label} -r ${formatAddrPort(d.addr, d.port)} ${f === IP_VS_CONN_F_DROUTE ? '-g' : '-i'}`,
            reason: 'DR/TUN real servers need the packet engine; connections scheduled to it are reset',
          });
        }
      }
    }
    const st: EngineStatus = { engine: 'proxy', interfaces, unserved, drops: { ...(this.ctx?.drops ?? {}) } };
    if (this.pool) {
      st.notes = [
        `TCP and UDP served by ${this.pool.size} worker threads (raw sockets in epoll loops); the core counts on the daemon's thread, and schedules there or publishes rr/wrr plans the workers pick from`,
      ];
    }
    return st;
  }
}
