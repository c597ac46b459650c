// The proxy workers' fast path (Linux): the same job as worker.ts — accept on this worker's
// SO_REUSEPORT sockets, ask the daemon's thread for the core's decision, connect, pipe both
// ways with backpressure and half-close, report every event in order — but on raw non-blocking
// sockets and one edge-triggered epoll loop driven through koffi, without Node's stream
// machinery: per connection it costs a few system calls and no per-socket JavaScript objects
// beyond one record. The thread blocks in epoll_wait; the daemon's thread wakes it through an
// eventfd after each message it posts, and the messages are taken with receiveMessageOnPort.
// For a service with a plan (rr, wrr: plans.ts) the worker picks the dest itself and connects
// at once, and reports the pick afterwards.

import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { TCP_ACK, TCP_FIN, TCP_RST } from '../../core/conn/tcp.js';
import { Addr } from '../../core/inet.js';
import {
  type Batch,
  D_DECIDE,
  D_DESTROY,
  D_LISTEN,
  D_NOPLAN,
  D_PLAN,
  D_RESET,
  D_SETTLE,
  D_STOP,
  D_UDECIDE,
  D_UFORGET,
  D_ULISTEN,
  D_UNLISTEN,
  D_USLOW,
  W_ACCEPT,
  W_CLOSED,
  W_CONNECTED,
  W_DROP,
  W_HEALTH,
  W_IN,
  W_OUT,
  W_PICKED,
  W_SETTLED,
  W_UDP,
} from './channel.js';
import { PLAN_CLOSED, planIndex } from './plans.js';
import { CONNECT_TIMEOUT_MS } from './pipe.js';
import { proxyV1, proxyV2 } from './proxy-protocol.js';
import {
  EAGAIN,
  ECONNREFUSED,
  EINPROGRESS,
  EINTR,
  EPOLL_CTL_ADD,
  EPOLL_DATA_OFF,
  EPOLL_EVENT_SIZE,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  ERRNO_NAMES,
  IPPROTO_TCP,
  MSG_MORE,
  SHUT_WR,
  SO_ERROR,
  SO_LINGER,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  AF_INET,
  AF_INET6,
  sockaddr,
  sys,
  TCP_NODELAY,
} from './sys.js';

const S = sys()!;
const inbox = (workerData as { port: MessagePort; sleeping: SharedArrayBuffer }).port;
/**
 * 1 while this thread may be blocked in epoll_wait: the daemon's thread writes the eventfd only
 * then. Set before the last look at the inbox, cleared after the wait (see the loop).
 */
const sleeping = new Int32Array((workerData as { sleeping: SharedArrayBuffer }).sleeping);
/**
 * One bit per file descriptor this thread owns (its sockets, epoll and eventfd), so that the
 * daemon's thread can close them if this thread dies: raw descriptors outlive the thread.
 * Set after an fd is made, cleared before it is closed (never a stale bit on a reused number).
 */
const owned = new Uint32Array((workerData as { owned: SharedArrayBuffer }).owned);

function own(fd: number): void {
  if (fd >= 0 && fd >>> 5 < owned.length) owned[fd >>> 5]! |= 1 << (fd & 31);
}

function closeOwned(fd: number): void {
  if (fd >>> 5 < owned.length) owned[fd >>> 5]! &= ~(1 << (fd & 31));
  S.close(fd);
}
const up = parentPort!;

const MAX_EVENTS = 256;
/** One read buffer for every connection of this worker: data is written on at once. */
const BUF_SIZE = 256 * 1024;
const buf = Buffer.allocUnsafe(BUF_SIZE);
const evbuf = new Uint8Array(EPOLL_EVENT_SIZE * MAX_EVENTS);
const evview = new DataView(evbuf.buffer);
const evOne = new Uint8Array(EPOLL_EVENT_SIZE);
const evOneView = new DataView(evOne.buffer);
const saBuf = new Uint8Array(28);
const saLen = new Int32Array(1);
const intVal = new Int32Array(2);
const intLen = new Int32Array(1);
const one = new Int32Array([1]);
const linger0 = new Int32Array([1, 0]);
const efdBuf = new Uint8Array(8);

