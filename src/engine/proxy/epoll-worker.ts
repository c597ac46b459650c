// An epoll worker thread (Linux): the proxy's fast path. It accepts on its own SO_REUSEPORT
// sockets, asks the daemon's thread for the core's decision (or, for a service with a plan,
// rr and wrr: plans.ts, picks the dest itself and reports the pick), connects, splices both
// ways (epoll/splice.ts), serves UDP flows (epoll/udp-flows.ts) and reports every event in
// order, on raw non-blocking sockets in one epoll loop driven through koffi: per connection a
// few system calls and one small record, no Node stream objects. This file is the loop: the
// epoll set, the eventfd and sleep flag through which the daemon's thread wakes it, the
// listeners (paused while descriptors are exhausted), and the dispatch of events and messages.

import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { TCP_RST } from '../../core/conn/tcp.js';
import { Addr } from '../../core/inet.js';
import {
  EAGAIN,
  EINTR,
  EMFILE,
  ENFILE,
  ENOBUFS,
  ENOMEM,
  EPOLL_CTL_ADD,
  EPOLL_CTL_MOD,
  EPOLL_DATA_OFF,
  EPOLL_EVENT_SIZE,
  EPOLLET,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
} from '../../sys/constants.js';
import { libc } from '../../sys/libc.js';
import { SOCKADDR_IN6_LEN, sockaddr } from '../../sys/sockaddr.js';
import { proxyHeader } from '../../wire/proxy-protocol.js';
import { sockaddrAddr, sockaddrPort } from './addr.js';
import { type Batch, decoder, fromWorker, TO_WORKER } from './channel.js';
import { Fds } from './epoll/fds.js';
import { Conn, SPLICE_BUF_SIZE, type SpliceSink, Splicer } from './epoll/splice.js';
import { type Flow, type FlowSink, Peer, UdpFlows, UdpListener } from './epoll/udp-flows.js';
import { PLAN_CLOSED, planIndex } from './plans.js';

const S = libc();
const data = workerData as { port: MessagePort; sleeping: SharedArrayBuffer; owned: SharedArrayBuffer };
const inbox = data.port;
/**
 * 1 while this thread may be blocked in epoll_wait: the daemon's thread writes the eventfd only
 * then. Set before the last look at the inbox, cleared after the wait (see the loop).
 */
const sleeping = new Int32Array(data.sleeping);
const up = parentPort!;

/** epoll_wait fills at most this many events per turn. */
const MAX_EVENTS = 256;
/** Connections accepted per listener event, so that one busy service cannot starve the rest. */
const ACCEPT_BATCH = 64;
/**
 * A listener paused for lack of descriptors (EMFILE, ENFILE) or memory is tried again after
 * this long even if none of this worker's descriptors closed: ENFILE is system-wide, and the
 * descriptors may free up in another thread or process. One accept4 per 100 ms costs nothing.
 */
const EXHAUSTED_RETRY_MS = 100;
/**
 * ... or once this many of this worker's descriptors closed since the pause: an accepted
 * connection needs two (the client's and the real server's), so one would only let the listener
 * accept a client whose real server cannot then be dialled.
 */
const EXHAUSTED_RESUME_CLOSES = 2;
/**
 * Events wait at most this long before they are sent: a message wakes the daemon's thread, so
 * the events of several loop turns share one; a new connection that waits for its decision, or
 * a SETTLE answer, is sent as soon as a turn finds nothing more to do. Events change counters
 * and states whose timeouts are seconds (and tsvsadm settles first), so 10 ms costs nothing to
 * see, and measured against 2 ms it saved 3-4 us of CPU per short connection (fewer wake-ups).
 */
const EVENT_DELAY_MS = 10;
/** How often one-packet UDP sockets are swept for idleness. */
const OPS_SWEEP_MS = 1000;
/** The longest block in epoll_wait: with connects pending (their timeouts), and without. */
const WAIT_CONNECTING_MS = 100;
const WAIT_IDLE_MS = 1000;

