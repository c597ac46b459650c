// The proxy workers, seen from the daemon's thread. The workers do the socket I/O of TCP
// connections; this side owns every decision: it schedules each accepted connection through
// the core (one scheduler state for all workers, so rr, wrr, sh, mh, persistence and draining
// behave exactly as on one thread), or, for rr and wrr services, publishes the scheduler's plan
// that epoll workers pick from by themselves (plans.ts); and it applies the workers' events to
// the core in the order each worker sent them (states, timeouts, counters). The core's expiry
// closes a conn's sockets in its worker. Events of a conn the core already expired are ignored,
// so that a ref the core reuses is never charged for an old connection's traffic.

import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { IP_VS_CONN_F_ONE_PACKET, IPPROTO_TCP, IPPROTO_UDP } from '../../core/constants.js';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../core/conn/tcp.js';
import type { PacketInfo } from '../../core/conn/packet.js';
import type { Dest } from '../../core/dest.js';
import type { Service } from '../../core/service.js';
import { label as svcLabel } from '../../control/engine.js';
import { type Batch, decoder, FROM_WORKER, type Handlers, toWorker, toWorkerItem } from './channel.js';
import type { ProxyContext } from './context.js';
import { admit } from './admit.js';
import { closePlan, makePlan, type Plan } from './plans.js';
import { closeFds, openListeners } from './reuseport.js';
import { EAGAIN, errnoName } from '../../sys/constants.js';
import { libc, libcOrNull } from '../../sys/libc.js';

/** Whether the epoll workers can run here (Linux, koffi, a known struct epoll_event layout). */
export function epollAvailable(): boolean {
  return libcOrNull() !== null && (process.arch === 'x64' || process.arch === 'arm64');
}

interface Remote {
  worker: number;
  id: number;
  /** A UDP flow (its conn is forgotten, not reset, when its worker dies). */
  udp: boolean;
}

interface Slot {
  index: number;
  worker: Worker;
  outbox: Batch;
  /** Where messages go, and the eventfd that wakes the worker after each. */
  inbox: MessagePort;
  efd: number;
  /** 1 while the worker may be blocked in epoll_wait (then it needs the eventfd). */
  sleeping: Int32Array;
  /** A bit per fd the worker owns, closed here if it dies. */
  owned: Uint32Array;
  /** The listening fds this worker was given, by service id (closed here if it dies). */
  fds: Map<number, number>;
  alive: boolean;
  /** Connections this worker accepted (for status and tests). */
  accepted: number;
  /** UDP conns whose flow this worker took (for status and tests). */
  flows: number;
  /** The worker loaded its code and listens for messages. */
  ready: boolean;
  /** Refs of the conns this worker picked a dest for itself (PICKED), by its conn id. */
  pickedRefs: Map<number, number>;
  /** Connections this worker scheduled itself from a plan (for status and tests). */
  picked: number;
  /** Applies a batch from this worker (channel.ts); returns why it was malformed, or null. */
  decode: (m: Batch) => string | null;
}

/** After this many exits without serving, a worker is not replaced any more. */
const MAX_RESPAWNS = 5;

