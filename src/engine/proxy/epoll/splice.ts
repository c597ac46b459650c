// Splicing one proxied TCP connection between two non-blocking sockets, driven by edge-triggered
// epoll events: connect to the real server, copy both ways through one shared buffer with
// backpressure (what a socket does not take waits in the conn until it is writable again) and
// half-close, and report what happens as the synthesised TCP events the core's state machine
// wants (SpliceSink). No thread, channel or epoll set of its own: the loop (epoll-worker.ts)
// feeds it events, and a test can drive it over a socketpair.
//
// A half-close waits until the end of the loop turn or the next one (flushShutdowns): a client
// that closes as soon as it has its response sends its FIN in between, and close() then sends
// ours without a shutdown call. When the real server's FIN was already in before the read that
// took its last data, that data is sent with MSG_MORE and the half-close follows at once: data
// and FIN leave as one segment, and the peer acknowledges both with one ACK.

import { TCP_ACK, TCP_FIN, TCP_RST } from '../../../core/conn/tcp.js';
import type { Addr } from '../../../core/inet.js';
import {
  AF_INET,
  AF_INET6,
  EAGAIN,
  ECONNREFUSED,
  EINPROGRESS,
  EINTR,
  EMFILE,
  ENFILE,
  ENOTCONN,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  errnoName,
  IPPROTO_TCP,
  MSG_MORE,
  SHUT_WR,
  SO_ERROR,
  SO_LINGER,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_NODELAY,
} from '../../../sys/constants.js';
import type { Libc } from '../../../sys/libc.js';
import { SOCKADDR_IN6_LEN } from '../../../sys/sockaddr.js';
import type { DestHealth } from '../context.js';
import { CONNECT_TIMEOUT_MS } from '../pipe.js';
import type { Fds } from './fds.js';

/** One read buffer for every connection of a worker: data is written on at once. */
export const SPLICE_BUF_SIZE = 256 * 1024;

/** Where a conn's events go (the worker batches them for the daemon's thread). */
export interface SpliceSink {
  /** An event of side 0 (client → server, IN) or 1 (server → client, OUT). */
  event(side: number, c: Conn, ev: number, bytes: number): void;
  /** The real server accepted: its SYN+ACK, the client's ACK. */
  connected(c: Conn): void;
  /** Both sockets are closed: the last call for `c`. */
  closed(c: Conn): void;
  drop(reason: string): void;
  health(c: Conn, h: DestHealth, detail: string): void;
  /** Registers a new socket of `c` with the loop's epoll set; false if that failed. */
  watch(fd: number, c: Conn): boolean;
  /** No descriptor was left for a real server's socket: accept no more until some free up. */
  exhausted(): void;
}

/** One proxied connection. Side 0 is the client, side 1 the real server. */
export class Conn {
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
  /** The worker picked the dest from a plan: the core's ref is not known here (-1). */
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

const linger0 = new Int32Array([1, 0]);
const one = new Int32Array([1]);

export class Splicer {
  private readonly intVal = new Int32Array(2);
  private readonly intLen = new Int32Array(1);
  /** Conns waiting for their real server to accept, for the connect timeout. */
  readonly connecting = new Set<Conn>();
  private shutNew: Conn[] = [];
  private shutOld: Conn[] = [];

  constructor(
    private readonly S: Libc,
    private readonly fds: Fds<object>,
    private readonly sink: SpliceSink,
    /** The read buffer (SPLICE_BUF_SIZE bytes), shared with the worker's other users. */
    private readonly buf: Uint8Array = new Uint8Array(SPLICE_BUF_SIZE),
  ) {}

  /** Half-closes are waiting for the end of a loop turn: the loop must not block. */
  get shutdownsPending(): boolean {
    return this.shutNew.length > 0 || this.shutOld.length > 0;
  }