/** A TCP service's listening socket in this worker. */
class Listener {
  paused = false;
  constructor(
    readonly svcId: number,
    readonly fd: number,
  ) {}
}

/** A service's plan, as published by the daemon's thread (plans.ts), with its dests' sockaddrs. */
class WorkerPlan {
  constructor(
    readonly seq: Int32Array,
    readonly prefix: number,
    readonly period: number,
    readonly destIds: number[],
    readonly targets: Uint8Array[],
    readonly pps: number[],
  ) {}
}

const buf = new Uint8Array(SPLICE_BUF_SIZE);
const evbuf = new Uint8Array(EPOLL_EVENT_SIZE * MAX_EVENTS);
const evview = new DataView(evbuf.buffer);
const evOne = new Uint8Array(EPOLL_EVENT_SIZE);
const evOneView = new DataView(evOne.buffer);
const saBuf = new Uint8Array(SOCKADDR_IN6_LEN);
const saLen = new Int32Array(1);
const efdBuf = new Uint8Array(8);

const fds = new Fds<object>(S, new Uint32Array(data.owned));
const ep = S.epollCreate();
if (ep < 0) throw new Error(`proxy worker: epoll_create1 failed (errno ${S.errno()})`);
fds.own(ep, null);
const efd = S.eventfd();
if (efd < 0) throw new Error(`proxy worker: eventfd failed (errno ${S.errno()})`);
fds.own(efd, null);

const listeners = new Map<number, Listener>();
const udpListeners = new Map<number, UdpListener>();
const plans = new Map<number, WorkerPlan>();
/** Conns waiting for the core's decision, and those it made (or adopted), by id. */
const waiting = new Map<number, Conn>();
const conns = new Map<number, Conn>();
const targets = new Map<string, Uint8Array>();
/** Listeners paused for lack of descriptors, since when, and fds.closed then. */
const paused = new Set<Listener>();
let pausedAt = 0;
let pausedClosed = 0;
let nextId = 1;
let outbox: Batch = [];
let urgent = false;
let running = true;

function epollCtl(op: number, fd: number, events: number): boolean {
  evOneView.setUint32(0, events >>> 0, true);
  evOneView.setUint32(EPOLL_DATA_OFF, fd, true);
  evOneView.setUint32(EPOLL_DATA_OFF + 4, 0, true);
  return S.epollCtl(ep, op, fd, evOne) === 0;
}

const CONN_EVENTS = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

function drop(reason: string): void {
  fromWorker.DROP(outbox, reason);
}

const spliceSink: SpliceSink = {
  event: (side, c, ev, bytes) => (side === 0 ? fromWorker.IN : fromWorker.OUT)(outbox, c.ref, c.id, ev, bytes),
  connected: (c) => fromWorker.CONNECTED(outbox, c.ref, c.id),
  closed: (c) => {
    waiting.delete(c.id);
    // Not for a conn the core has forgotten (RESET, DESTROY take it out of `conns` first).
    if (conns.delete(c.id) && (c.ref >= 0 || c.picked)) fromWorker.CLOSED(outbox, c.ref, c.id);
  },
  drop,
  health: (c, h, detail) => fromWorker.HEALTH(outbox, c.ref, c.id, h, detail),
  watch: (fd) => epollCtl(EPOLL_CTL_ADD, fd, CONN_EVENTS),
  exhausted: () => {
    for (const l of listeners.values()) if (!l.paused) pause(l, EMFILE);
  },
};
const splicer = new Splicer(S, fds, spliceSink, buf);

const flowSink: FlowSink = {
  in: (f, bytes) => fromWorker.IN(outbox, f.ref, f.id, 0, bytes),
  out: (f, bytes) => fromWorker.OUT(outbox, f.ref, f.id, 0, bytes),
  ask: (f: Flow, cport, a, len) => {
    fromWorker.UDP(outbox, f.id, f.l.svcId, cport, a.w0, a.w1, a.w2, a.w3, len);
    urgent = true;
  },
  closed: (f) => fromWorker.CLOSED(outbox, f.ref, f.id),
  drop,
  watch: (fd) => epollCtl(EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLET),
};
const udp = new UdpFlows(S, fds, flowSink, buf, target, () => nextId++);