function newWorker(inbox: MessagePort, sleeping: SharedArrayBuffer, owned: SharedArrayBuffer): Worker {
  const name = 'epoll-worker';
  const opts = { workerData: { port: inbox, sleeping, owned }, transferList: [inbox] };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, import.meta.url), opts);
  // Run from the sources (tests, bench through tsx): the worker registers tsx itself, as a
  // worker thread does not inherit the loader hooks of `--import tsx`.
  const url = new URL(`./${name}.ts`, import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(url)}); });`, {
    ...opts,
    eval: true,
  });
}

const WAKE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
/** File descriptors below this are tracked for a dead epoll worker (128 KB of bits). */
const OWNED_FDS = 1 << 20;

export class WorkerPool {
  private readonly slots: Slot[] = [];
  /** Conns whose sockets live in a worker, by core ref. */
  private readonly remote = new Map<number, Remote>();
  private readonly svcIds = new Map<Service, number>();
  private readonly svcs = new Map<number, Service>();
  private nextSvc = 1;
  private nextToken = 1;
  private readonly settling = new Map<number, { worker: number; resolve: () => void }>();
  private readonly hosts = new WeakMap<Dest, string>();
  private stopped = false;
  private respawns = 0;
  /** The clock when the batch being applied arrived. */
  private now = 0;
  private malformedLogged = false;
  /** The plans epoll workers pick from, by service (plans.ts). */
  private readonly plans = new Map<Service, Plan>();
  /** Services whose plan is made again once the current rule change is over. */
  private readonly replans = new Set<Service>();

  constructor(
    private readonly ctx: ProxyContext,
    readonly size: number,
  ) {}

  /** Starts the workers; rejects if one cannot start (the engine then runs on one thread). */
  async start(): Promise<void> {
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn(i));
    await Promise.all(this.slots.map((s) => this.whenReady(s)));
  }

  private whenReady(s: Slot): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (s.ready) resolve();
      s.worker.once('message', () => resolve());
      s.worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before serving`)));
    });
  }

  private spawn(index: number): Slot {
    const ch = new MessageChannel();
    const sleeping = new SharedArrayBuffer(4);
    const owned = new SharedArrayBuffer(OWNED_FDS / 8);
    const worker = newWorker(ch.port2, sleeping, owned);
    const slot: Slot = {
      index,
      worker,
      outbox: [],
      inbox: ch.port1,
      efd: -1,
      sleeping: new Int32Array(sleeping),
      owned: new Uint32Array(owned),
      fds: new Map(),
      alive: true,
      accepted: 0,
      flows: 0,
      ready: false,
      pickedRefs: new Map(),
      picked: 0,
      decode: () => null,
    };
    slot.decode = decoder(FROM_WORKER, this.handlers(slot));
    worker.on('message', (b: Batch) => this.onBatch(slot, b));
    worker.on('error', (e) => {
      if (!this.stopped) this.ctx.log(`proxy: worker ${index} failed: ${e.message}`);
    });
    worker.on('exit', (code) => {
      slot.alive = false;
      slot.inbox.close();
      if (!this.stopped) {
        // Raw fds outlive the thread: its listeners, and every socket it had open.
        const fds = [...slot.fds.values()];
        slot.owned.forEach((bits, w) => {
          for (let b = 0; bits && b < 32; b++) if (bits & (1 << b)) fds.push(w * 32 + b);
        });
        closeFds(fds);
      }
      for (const [token, w] of this.settling) {
        if (w.worker !== index) continue;
        this.settling.delete(token);
        w.resolve();
      }
      if (this.stopped) return;
      if (!slot.ready && ++this.respawns > MAX_RESPAWNS) {
        this.ctx.log(`proxy: worker ${index} exited (code ${code}) before serving, ${MAX_RESPAWNS} times: not replaced`);
        return;
      }
      this.ctx.log(`proxy: worker ${index} exited (code ${code}); its connections are closed, a new worker takes its place`);
      // Its connections were closed with it: the core sees them reset (no longer active).
      const now = this.ctx.clock();
      for (const [ref, r] of this.remote) {
        if (r.worker !== index) continue;
        this.remote.delete(ref);
        // A UDP conn has no reset: it idles out, and its client's next datagram reaches
        // another worker, which asks the core and finds it.
        if (!r.udp) this.ctx.ipvs.inPacket(ref, TCP_RST, 0, now);
      }
      const fresh = this.spawn(index);
      this.slots[index] = fresh;
      for (const [id, svc] of this.svcs) {
        try {
          const udp = svc.protocol === IPPROTO_UDP;
          const [fd] = openListeners(svc.addr, svc.port, 1, udp);
          (udp ? toWorker.ULISTEN : toWorker.LISTEN)(fresh.outbox, id, fd!);
          fresh.fds.set(id, fd!);
        } catch (e) {
          this.ctx.log(`proxy: ${svcLabel(svc)}: worker ${index} could not listen again (${(e as Error).message})`);
        }
      }
      for (const plan of this.plans.values()) this.pushPlan(fresh, plan);
      this.send(fresh);
    });
    return slot;
  }

  private send(s: Slot): void {
    // Not before the worker has said where to wake it (its first message): sent then.
    if (s.outbox.length === 0 || !s.alive || !s.ready) return;
    const b = s.outbox;
    s.outbox = [];
    s.inbox.postMessage(b);
    // EAGAIN: the eventfd's counter is full, so the worker is woken already.
    if (Atomics.exchange(s.sleeping, 0, 0) === 1 && libc().write(s.efd, WAKE, 8) < 0 && libc().errno() !== EAGAIN) {
      this.ctx.log(`proxy: cannot wake worker ${s.index} (eventfd write: ${errnoName(libc().errno())}); it sees the message within 1 s`);
    }
  }

  /**
   * Opens one listening (TCP) or bound (UDP) socket per worker on the
   * service's VIP:port; throws a ListenError.
   */
  listen(svc: Service): void {
    const udp = svc.protocol === IPPROTO_UDP;
    const fds = openListeners(svc.addr, svc.port, this.slots.length, udp);
    if (this.svcIds.has(svc)) this.unlisten(svc);
    const id = this.nextSvc++;
    this.svcIds.set(svc, id);
    this.svcs.set(id, svc);
    const unused: number[] = [];
    this.slots.forEach((s, i) => {
      if (s.alive) {
        (udp ? toWorker.ULISTEN : toWorker.LISTEN)(s.outbox, id, fds[i]!);
        s.fds.set(id, fds[i]!);
        this.send(s);
      } else unused.push(fds[i]!);
    });
    closeFds(unused);
    this.publish(svc);
  }

  unlisten(svc: Service): void {
    const id = this.svcIds.get(svc);
    if (id === undefined) return;
    this.unplan(svc);
    this.svcIds.delete(svc);
    this.svcs.delete(id);
    for (const s of this.slots) {
      s.fds.delete(id);
      toWorker.UNLISTEN(s.outbox, id);
      this.send(s);
    }
  }

  /**
   * Ends worker `index` as if it had crashed (it is replaced as any dead worker is): for tests of
   * that path, and for an operator's last resort.
   */
  async kill(index: number): Promise<void> {
    const s = this.slots[index];
    if (s?.alive) await s.worker.terminate();
  }

  /** Connections accepted by each worker (a replaced worker starts again from 0). */
  accepted(): number[] {
    return this.slots.map((s) => s.accepted);
  }

  /** Connections each worker scheduled itself from a plan (a replaced worker starts from 0). */
  pickedConns(): number[] {
    return this.slots.map((s) => s.picked);
  }

  /** UDP conns whose flows each worker took (a replaced worker starts again from 0). */
  flows(): number[] {
    return this.slots.map((s) => s.flows);
  }

  /** The core expired `ref`: close its sockets in its worker. Returns whether it had any. */
  expire(ref: number): boolean {
    const r = this.remote.get(ref);
    if (!r) return false;
    this.remote.delete(ref);
    const s = this.slots[r.worker]!;
    if (r.udp) toWorker.UFORGET(s.outbox, r.id, ref);
    else {
      s.pickedRefs.delete(r.id);
      toWorker.DESTROY(s.outbox, r.id);
    }
    this.send(s);
    return true;
  }

  /**
   * A dest was deleted: as in the kernel, its UDP conns' packets are now dropped (or, with
   * expire_nodest_conn, rescheduled) by the core's in-hook, so their flows stop forwarding on
   * their own and send every datagram to the core again.
   */
  destDeleted(dest: Dest): void {
    const { ipvs } = this.ctx;
    for (const [ref, r] of this.remote) {
      if (!r.udp || ipvs.connDest(ref) !== dest) continue;
      const s = this.slots[r.worker]!;
      toWorker.USLOW(s.outbox, r.id);
    }
    for (const s of this.slots) this.send(s);
  }

  /**
   * The service's scheduler or dests are about to change: close its plan, which moves the core's
   * scheduler on by the workers' picks; a new plan is made once the change is over.
   */
  beforeChange(svc: Service): void {
    if (!this.svcIds.has(svc)) return;
    this.unplan(svc);
    this.replans.add(svc);
    // After the change (Rules calls the scheduler's hooks after the listeners'): the same turn.
    if (this.replans.size === 1) queueMicrotask(() => this.replanAll());
  }

  private replanAll(): void {
    for (const svc of this.replans) this.publish(svc);
    this.replans.clear();
  }

  /** Publishes the service's plan to the epoll workers, when it has one. */
  private publish(svc: Service): void {
    this.unplan(svc);
    if (this.stopped || !this.svcIds.has(svc)) return;
    const plan = makePlan(svc);
    if (!plan) return;
    this.plans.set(svc, plan);
    for (const s of this.slots) {
      this.pushPlan(s, plan);
      this.send(s);
    }
  }

  private pushPlan(s: Slot, plan: Plan): void {
    const id = this.svcIds.get(plan.svc)!;
    toWorker.PLAN(s.outbox, id, plan.seq.buffer as SharedArrayBuffer, plan.prefix, plan.period, plan.dests.length);
    for (const d of plan.dests) toWorkerItem.PLAN(s.outbox, d.id, this.hostOf(d), d.port || plan.svc.port, d.proxyProtocol);
  }

  private unplan(svc: Service): void {
    const plan = this.plans.get(svc);
    if (!plan) return;
    this.plans.delete(svc);
    closePlan(plan, this.ctx.clock());
    const id = this.svcIds.get(svc)!;
    for (const s of this.slots) {
      toWorker.NOPLAN(s.outbox, id);
      this.send(s);
    }
  }

  /** Resolves once every worker has sent the events it had when asked. */
  async settle(): Promise<void> {
    await Promise.all(
      this.slots
        .filter((s) => s.alive)
        .map(
          (s) =>
            new Promise<void>((resolve) => {
              const token = this.nextToken++;
              this.settling.set(token, { worker: s.index, resolve });
              toWorker.SETTLE(s.outbox, token);
              this.send(s);
            }),
        ),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.remote.clear();
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.alive && s.ready) {
          // An epoll worker closes its raw sockets itself, then exits.
          const exited = new Promise<void>((r) => s.worker.once('exit', () => r()));
          toWorker.STOP(s.outbox);
          this.send(s);
          const t = setTimeout(() => void s.worker.terminate(), 2000);
          await exited;
          clearTimeout(t);
        } else await s.worker.terminate();
      }),
    );
    for (const w of this.settling.values()) w.resolve();
    this.settling.clear();
  }

  /** The core's ref of a worker's conn `id` (ref -1: a PICKED conn, found by id); -1 if gone. */
  private refOf(slot: Slot, ref: number, id: number): number {
    if (ref < 0) ref = slot.pickedRefs.get(id) ?? -1;
    const r = this.remote.get(ref);
    return r !== undefined && r.id === id && r.worker === slot.index ? ref : -1;
  }

  /** What this thread does with each message of worker `slot` (channel.ts). */
  private handlers(slot: Slot): Handlers<typeof FROM_WORKER> {
    const { ctx } = this;
    const { ipvs } = ctx;
    return {
      READY: (efd) => {
        slot.ready = true;
        slot.efd = efd;
      },
      ACCEPT: (id, svcId, cport, w0, w1, w2, w3) => this.accept(slot, id, svcId, cport, w0, w1, w2, w3, this.now),
      IN: (ref, id, ev, bytes) => {
        ref = this.refOf(slot, ref, id);
        if (ref >= 0) ipvs.inPacket(ref, ev, bytes, this.now);
      },
      OUT: (ref, id, ev, bytes) => {
        ref = this.refOf(slot, ref, id);
        if (ref >= 0) ipvs.outPacket(ref, ev, bytes, this.now);
      },
      DROP: (reason) => ctx.drop(reason),
      HEALTH: (ref, id, health, detail) => {
        ref = this.refOf(slot, ref, id);
        const dest = ref >= 0 ? ipvs.connDest(ref) : undefined;
        if (dest) ctx.destHealth(dest, health, detail);
      },
      CONNECTED: (ref, id) => {
        ref = this.refOf(slot, ref, id);
        if (ref < 0) return;
        const dest = ipvs.connDest(ref);
        if (dest) ctx.destHealth(dest, 'ok');
        ipvs.outPacket(ref, TCP_SYN | TCP_ACK, 0, this.now);
        ipvs.inPacket(ref, TCP_ACK, 0, this.now);
      },
      CLOSED: (ref, id) => {
        ref = this.refOf(slot, ref, id);
        if (ref >= 0) this.remote.delete(ref);
        slot.pickedRefs.delete(id);
      },
      PICKED: (id, svcId, destId, cport, w0, w1, w2, w3) => this.adoptPicked(slot, id, svcId, destId, cport, w0, w1, w2, w3, this.now),
      UDP: (flow, svcId, cport, w0, w1, w2, w3, len) => this.datagram(slot, flow, svcId, cport, w0, w1, w2, w3, len, this.now),
      SETTLED: (token) => {
        this.settling.get(token)?.resolve();
        this.settling.delete(token);
      },
    };
  }

  /**
   * Applies a worker's batch in order. A malformed one (a bug: both sides share channel.ts) is
   * dropped whole and counted as `channel-malformed`, and the first is logged.
   */
  private onBatch(slot: Slot, m: Batch): void {
    this.now = this.ctx.clock();
    const bad = slot.decode(m);
    if (bad !== null) {
      this.ctx.drop('channel-malformed');
      if (!this.malformedLogged) this.ctx.log(`proxy: worker ${slot.index} sent a malformed batch (${bad}): dropped; please report this`);
      this.malformedLogged = true;
    }
    this.send(slot);
  }

  private accept(slot: Slot, id: number, svcId: number, cport: number, w0: number, w1: number, w2: number, w3: number, now: number): void {
    const { ctx } = this;
    const { ipvs } = ctx;
    slot.accepted++;
    const svc = this.svcs.get(svcId);
    if (!svc) {
      // The service was deleted while the connection waited in its worker.
      ctx.drop('no-destination');
      toWorker.DECIDE(slot.outbox, id, -1, '', 0, 0);
      return;
    }
    const p = toService(ctx.pkt, svc, IPPROTO_TCP, w0, w1, w2, w3, cport, TCP_SYN, 0);
    const ref = admit(ctx, svc, p, now, this.scheduleTcp);
    if (ref < 0) {
      toWorker.DECIDE(slot.outbox, id, -1, '', 0, 0);
      return;
    }
    const dest = ipvs.connDest(ref)!;
    let host = this.hosts.get(dest);
    if (host === undefined) {
      host = dest.addr.toString();
      this.hosts.set(dest, host);
    }
    this.remote.set(ref, { worker: slot.index, id, udp: false });
    toWorker.DECIDE(slot.outbox, id, ref, host, ipvs.connDport(ref), dest.proxyProtocol);
  }

  /**
   * The core's decision for a connection this thread schedules: from the service's plan when it
   * has one (the core's scheduler stays where the plan started), else through the core.
   */
  private readonly scheduleTcp = (svc: Service, p: PacketInfo, now: number): number => {
    let plan = this.plans.get(svc);
    if (plan?.spent) {
      this.publish(svc);
      plan = this.plans.get(svc);
    }
    const dest = plan?.pick();
    return dest ? this.ctx.ipvs.adopt(svc, dest, p, now) : this.ctx.ipvs.schedule(svc, p, now);
  };

  /** A worker picked `destId` from the service's plan for its conn `id`, and is connecting. */
  private adoptPicked(
    slot: Slot,
    id: number,
    svcId: number,
    destId: number,
    cport: number,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
    now: number,
  ): void {
    const { ctx } = this;
    const { ipvs } = ctx;
    slot.accepted++;
    slot.picked++;
    const svc = this.svcs.get(svcId);
    const dest = ipvs.rules.destById(destId);
    const ref = svc && dest ? ipvs.adopt(svc, dest, toService(ctx.pkt, svc, IPPROTO_TCP, w0, w1, w2, w3, cport, TCP_SYN, 0), now) : -1;
    if (ref < 0) {
      // The service or the dest was deleted since the worker picked it.
      ctx.drop('no-destination');
      toWorker.RESET(slot.outbox, id);
      return;
    }
    ipvs.inPacket(ref, TCP_SYN, 0, now);
    this.remote.set(ref, { worker: slot.index, id, udp: false });
    slot.pickedRefs.set(id, ref);
  }

  private hostOf(dest: Dest): string {
    let host = this.hosts.get(dest);
    if (host === undefined) {
      host = dest.addr.toString();
      this.hosts.set(dest, host);
    }
    return host;
  }

  /** One datagram of flow `id` through the core's in-hook, as udp.ts does on one thread. */
  private datagram(
    slot: Slot,
    id: number,
    svcId: number,
    cport: number,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
    len: number,
    now: number,
  ): void {
    const { ctx } = this;
    const { ipvs } = ctx;
    const svc = this.svcs.get(svcId);
    const ms = ipvs.rules.timeouts.udp * 1000;
    if (!svc) {
      ctx.drop('no-destination');
      toWorker.UDECIDE(slot.outbox, id, -1, '', 0, 0, ms);
      return;
    }
    const p = toService(ctx.pkt, svc, IPPROTO_UDP, w0, w1, w2, w3, cport, 0, len);
    const ref = admit(ctx, svc, p, now);
    if (ref < 0) {
      toWorker.UDECIDE(slot.outbox, id, -1, '', 0, 0, ms);
      return;
    }
    const dest = ipvs.connDest(ref)!;
    const ops = (ipvs.connFlags(ref) & IP_VS_CONN_F_ONE_PACKET) !== 0;
    if (!ops) {
      const r = this.remote.get(ref);
      if (r && (r.worker !== slot.index || r.id !== id)) {
        // The flow moved to another worker's socket (a worker was replaced): one owner.
        const old = this.slots[r.worker]!;
        toWorker.UFORGET(old.outbox, r.id, ref);
        this.send(old);
      }
      if (!r || r.worker !== slot.index || r.id !== id) slot.flows++;
      this.remote.set(ref, { worker: slot.index, id, udp: true });
    }
    toWorker.UDECIDE(slot.outbox, id, ref, this.hostOf(dest), ipvs.connDport(ref), ops ? 1 : 0, ms);
  }
}

/** Fills `p` with a client's packet to `svc` (client address as four words), for the core. */
function toService(
  p: PacketInfo,
  svc: Service,
  protocol: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
  cport: number,
  ev: number,
  len: number,
): PacketInfo {
  p.af = svc.addr.af;
  p.protocol = protocol;
  p.saddr[0] = w0;
  p.saddr[1] = w1;
  p.saddr[2] = w2;
  p.saddr[3] = w3;
  for (let k = 0; k < 4; k++) p.daddr[k] = svc.addr.word(k);
  p.sport = cport;
  p.dport = svc.port;
  p.fwmark = 0;
  p.ev = ev;
  p.len = len;
  p.fragment = false;
  return p;
}