  /**
   * Connects `c` to the real server at `sa` (a sockaddr), with `header` (a PROXY header, or
   * null) as the first bytes it gets.
   */
  dial(c: Conn, sa: Uint8Array, header: Uint8Array | null): void {
    const { S } = this;
    const ufd = S.socket(sa.length === SOCKADDR_IN6_LEN ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ufd < 0) {
      this.connectFailed(c, S.errno());
      return;
    }
    this.fds.own(ufd, c);
    c.fd[1] = ufd;
    // The client's socket inherits TCP_NODELAY from its listener; without it, small writes to
    // the real server wait for ACKs (Nagle), so a failure is counted, not fatal.
    if (S.setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, one, 4) < 0) this.sink.drop('setsockopt-error');
    if (header) c.pend[1] = header;
    if (S.connect(ufd, sa, sa.length) < 0) {
      const e = S.errno();
      if (e !== EINPROGRESS) {
        this.connectFailed(c, e);
        return;
      }
    }
    if (!this.sink.watch(ufd, c)) {
      this.connectFailed(c, S.errno());
      return;
    }
    c.deadline = performance.now() + CONNECT_TIMEOUT_MS;
    this.connecting.add(c);
  }

  /**
   * The real server could not be reached. A lack of descriptors or memory here is the
   * director's, not the real server's: it is counted as `no-fd`, and the dest's health is not
   * touched.
   */
  private connectFailed(c: Conn, e: number): void {
    if (e === EMFILE || e === ENFILE) {
      this.sink.drop('no-fd');
      this.sink.exhausted();
    } else {
      const refused = e === ECONNREFUSED;
      this.sink.drop(refused ? 'dest-refused' : 'dest-error');
      this.sink.health(c, refused ? 'refused' : 'error', errnoName(e));
    }
    this.sink.event(1, c, TCP_RST, 0);
    this.finish(c, true);
  }

  /** Closes both sockets (the client's with a reset when `reset`) and reports CLOSED. */
  finish(c: Conn, reset: boolean): void {
    if (c.closed) return;
    c.closed = true;
    // A failed SO_LINGER leaves an orderly close: the client sees EOF instead of a reset.
    if (reset && this.S.setsockopt(c.fd[0]!, SOL_SOCKET, SO_LINGER, linger0, 8) < 0) this.sink.drop('setsockopt-error');
    for (const fd of c.fd) if (fd >= 0) this.fds.close(fd);
    this.connecting.delete(c);
    this.sink.closed(c);
  }

  /** Resets connections whose real server has not answered in time. */
  checkDeadlines(now: number): void {
    for (const c of this.connecting) {
      if (c.deadline > now) continue;
      this.sink.drop('dest-timeout');
      this.sink.health(c, 'timeout', `no answer within ${CONNECT_TIMEOUT_MS} ms`);
      this.sink.event(1, c, TCP_RST, 0);
      this.finish(c, true);
    }
  }