function target(host: string, port: number): Uint8Array {
  const key = `${host}|${port}`;
  let sa = targets.get(key);
  if (!sa) {
    sa = sockaddr(Addr.parse(host)!.toBytes(), port);
    targets.set(key, sa);
  }
  return sa;
}

function accept(l: Listener): void {
  for (let k = 0; k < ACCEPT_BATCH; k++) {
    saLen[0] = SOCKADDR_IN6_LEN;
    const fd = S.accept4(l.fd, saBuf, saLen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const e = S.errno();
      if (e === EAGAIN) return;
      if (e === EMFILE || e === ENFILE || e === ENOBUFS || e === ENOMEM) {
        pause(l, e);
        return;
      }
      // EINTR, or an error of the one connection it concerned (ECONNABORTED, EPROTO, EPERM
      // from a firewall): that connection is gone, the next may be fine.
      if (e !== EINTR) drop('accept-error');
      continue;
    }
    const a = sockaddrAddr(saBuf);
    const cport = sockaddrPort(saBuf);
    const c = new Conn(nextId++, fd, a, cport);
    fds.own(fd, c);
    if (!epollCtl(EPOLL_CTL_ADD, fd, CONN_EVENTS)) {
      drop('epoll-error');
      fds.close(fd);
      continue;
    }
    const plan = plans.get(l.svcId);
    const n = plan ? Atomics.add(plan.seq, 0, 1) : PLAN_CLOSED;
    if (n >= 0 && n < PLAN_CLOSED) {
      const i = planIndex(plan!.seq, plan!.prefix, plan!.period, n);
      c.picked = true;
      conns.set(c.id, c);
      fromWorker.PICKED(outbox, c.id, l.svcId, plan!.destIds[i]!, cport, a.w0, a.w1, a.w2, a.w3);
      dial(c, plan!.targets[i]!, plan!.pps[i]!);
      if (l.paused) return; // no descriptor was left for its real server
      continue;
    }
    waiting.set(c.id, c);
    fromWorker.ACCEPT(outbox, c.id, l.svcId, cport, a.w0, a.w1, a.w2, a.w3);
    urgent = true;
  }
}

/**
 * Out of descriptors (or kernel memory): the listener is level-triggered, so it would report the
 * waiting connection again at once and the loop would spin. It stops watching until descriptors
 * free up (resumeListeners); the clients wait in the kernel's accept queue meanwhile, as with
 * HAProxy. Counted once per pause.
 */
function pause(l: Listener, e: number): void {
  if (!epollCtl(EPOLL_CTL_MOD, l.fd, 0)) drop('epoll-error');
  l.paused = true;
  if (paused.size === 0) {
    pausedAt = performance.now();
    pausedClosed = fds.closed;
  }
  paused.add(l);
  drop(e === EMFILE || e === ENFILE ? 'accept-paused-no-fd' : 'accept-paused-no-memory');
}

function resumeListeners(now: number): void {
  if (fds.closed - pausedClosed < EXHAUSTED_RESUME_CLOSES && now - pausedAt < EXHAUSTED_RETRY_MS) return;
  for (const l of paused) {
    l.paused = false;
    if (listeners.get(l.svcId) === l && !epollCtl(EPOLL_CTL_MOD, l.fd, EPOLLIN)) drop('epoll-error');
  }
  paused.clear();
}

function decide(id: number, ref: number, host: string, port: number, pp: number): void {
  const c = waiting.get(id);
  if (!c) return;
  waiting.delete(id);
  if (ref < 0) {
    splicer.finish(c, true);
    return;
  }
  c.ref = ref;
  conns.set(id, c);
  dial(c, target(host, port), pp);
}