class Listener {
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

/** A UDP service's bound socket in this worker. */
class UdpListener {
  constructor(
    readonly svcId: number,
    readonly fd: number,
  ) {}
}

/**
 * A UDP flow: one client address and port of one service. While its conn lives in the core
 * (`ref`), its datagrams go straight to the real server through `peer` and are reported as IN
 * events; a new flow, a one-packet service, a flow whose dest was deleted (`slow`) or one near
 * its UDP timeout sends each datagram to the core first and holds it until the verdict.
 */
class Flow {
  ref = -1;
  peer: Peer | null = null;
  /** One-packet scheduling: a socket per real server this client's datagrams went to. */
  ops: Map<string, Peer> | null = null;
  /** Datagrams waiting for the core's verdict, oldest first. */
  readonly held: Uint8Array[] = [];
  slow = false;
  /** When a datagram of this flow was last reported to the core. */
  last = 0;
  /** The UDP timeout, as of the core's last verdict. */
  timeoutMs = 0;
  constructor(
    readonly id: number,
    readonly key: string,
    readonly l: UdpListener,
    /** The client's sockaddr, where replies go. */
    readonly csa: Uint8Array,
  ) {}
}

/** A connected UDP socket from this worker to a real server, for one flow. */
class Peer {
  used = 0;
  constructor(
    readonly fd: number,
    readonly flow: Flow,
    /** Replies are counted (the flow's conn); not for one-packet conns, as in the kernel. */
    readonly counted: boolean,
    readonly key: string,
  ) {}
}

/**
 * A flow's datagrams skip the core only while its conn cannot have idled out there: the core
 * re-arms the UDP timeout when it applies the report, which is after the worker sent it, and
 * rounds to its 100 ms tick; this margin also covers a daemon's thread that is late.
 */
const UDP_MARGIN_MS = 1000;

/** One proxied connection. Side 0 is the client, side 1 the real server. */
class Conn {
  ref = -1;
  readonly fd = [-1, -1];
  readonly readable = [false, false];
  readonly writable = [false, false];
  /** The peer of each side has hung up (its FIN or an error is waiting to be read). */
  readonly hup = [false, false];
  /** The peer of each side sent its FIN, without an error (EPOLLRDHUP alone). */
  readonly fin = [false, false];
  /** Bytes waiting to be written to each side. */
  readonly pend: (Uint8Array | null)[] = [null, null];
  /** EOF read from each side. */
  readonly eof = [false, false];
  /** Writes shut down towards each side. */
  readonly shut = [false, false];
  /** Bits of the sides whose shutdown is deferred (see deferShutdown). */
  shutLater = 0;
  connected = false;
  closed = false;
  /** This worker picked the dest from a plan: the core's ref is not known here (-1). */
  picked = false;
  deadline = 0;
  constructor(
    readonly id: number,
    cfd: number,
    readonly caddr: Addr,
    readonly cport: number,
  ) {
    this.fd[0] = cfd;
    this.writable[0] = true;
  }
}

const ep = S.epollCreate();
const efd = S.eventfd();
own(ep);
own(efd);
if (ep < 0 || efd < 0) throw new Error(`proxy worker: epoll/eventfd failed (errno ${S.errno()})`);
/** What each fd is. */
const byFd: (Conn | Listener | UdpListener | Peer | null)[] = [];
const listeners = new Map<number, Listener>();
const plans = new Map<number, WorkerPlan>();
const udpListeners = new Map<number, UdpListener>();
const flows = new Map<string, Flow>();
const flowsById = new Map<number, Flow>();
/** Flows with one-packet sockets, which idle out here (there is no conn to expire them). */
const opsFlows = new Set<Flow>();
const waiting = new Map<number, Conn>();
const conns = new Map<number, Conn>();
const connecting = new Set<Conn>();
const targets = new Map<string, Uint8Array>();
let nextId = 1;
let outbox: Batch = [];
let running = true;

function ctl(fd: number, events: number): void {
  evOneView.setUint32(0, events >>> 0, true);
  evOneView.setUint32(EPOLL_DATA_OFF, fd, true);
  evOneView.setUint32(EPOLL_DATA_OFF + 4, 0, true);
  S.epollCtl(ep, EPOLL_CTL_ADD, fd, evOne);
}

const CONN_EVENTS = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

function report(side: number, c: Conn, ev: number, bytes: number): void {
  outbox.push(side === 0 ? W_IN : W_OUT, c.ref, c.id, ev, bytes);
}

function accept(l: Listener): void {
  for (let k = 0; k < 64; k++) {
    saLen[0] = 28;
    const fd = S.accept4(l.fd, saBuf, saLen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; // EAGAIN, or an aborted connection
    own(fd);
    const a = sockAddr();
    const cport = (saBuf[2]! << 8) | saBuf[3]!;
    const c = new Conn(nextId++, fd, a, cport);
    byFd[fd] = c;
    ctl(fd, CONN_EVENTS);
    const plan = plans.get(l.svcId);
    const seq = plan ? Atomics.add(plan.seq, 0, 1) : PLAN_CLOSED;
    if (seq >= 0 && seq < PLAN_CLOSED) {
      const i = planIndex(plan!.seq, plan!.prefix, plan!.period, seq);
      c.picked = true;
      conns.set(c.id, c);
      outbox.push(W_PICKED, c.id, l.svcId, plan!.destIds[i]!, cport, a.w0, a.w1, a.w2, a.w3);
      dial(c, plan!.targets[i]!, plan!.pps[i]!);
      continue;
    }
    waiting.set(c.id, c);
    outbox.push(W_ACCEPT, c.id, l.svcId, cport, a.w0, a.w1, a.w2, a.w3);
    urgent = true;
  }
}

/** The address in saBuf (an IPv4-mapped IPv6 address as IPv4, as Node reports it). */
function sockAddr(): Addr {
  if (saBuf[0]! + (saBuf[1]! << 8) !== AF_INET6) return Addr.fromBytes(saBuf, 4, AF_INET);
  let mapped = saBuf[18] === 0xff && saBuf[19] === 0xff;
  for (let k = 8; k < 18 && mapped; k++) mapped = saBuf[k] === 0;
  return mapped ? Addr.fromBytes(saBuf, 20, AF_INET) : Addr.fromBytes(saBuf, 8, AF_INET6);
}

function errName(e: number): string {
  return ERRNO_NAMES[e] ?? `errno ${e}`;
}

/** Closes both sockets (the client's with a reset when `reset`) and reports CLOSED. */
function finish(c: Conn, reset: boolean): void {
  if (c.closed) return;
  c.closed = true;
  if (reset) S.setsockopt(c.fd[0]!, SOL_SOCKET, SO_LINGER, linger0, 8);
  for (const fd of c.fd) {
    if (fd < 0) continue;
    byFd[fd] = null;
    closeOwned(fd);
  }
  connecting.delete(c);
  waiting.delete(c.id);
  if (conns.delete(c.id) && (c.ref >= 0 || c.picked)) outbox.push(W_CLOSED, c.ref, c.id);
}

function decide(id: number, ref: number, host: string, port: number, pp: number): void {
  const c = waiting.get(id);
  if (!c) return;
  waiting.delete(id);
  if (ref < 0) {
    finish(c, true);
    return;
  }
  c.ref = ref;
  conns.set(id, c);
  dial(c, target(host, port), pp);
}

/** Connects to the real server at `sa`, with a PROXY header first when `pp` says so. */
function dial(c: Conn, sa: Uint8Array, pp: number): void {
  const ufd = S.socket(sa.length === 28 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ufd < 0) {
    connectFailed(c, S.errno());
    return;
  }
  own(ufd);
  c.fd[1] = ufd;
  byFd[ufd] = c;
  S.setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, one, 4); // the client's comes from the listener
  if (pp) c.pend[1] = proxyHeader(c, pp);
  const r = S.connect(ufd, sa, sa.length);
  if (r < 0) {
    const e = S.errno();
    if (e !== EINPROGRESS) {
      connectFailed(c, e);
      return;
    }
  }
  ctl(ufd, CONN_EVENTS);
  c.deadline = performance.now() + CONNECT_TIMEOUT_MS;
  connecting.add(c);
}

function target(host: string, port: number): Uint8Array {
  const key = `${host}|${port}`;
  let sa = targets.get(key);
  if (!sa) {
    sa = sockaddr(Addr.parse(host)!.toBytes(), port);
    targets.set(key, sa);
  }
  return sa;
}

/** Datagrams on a UDP service's socket: each goes to its flow's real server, or to the core. */
function receive(l: UdpListener): void {
  for (let k = 0; k < 4096; k++) {
    saLen[0] = 28;
    const n = S.recvfrom(l.fd, buf, BUF_SIZE, saBuf, saLen);
    if (n < 0) {
      if (S.errno() === EINTR) continue;
      return; // EAGAIN
    }
    const a = sockAddr();
    const cport = (saBuf[2]! << 8) | saBuf[3]!;
    const key = `${l.svcId}:${a.w0}:${a.w1}:${a.w2}:${a.w3}:${cport}`;
    let f = flows.get(key);
    if (!f) {
      f = new Flow(nextId++, key, l, saBuf.slice(0, saLen[0]));
      flows.set(key, f);
      flowsById.set(f.id, f);
    }
    const now = performance.now();
    if (f.peer && !f.slow && f.held.length === 0 && now - f.last < f.timeoutMs - UDP_MARGIN_MS) {
      f.last = now;
      outbox.push(W_IN, f.ref, f.id, 0, n);
      S.write(f.peer.fd, buf, n); // a full socket buffer drops it, as a full link would
    } else {
      f.last = now;
      f.held.push(Uint8Array.prototype.slice.call(buf, 0, n)); // a copy: buf is reused
      outbox.push(W_UDP, f.id, l.svcId, cport, a.w0, a.w1, a.w2, a.w3, n);
      urgent = true;
    }
  }
}

function openPeer(f: Flow, host: string, port: number, counted: boolean, key: string): Peer | null {
  const sa = target(host, port);
  const fd = S.socket(sa.length === 28 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return null;
  own(fd);
  if (S.connect(fd, sa, sa.length) < 0) {
    closeOwned(fd);
    return null;
  }
  const p = new Peer(fd, f, counted, key);
  byFd[fd] = p;
  ctl(fd, EPOLLIN | EPOLLET);
  return p;
}

function closePeer(p: Peer): void {
  byFd[p.fd] = null;
  closeOwned(p.fd);
}

/** Replies from a real server go back to the flow's client from the service's socket. */
function replies(p: Peer): void {
  const f = p.flow;
  for (let k = 0; k < 4096; k++) {
    const n = S.read(p.fd, buf, BUF_SIZE);
    if (n < 0) {
      if (S.errno() === EAGAIN) return;
      continue; // an ICMP error (the real server's port is closed) is reported once
    }
    p.used = performance.now();
    if (p.counted) outbox.push(W_OUT, f.ref, f.id, 0, n);
    S.sendto(f.l.fd, buf, n, f.csa, f.csa.length);
  }
}

/** The core's verdict for the flow's oldest held datagram. */
function udecide(id: number, ref: number, host: string, port: number, ops: number, ms: number): void {
  const f = flowsById.get(id);
  if (!f) return;
  f.timeoutMs = ms;
  const d = f.held.shift();
  if (d && ref >= 0 && ops) {
    const k = `${host}|${port}`;
    f.ops ??= new Map();
    let p: Peer | null | undefined = f.ops.get(k);
    if (!p) {
      p = openPeer(f, host, port, false, k);
      if (p) f.ops.set(k, p);
      opsFlows.add(f);
    }
    if (p) {
      p.used = performance.now();
      S.write(p.fd, d, d.length);
    }
  } else if (d && ref >= 0) {
    f.slow = false;
    if (f.ref !== ref || !f.peer) {
      if (f.peer) closePeer(f.peer);
      f.ref = ref;
      f.peer = openPeer(f, host, port, true, '');
    }
    if (f.peer) S.write(f.peer.fd, d, d.length);
  }
  gc(f);
}

/** The core expired the flow's conn: its socket closes, and a next datagram asks again. */
function uforget(id: number, ref: number): void {
  const f = flowsById.get(id);
  if (!f || f.ref !== ref) return;
  if (f.peer) closePeer(f.peer);
  f.peer = null;
  f.ref = -1;
  f.slow = false;
  gc(f);
}

/** Forgets a flow with no conn, no held datagram and no one-packet socket. */
function gc(f: Flow): void {
  if (f.ref >= 0 || f.held.length || f.ops?.size) return;
  flows.delete(f.key);
  flowsById.delete(f.id);
  opsFlows.delete(f);
}

function closeFlow(f: Flow): void {
  if (f.peer) closePeer(f.peer);
  for (const p of f.ops?.values() ?? []) closePeer(p);
  flows.delete(f.key);
  flowsById.delete(f.id);
  opsFlows.delete(f);
  if (f.ref >= 0) outbox.push(W_CLOSED, f.ref, f.id);
}

/** One-packet sockets idle out after the UDP timeout, as on the daemon's thread. */
function sweepOps(now: number): void {
  for (const f of opsFlows) {
    for (const [k, p] of f.ops!) {
      if (now - p.used < f.timeoutMs) continue;
      closePeer(p);
      f.ops!.delete(k);
    }
    if (f.ops!.size === 0) {
      opsFlows.delete(f);
      gc(f);
    }
  }
}

function proxyHeader(c: Conn, pp: number): Uint8Array {
  saLen[0] = 28;
  S.getsockname(c.fd[0]!, saBuf, saLen);
  const local = sockAddr();
  const lport = (saBuf[2]! << 8) | saBuf[3]!;
  return (pp === 1 ? proxyV1 : proxyV2)(c.caddr.toString(), c.cport, local.toString(), lport);
}

function connectFailed(c: Conn, e: number): void {
  const refused = e === ECONNREFUSED;
  outbox.push(W_DROP, refused ? 'dest-refused' : 'dest-error');
  outbox.push(W_HEALTH, c.ref, c.id, refused ? 'refused' : 'error', errName(e));
  report(1, c, TCP_RST, 0);
  finish(c, true);
}

/** The real server's socket became writable (or failed, `failed`: then SO_ERROR says why). */
function connected(c: Conn, failed: boolean): void {
  intVal[0] = 0;
  intLen[0] = 4;
  if (failed) S.getsockopt(c.fd[1]!, SOL_SOCKET, SO_ERROR, intVal, intLen);
  const e = intVal[0]!; // 0 after a hang-up: connected, and the reads will tell the rest
  if (e !== 0) {
    connectFailed(c, e);
    return;
  }
  connecting.delete(c);
  c.connected = true;
  outbox.push(W_CONNECTED, c.ref, c.id);
  pump(c);
}

/** A read or write failed on `side`: that side reset the connection. */
function broken(c: Conn, side: number): void {
  report(side, c, TCP_RST, 0);
  finish(c, false);
}

/**
 * Writes the first `len` bytes of `data` to `side`; keeps what the socket did not take. False if
 * the conn broke. `last`: the FIN follows this data at once (move() half-closes, or finish()
 * closes), so the kernel is told to hold the segment for it: data and FIN leave as one segment,
 * and the peer acknowledges both with one ACK, two packets fewer per connection of a server
 * that answers and closes.
 */
function send(c: Conn, side: number, data: Uint8Array, len: number, copy: boolean, last = false): boolean {
  const n = last ? S.send(c.fd[side]!, data, len, MSG_MORE) : S.write(c.fd[side]!, data, len);
  if (n === len) {
    c.pend[side] = null;
    return true;
  }
  if (n < 0) {
    const e = S.errno();
    if (e !== EAGAIN && e !== EINTR) {
      broken(c, side);
      return false;
    }
  }
  const rest = data.subarray(Math.max(n, 0), len);
  c.pend[side] = copy ? Uint8Array.prototype.slice.call(rest) : rest;
  c.writable[side] = false;
  return true;
}

/** Moves what can be moved from side s to side 1-s. False if the conn is gone. */
function move(c: Conn, s: number): boolean {
  const d = 1 - s;
  const p = c.pend[d];
  if (p) {
    if (!c.writable[d]) return true;
    if (!send(c, d, p, p.length, false)) return false;
    if (c.pend[d]) return true;
  }
  /** The last data went with MSG_MORE: the kernel holds it until the FIN. */
  let corked = false;
  while (c.readable[s] && !c.eof[s]) {
    const fin = c.fin[s] === true;
    const n = S.read(c.fd[s]!, buf, BUF_SIZE);
    if (n > 0) {
      // Edge-triggered: a short read drained the socket, and new data will raise a new edge;
      // unless the peer hung up, whose EOF is still to be read.
      if (n < BUF_SIZE && !c.hup[s]) c.readable[s] = false;
      report(s, c, TCP_ACK, n);
      // A FIN is queued after all the data it ends: when it had arrived before a read that
      // came back short, that read took the last byte, and the read that would return 0 is
      // saved (as with a server that answers and closes, when its FIN is in before the read).
      const last = fin && n < BUF_SIZE;
      if (last) {
        c.eof[s] = true;
        report(s, c, TCP_FIN | TCP_ACK, 0);
      }
      if (!send(c, d, buf, n, true, last)) return false;
      if (c.pend[d]) return true;
      corked = last;
    } else if (n === 0) {
      c.eof[s] = true;
      report(s, c, TCP_FIN | TCP_ACK, 0);
    } else {
      const e = S.errno();
      if (e === EAGAIN) c.readable[s] = false;
      else if (e !== EINTR) {
        broken(c, s);
        return false;
      }
    }
  }
  if (c.eof[s] && !c.shut[d]) {
    if (c.eof[d] && c.shut[s] && !c.pend[s]) {
      // Both directions are done: close() sends d its FIN, no shutdown needed.
      finish(c, false);
      return false;
    }
    c.shut[d] = true;
    // Held data waits for its FIN: send it now, not at the end of the loop turn.
    if (corked) S.shutdown(c.fd[d]!, SHUT_WR);
    else deferShutdown(c, d);
  }
  return true;
}

/**
 * Half-closes towards side d at the end of this loop turn or the next, not at once: when the
 * other side's EOF arrives meanwhile (a client that closes as soon as it has the response),
 * close() sends the FIN and the shutdown call is saved. The loop does not block while any wait.
 */
let shutNew: Conn[] = [];
let shutOld: Conn[] = [];

function deferShutdown(c: Conn, d: number): void {
  if (c.shutLater === 0) shutNew.push(c);
  c.shutLater |= 1 << d;
}

function shutdowns(list: Conn[]): void {
  for (const c of list) {
    if (!c.closed) for (let d = 0; d < 2; d++) if (c.shutLater & (1 << d)) S.shutdown(c.fd[d]!, SHUT_WR);
    c.shutLater = 0;
  }
}

function pump(c: Conn): void {
  if (!c.connected || c.closed) return;
  if (!move(c, 0) || !move(c, 1)) return;
  if (c.shut[0] && c.shut[1]) finish(c, false);
}

function onConnEvent(c: Conn, fd: number, events: number): void {
  const side = fd === c.fd[0] ? 0 : 1;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.readable[side] = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.hup[side] = true;
  if ((events & (EPOLLRDHUP | EPOLLERR)) === EPOLLRDHUP) c.fin[side] = true;
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) c.writable[side] = true;
  if (side === 1 && !c.connected) {
    if (events & (EPOLLERR | EPOLLHUP)) connected(c, true);
    else if (events & EPOLLOUT) connected(c, false);
    return;
  }
  pump(c);
}

function onMessages(): void {
  S.read(efd, efdBuf, 8);
  takeMessages();
}

/** Handles what the daemon's thread posted; returns whether there was anything. */
function takeMessages(): boolean {
  let any = false;
  for (let r = receiveMessageOnPort(inbox); r; r = receiveMessageOnPort(inbox)) {
    any = true;
    const m = r.message as Batch;
    for (let i = 0; i < m.length; ) {
      switch (m[i]) {
        case D_DECIDE:
          decide(m[i + 1] as number, m[i + 2] as number, m[i + 3] as string, m[i + 4] as number, m[i + 5] as number);
          i += 6;
          break;
        case D_PLAN: {
          const n = m[i + 5] as number;
          const ids: number[] = [];
          const sas: Uint8Array[] = [];
          const pps: number[] = [];
          for (let k = 0, j = i + 6; k < n; k++, j += 4) {
            ids.push(m[j] as number);
            sas.push(target(m[j + 1] as string, m[j + 2] as number));
            pps.push(m[j + 3] as number);
          }
          plans.set(m[i + 1] as number, new WorkerPlan(new Int32Array(m[i + 2] as SharedArrayBuffer), m[i + 3] as number, m[i + 4] as number, ids, sas, pps));
          i += 6 + 4 * n;
          break;
        }
        case D_NOPLAN:
          plans.delete(m[i + 1] as number);
          i += 2;
          break;
        case D_RESET: {
          const c = conns.get(m[i + 1] as number);
          if (c) {
            conns.delete(c.id); // the core never had it: no CLOSED
            finish(c, true);
          }
          i += 2;
          break;
        }
        case D_DESTROY: {
          const c = conns.get(m[i + 1] as number);
          if (c) {
            conns.delete(c.id); // the core forgot it: no CLOSED
            finish(c, false);
          }
          i += 2;
          break;
        }
        case D_LISTEN: {
          const l = new Listener(m[i + 1] as number, m[i + 2] as number);
          if (listeners.has(l.svcId)) unlisten(l.svcId);
          listeners.set(l.svcId, l);
          byFd[l.fd] = l;
          ctl(l.fd, EPOLLIN);
          i += 3;
          break;
        }
        case D_UNLISTEN:
          unlisten(m[i + 1] as number);
          i += 2;
          break;
        case D_ULISTEN: {
          const l = new UdpListener(m[i + 1] as number, m[i + 2] as number);
          if (udpListeners.has(l.svcId)) unlisten(l.svcId);
          udpListeners.set(l.svcId, l);
          byFd[l.fd] = l;
          ctl(l.fd, EPOLLIN | EPOLLET);
          receive(l); // datagrams may have queued before it was watched
          i += 3;
          break;
        }
        case D_UDECIDE:
          udecide(m[i + 1] as number, m[i + 2] as number, m[i + 3] as string, m[i + 4] as number, m[i + 5] as number, m[i + 6] as number);
          i += 7;
          break;
        case D_UFORGET:
          uforget(m[i + 1] as number, m[i + 2] as number);
          i += 3;
          break;
        case D_USLOW: {
          const f = flowsById.get(m[i + 1] as number);
          if (f) f.slow = true;
          i += 2;
          break;
        }
        case D_SETTLE:
          outbox.push(W_SETTLED, m[i + 1] as number);
          urgent = true;
          i += 2;
          break;
        case D_STOP:
          running = false;
          i += 1;
          break;
        default:
          throw new Error(`proxy worker: unknown message ${String(m[i])}`);
      }
    }
  }
  return any;
}

function unlisten(svcId: number): void {
  plans.delete(svcId);
  const u = udpListeners.get(svcId);
  if (u) {
    // As on the daemon's thread: the service's flows close with its socket.
    udpListeners.delete(svcId);
    for (const f of [...flows.values()]) if (f.l === u) closeFlow(f);
    byFd[u.fd] = null;
    S.close(u.fd);
  }
  const l = listeners.get(svcId);
  if (!l) return;
  listeners.delete(svcId);
  byFd[l.fd] = null;
  S.close(l.fd);
}

function checkDeadlines(now: number): void {
  for (const c of connecting) {
    if (c.deadline > now) continue;
    outbox.push(W_DROP, 'dest-timeout');
    outbox.push(W_HEALTH, c.ref, c.id, 'timeout', `no answer within ${CONNECT_TIMEOUT_MS} ms`);
    report(1, c, TCP_RST, 0);
    finish(c, true);
  }
}

/**
 * Events wait at most this long before they are sent: a message wakes the daemon's thread, so
 * the events of several loop turns share one; a new connection that waits for its decision, or
 * a SETTLE answer, is sent as soon as a turn finds nothing more to do. Events change counters
 * and states whose timeouts are seconds (and tsvsadm settles first), so 10 ms costs nothing to
 * see, and measured against 2 ms it saved 3-4 us of CPU per short connection (fewer wake-ups).
 */
const EVENT_DELAY_MS = 10;
let urgent = false;
let lastFlush = 0;
let lastSweep = 0;

function flush(): void {
  urgent = false;
  if (outbox.length === 0) return;
  up.postMessage(outbox);
  outbox = [];
}

byFd[efd] = null;
ctl(efd, EPOLLIN);
up.postMessage(['ready', efd]);

while (running) {
  // Dekker with the daemon's thread (which posts, then swaps `sleeping` to 0 and wakes us if it
  // was 1): either this look finds its message, or it sees 1 and writes the eventfd. A turn
  // that will not block (new connections to send) leaves the flag at 0: no eventfd needed.
  const mayBlock = !urgent && shutNew.length === 0 && shutOld.length === 0;
  if (mayBlock) Atomics.store(sleeping, 0, 1);
  const busy = takeMessages();
  const n = S.epollWait(ep, evbuf, MAX_EVENTS, busy || !mayBlock ? 0 : outbox.length ? EVENT_DELAY_MS : connecting.size ? 100 : 1000);
  if (mayBlock) Atomics.store(sleeping, 0, 0);
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
    const o = byFd[fd];
    if (o instanceof Conn) onConnEvent(o, fd, events);
    else if (o instanceof Listener) accept(o);
    else if (o instanceof Peer) replies(o);
    else if (o instanceof UdpListener) receive(o);
  }
  if (n === 0) {
    shutdowns(shutOld);
    shutdowns(shutNew);
    shutOld = [];
    shutNew = [];
  } else if (shutOld.length || shutNew.length) {
    shutdowns(shutOld);
    shutOld = shutNew;
    shutNew = [];
  }
  const now = performance.now();
  if (connecting.size) checkDeadlines(now);
  if (opsFlows.size && now - lastSweep >= 1000) {
    sweepOps(now);
    lastSweep = now;
  }
  // New connections are sent once a turn finds nothing more to do (an epoll_wait that does not
  // wait): under load one message then carries the connections of several turns, and each
  // message is a wake-up of the daemon's thread. At most EVENT_DELAY_MS later in any case.
  if ((urgent && n === 0) || now - lastFlush >= EVENT_DELAY_MS) {
    flush();
    lastFlush = now;
  }
}

for (const l of [...listeners.keys(), ...udpListeners.keys()]) unlisten(l);
for (const c of [...waiting.values(), ...conns.values()]) finish(c, false);
flush();
closeOwned(ep);
closeOwned(efd);
process.exit(0);