  /** An epoll event on one of `c`'s sockets. */
  onEvent(c: Conn, fd: number, events: number): void {
    const side = fd === c.fd[0] ? 0 : 1;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.readable[side] = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.hup[side] = true;
    if ((events & (EPOLLRDHUP | EPOLLERR)) === EPOLLRDHUP) c.fin[side] = true;
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) c.writable[side] = true;
    if (side === 1 && !c.connected) {
      if (events & (EPOLLERR | EPOLLHUP)) this.connectDone(c, true);
      else if (events & EPOLLOUT) this.connectDone(c, false);
      return;
    }
    this.pump(c);
  }

  /** Marks `c` connected without a connect (its real-server socket is already connected). */
  attach(c: Conn, sfd: number): void {
    c.fd[1] = sfd;
    c.connected = true;
    c.writable[1] = true;
  }

  /** The real server's socket became writable (or failed, `failed`: SO_ERROR says why). */
  private connectDone(c: Conn, failed: boolean): void {
    const { intVal, intLen } = this;
    intVal[0] = 0;
    intLen[0] = 4;
    if (failed && this.S.getsockopt(c.fd[1]!, SOL_SOCKET, SO_ERROR, intVal, intLen) < 0) intVal[0] = this.S.errno();
    const e = intVal[0]!; // 0 after a hang-up: connected, and the reads will tell the rest
    if (e !== 0) {
      this.connectFailed(c, e);
      return;
    }
    this.connecting.delete(c);
    c.connected = true;
    this.sink.connected(c);
    this.pump(c);
  }

  pump(c: Conn): void {
    if (!c.connected || c.closed) return;
    if (!this.move(c, 0) || !this.move(c, 1)) return;
    if (c.shut[0] && c.shut[1]) this.finish(c, false);
  }

  /** A read or write failed on `side`: that side reset the connection. */
  private broken(c: Conn, side: number): void {
    this.sink.event(side, c, TCP_RST, 0);
    this.finish(c, false);
  }

  /**
   * Writes the first `len` bytes of `data` to `side`; keeps what the socket did not take. False
   * if the conn broke. `last`: the FIN follows this data at once, so the kernel is told to hold
   * the segment for it (MSG_MORE).
   */
  private send(c: Conn, side: number, data: Uint8Array, len: number, copy: boolean, last: boolean): boolean {
    const { S } = this;
    const n = last ? S.send(c.fd[side]!, data, len, MSG_MORE) : S.write(c.fd[side]!, data, len);
    if (n === len) {
      c.pend[side] = null;
      return true;
    }
    if (n < 0) {
      const e = S.errno();
      if (e !== EAGAIN && e !== EINTR) {
        this.broken(c, side);
        return false;
      }
    }
    const rest = data.subarray(Math.max(n, 0), len);
    c.pend[side] = copy ? Uint8Array.prototype.slice.call(rest) : rest;
    c.writable[side] = false;
    return true;
  }

  /** Moves what can be moved from side s to side 1-s. False if the conn is gone. */
  private move(c: Conn, s: number): boolean {
    const { S, buf } = this;
    const d = 1 - s;
    const p = c.pend[d];
    if (p) {
      if (!c.writable[d]) return true;
      if (!this.send(c, d, p, p.length, false, false)) return false;
      if (c.pend[d]) return true;
    }
    /** The last data went with MSG_MORE: the kernel holds it until the FIN. */
    let corked = false;
    while (c.readable[s] && !c.eof[s]) {
      const fin = c.fin[s] === true;
      const n = S.read(c.fd[s]!, buf, SPLICE_BUF_SIZE);
      if (n > 0) {
        // Edge-triggered: a short read drained the socket, and new data will raise a new edge;
        // unless the peer hung up, whose EOF is still to be read.
        if (n < SPLICE_BUF_SIZE && !c.hup[s]) c.readable[s] = false;
        this.sink.event(s, c, TCP_ACK, n);
        // A FIN is queued after all the data it ends: when it had arrived before a read that
        // came back short, that read took the last byte, and the read that would return 0 is
        // saved.
        const last = fin && n < SPLICE_BUF_SIZE;
        if (last) {
          c.eof[s] = true;
          this.sink.event(s, c, TCP_FIN | TCP_ACK, 0);
        }
        if (!this.send(c, d, buf, n, true, last)) return false;
        if (c.pend[d]) return true;
        corked = last;
      } else if (n === 0) {
        c.eof[s] = true;
        this.sink.event(s, c, TCP_FIN | TCP_ACK, 0);
      } else {
        const e = S.errno();
        if (e === EAGAIN) c.readable[s] = false;
        else if (e !== EINTR) {
          this.broken(c, s);
          return false;
        }
      }
    }
    if (c.eof[s] && !c.shut[d]) {
      if (c.eof[d] && c.shut[s] && !c.pend[s]) {
        // Both directions are done: close() sends d its FIN, no shutdown needed.
        this.finish(c, false);
        return false;
      }
      c.shut[d] = true;
      // Held data waits for its FIN: send it now, not at the end of the loop turn.
      if (corked) this.shutdown(c, d);
      else this.deferShutdown(c, d);
    }
    return true;
  }

  /** ENOTCONN: the peer reset the connection meanwhile, which its socket's reads will tell. */
  private shutdown(c: Conn, d: number): void {
    if (this.S.shutdown(c.fd[d]!, SHUT_WR) < 0 && this.S.errno() !== ENOTCONN) this.sink.drop('shutdown-error');
  }

  private deferShutdown(c: Conn, d: number): void {
    if (c.shutLater === 0) this.shutNew.push(c);
    c.shutLater |= 1 << d;
  }

  private shutdowns(list: Conn[]): void {
    for (const c of list) {
      if (!c.closed) for (let d = 0; d < 2; d++) if (c.shutLater & (1 << d)) this.shutdown(c, d);
      c.shutLater = 0;
    }
  }

  /**
   * End of a loop turn: half-closes deferred in the turn before last go out now; with `idle`
   * (the turn found no events), all of them.
   */
  flushShutdowns(idle: boolean): void {
    if (idle) {
      this.shutdowns(this.shutOld);
      this.shutdowns(this.shutNew);
      this.shutOld = [];
      this.shutNew = [];
    } else if (this.shutOld.length || this.shutNew.length) {
      this.shutdowns(this.shutOld);
      this.shutOld = this.shutNew;
      this.shutNew = [];
    }
  }
}