/** Connects to the real server at `sa`, with a PROXY header of version `pp` first (0: none). */
function dial(c: Conn, sa: Uint8Array, pp: number): void {
  let hdr: Uint8Array | null = null;
  if (pp) {
    hdr = headerFor(c, pp);
    if (!hdr) return;
  }
  splicer.dial(c, sa, hdr);
}

/**
 * The PROXY header of version `pp` for the conn: the client's address and the one it reached
 * (the listener's, from getsockname). If the system cannot say, the conn is reset and counted
 * (`proxy-header-error`): sending the client's bytes without the header the real server
 * expects would make it misread them. Returns null then.
 */
function headerFor(c: Conn, pp: number): Uint8Array | null {
  saLen[0] = SOCKADDR_IN6_LEN;
  if (S.getsockname(c.fd[0]!, saBuf, saLen) < 0) {
    drop('proxy-header-error');
    spliceSink.event(1, c, TCP_RST, 0);
    splicer.finish(c, true);
    return null;
  }
  return proxyHeader(pp, c.caddr, c.cport, sockaddrAddr(saBuf), sockaddrPort(saBuf));
}

function onMessages(): void {
  if (S.read(efd, efdBuf, 8) < 0 && S.errno() !== EAGAIN) drop('eventfd-error');
  takeMessages();
}

/** What this worker does with each message of the daemon's thread (channel.ts). */
const decode = decoder(TO_WORKER, {
  DECIDE: decide,
  PLAN: (svcId, seq, prefix, period, _n, items) => {
    const ids = items.map((d) => d[0]);
    const sas = items.map((d) => target(d[1], d[2]));
    const pps = items.map((d) => d[3]);
    plans.set(svcId, new WorkerPlan(new Int32Array(seq), prefix, period, ids, sas, pps));
  },
  NOPLAN: (svcId) => plans.delete(svcId),
  RESET: (id) => finish(id, true),
  DESTROY: (id) => finish(id, false),
  LISTEN: (svcId, fd) => {
    const l = new Listener(svcId, fd);
    if (listeners.has(l.svcId)) unlisten(l.svcId);
    listeners.set(l.svcId, l);
    fds.watch(l.fd, l);
    if (!epollCtl(EPOLL_CTL_ADD, l.fd, EPOLLIN)) drop('epoll-error');
  },
  UNLISTEN: unlisten,
  ULISTEN: (svcId, fd) => {
    const l = new UdpListener(svcId, fd);
    if (udpListeners.has(l.svcId)) unlisten(l.svcId);
    udpListeners.set(l.svcId, l);
    fds.watch(l.fd, l);
    if (!epollCtl(EPOLL_CTL_ADD, l.fd, EPOLLIN | EPOLLET)) drop('epoll-error');
    udp.receive(l); // datagrams may have queued before it was watched
  },
  UDECIDE: (flow, ref, host, port, ops, ms) => udp.verdict(flow, ref, host, port, ops, ms),
  UFORGET: (flow, ref) => udp.forget(flow, ref),
  USLOW: (flow) => udp.slow(flow),
  SETTLE: (token) => {
    fromWorker.SETTLED(outbox, token);
    urgent = true;
  },
  STOP: () => {
    running = false;
  },
});

/** RESET, DESTROY: the core never had the conn, or forgot it, so no CLOSED follows. */
function finish(id: number, reset: boolean): void {
  const c = conns.get(id);
  if (!c) return;
  conns.delete(c.id);
  splicer.finish(c, reset);
}

/**
 * Handles what the daemon's thread posted; returns whether there was anything. A malformed batch
 * (a bug: both sides share channel.ts) is dropped whole and counted as `channel-malformed`.
 */
function takeMessages(): boolean {
  let any = false;
  for (let r = receiveMessageOnPort(inbox); r; r = receiveMessageOnPort(inbox)) {
    any = true;
    if (decode(r.message as Batch) !== null) drop('channel-malformed');
  }
  return any;
}

/** Closes the service's sockets here (the daemon's thread handed them over; they are ours now). */
function unlisten(svcId: number): void {
  plans.delete(svcId);
  const u = udpListeners.get(svcId);
  if (u) {
    udpListeners.delete(svcId);
    udp.closeService(u);
    fds.close(u.fd);
  }
  const l = listeners.get(svcId);
  if (!l) return;
  listeners.delete(svcId);
  paused.delete(l);
  fds.close(l.fd);
}

let lastFlush = 0;
let lastSweep = 0;

function flush(): void {
  urgent = false;
  if (outbox.length === 0) return;
  up.postMessage(outbox);
  outbox = [];
}

function waitMs(busy: boolean, mayBlock: boolean): number {
  if (busy || !mayBlock) return 0;
  let ms = outbox.length ? EVENT_DELAY_MS : splicer.connecting.size ? WAIT_CONNECTING_MS : WAIT_IDLE_MS;
  if (paused.size && ms > EXHAUSTED_RETRY_MS) ms = EXHAUSTED_RETRY_MS;
  return ms;
}

if (!epollCtl(EPOLL_CTL_ADD, efd, EPOLLIN)) throw new Error(`proxy worker: epoll_ctl(eventfd) failed (errno ${S.errno()})`);
const hello: Batch = [];
fromWorker.READY(hello, efd);
up.postMessage(hello);

while (running) {
  // Dekker with the daemon's thread (which posts, then swaps `sleeping` to 0 and wakes us if it
  // was 1): either this look finds its message, or it sees 1 and writes the eventfd. A turn
  // that will not block (new connections to send) leaves the flag at 0: no eventfd needed.
  const mayBlock = !urgent && !splicer.shutdownsPending;
  if (mayBlock) Atomics.store(sleeping, 0, 1);
  const busy = takeMessages();
  const n = S.epollWait(ep, evbuf, MAX_EVENTS, waitMs(busy, mayBlock));
  if (mayBlock) Atomics.store(sleeping, 0, 0);
  if (n < 0 && S.errno() !== EINTR) throw new Error(`proxy worker: epoll_wait failed (errno ${S.errno()})`);
  // Messages first: what the daemon's thread posted before a datagram or connection arrived
  // (a deleted dest, a new listener) applies to it, whatever order epoll lists them in.
  for (let i = 0; i < n; i++) {
    if (evview.getUint32(i * EPOLL_EVENT_SIZE + EPOLL_DATA_OFF, true) === efd) onMessages();
  }
  for (let i = 0; i < n; i++) {
    const off = i * EPOLL_EVENT_SIZE;
    const events = evview.getUint32(off, true);
    const fd = evview.getUint32(off + EPOLL_DATA_OFF, true);
    if (fd === efd) continue;
    const o = fds.byFd[fd];
    if (o instanceof Conn) splicer.onEvent(o, fd, events);
    else if (o instanceof Listener) {
      if (!o.paused) accept(o);
    } else if (o instanceof Peer) udp.replies(o);
    else if (o instanceof UdpListener) udp.receive(o);
  }
  splicer.flushShutdowns(n <= 0);
  const now = performance.now();
  if (splicer.connecting.size) splicer.checkDeadlines(now);
  if (paused.size) resumeListeners(now);
  if (udp.hasOps && now - lastSweep >= OPS_SWEEP_MS) {
    udp.sweepOps(now);
    lastSweep = now;
  }
  while (fds.closeErrors > 0) {
    fds.closeErrors--;
    drop('close-error');
  }
  // New connections are sent once a turn finds nothing more to do (an epoll_wait that does not
  // wait): under load one message then carries the connections of several turns, and each
  // message is a wake-up of the daemon's thread. At most EVENT_DELAY_MS later in any case.
  if ((urgent && n <= 0) || now - lastFlush >= EVENT_DELAY_MS) {
    flush();
    lastFlush = now;
  }
}

for (const l of [...listeners.keys(), ...udpListeners.keys()]) unlisten(l);
for (const c of [...waiting.values(), ...conns.values()]) splicer.finish(c, false);
flush();
fds.close(ep);
fds.close(efd);
process.exit(0);
