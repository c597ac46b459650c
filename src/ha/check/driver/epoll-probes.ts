// The TCP_CHECK and HTTP_GET probe driver: every connect and GET exchange on raw non-blocking
// sockets in one epoll set, through the koffi libc binding (src/sys/libc.ts), on the daemon's
// thread. Node has no way to wake on an epoll descriptor, so while probes are in flight the set
// is polled without blocking every DRIVER_POLL_MS; with none in flight nothing runs. Per check:
// a handful of system calls and one small record, no Node socket or stream objects (those were
// the checkers' whole CPU cost: docs/keepalived.md, "Checker CPU").
// Semantics are the Node probes' (tcp.ts, http.ts): connect_timeout bounds the whole probe; a
// GET reads to end of file, at most MAX_HTTP_REPLY bytes, and is judged by judgeReply().
import {
  EAGAIN,
  EINPROGRESS,
  EINTR,
  EPOLL_CTL_ADD,
  EPOLL_CTL_MOD,
  EPOLL_DATA_OFF,
  EPOLL_EVENT_SIZE,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  errnoName,
  SO_ERROR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
} from '../../../sys/constants.js';
import type { Libc } from '../../../sys/libc.js';
import type { ProbeResult } from '../probe.js';
import { DRIVER_MAX_EVENTS, DRIVER_POLL_MS, DRIVER_READ_BUF, MAX_HTTP_REPLY } from '../constants.js';
import type { Target } from './target.js';

/** send(): no SIGPIPE on a reset connection (<sys/socket.h>); only this driver uses it. */
const MSG_NOSIGNAL = 0x4000;

const CONNECTING = 0;
const SENDING = 1;
const READING = 2;

/** One probe in flight. */
class Pending {
  state = CONNECTING;
  sent = 0;
  size = 0;
  readonly chunks: Buffer[] = [];
  constructor(
    readonly fd: number,
    readonly deadline: number,
    /** The GET request's bytes; null for TCP_CHECK (success is the connection itself). */
    readonly request: Uint8Array | null,
    readonly timeoutDetail: string,
    readonly judge: ((reply: Buffer) => ProbeResult) | null,
    readonly resolve: (r: ProbeResult) => void,
  ) {}
}

/** Counters of the driver, for tests and the log. */
export interface DriverStats {
  /** Probes taken (those that failed at socket, bind or connect too). */
  started: number;
  inFlight: number;
  /** Probes ended by connect_timeout. */
  timeouts: number;
  /** System calls of the driver's own (epoll_ctl, close) that failed; the probe fails with them. */
  syscallErrors: number;
}

export class EpollProbes {
  private readonly ep: number;
  private readonly byFd: (Pending | null)[] = [];
  private readonly inFlight = new Set<Pending>();
  private readonly evbuf = new Uint8Array(EPOLL_EVENT_SIZE * DRIVER_MAX_EVENTS);
  private readonly evview = new DataView(this.evbuf.buffer);
  private readonly evOne = new Uint8Array(EPOLL_EVENT_SIZE);
  private readonly evOneView = new DataView(this.evOne.buffer);
  private readonly readBuf = new Uint8Array(DRIVER_READ_BUF);
  private readonly intVal = new Int32Array(1);
  private readonly intLen = new Int32Array(1);
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  readonly stats: DriverStats = { started: 0, inFlight: 0, timeouts: 0, syscallErrors: 0 };

  /** Throws when the epoll set cannot be made (the caller falls back to Node's sockets). */
  constructor(
    private readonly S: Libc,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.ep = S.epollCreate();
    if (this.ep < 0) throw new Error(`epoll_create1 failed: ${errnoName(S.errno())}`);
  }

  /** Closes the epoll set once the probes in flight end; no new probe may start after. */
  close(): void {
    this.closing = true;
    if (this.inFlight.size === 0) this.closeSet();
  }

  private closeSet(): void {
    if (this.S.close(this.ep) < 0) this.stats.syscallErrors++;
  }

  /** TCP_CHECK: ok once the connection completes within `timeoutMs`. */
  tcp(t: Target, timeoutMs: number): Promise<ProbeResult> {
    return this.start(t, timeoutMs, null, `no connection within ${timeoutMs} ms`, null);
  }

  /** One GET: `request` is sent on connect; the reply read to end of file goes to `judge`. */
  get(t: Target, timeoutMs: number, request: Uint8Array, judge: (reply: Buffer) => ProbeResult): Promise<ProbeResult> {
    return this.start(t, timeoutMs, request, `no complete reply within ${timeoutMs} ms`, judge);
  }

  private start(
    t: Target,
    timeoutMs: number,
    request: Uint8Array | null,
    timeoutDetail: string,
    judge: ((reply: Buffer) => ProbeResult) | null,
  ): Promise<ProbeResult> {
    const { S } = this;
    if (this.closing) return Promise.resolve({ ok: false, detail: 'probe driver closed' });
    this.stats.started++;
    const fd = S.socket(t.af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Promise.resolve({ ok: false, detail: `socket: ${errnoName(S.errno())}` });
    if (t.bind && S.bind(fd, t.bind, t.bind.length) < 0) return Promise.resolve(this.failFd(fd, 'bind'));
    if (S.connect(fd, t.sa, t.sa.length) < 0) {
      const e = S.errno();
      if (e !== EINPROGRESS) {
        this.closeFd(fd);
        return Promise.resolve({ ok: false, detail: errnoName(e) });
      }
    }
    this.evOneView.setUint32(0, EPOLLOUT, true);
    this.evOneView.setInt32(EPOLL_DATA_OFF, fd, true);
    if (S.epollCtl(this.ep, EPOLL_CTL_ADD, fd, this.evOne) < 0) {
      this.stats.syscallErrors++;
      return Promise.resolve(this.failFd(fd, 'epoll_ctl'));
    }
    return new Promise((resolve) => {
      const p = new Pending(fd, this.now() + timeoutMs, request, timeoutDetail, judge, resolve);
      this.byFd[fd] = p;
      this.inFlight.add(p);
      this.stats.inFlight = this.inFlight.size;
      if (!this.timer) this.arm();
    });
  }

  private failFd(fd: number, call: string): ProbeResult {
    const r = { ok: false, detail: `${call}: ${errnoName(this.S.errno())}` };
    this.closeFd(fd);
    return r;
  }

  private closeFd(fd: number): void {
    // close() on Linux frees the descriptor even when it reports an error.
    if (this.S.close(fd) < 0) this.stats.syscallErrors++;
  }

  private arm(): void {
    this.timer = setTimeout(() => this.poll(), DRIVER_POLL_MS);
  }

  /** One turn: the ready sockets' events, then the deadlines; again while probes remain. */
  private poll(): void {
    this.timer = null;
    const { S } = this;
    for (;;) {
      const n = S.epollWait(this.ep, this.evbuf, DRIVER_MAX_EVENTS, 0);
      if (n < 0) {
        if (S.errno() === EINTR) continue;
        this.stats.syscallErrors++;
        break;
      }
      for (let i = 0; i < n; i++) {
        const off = i * EPOLL_EVENT_SIZE;
        const ev = this.evview.getUint32(off, true);
        const p = this.byFd[this.evview.getInt32(off + EPOLL_DATA_OFF, true)];
        if (p) this.onEvent(p, ev);
      }
      if (n < DRIVER_MAX_EVENTS) break;
    }
    const now = this.now();
    for (const p of this.inFlight) {
      if (now >= p.deadline) {
        this.stats.timeouts++;
        this.finish(p, { ok: false, detail: p.timeoutDetail });
      }
    }
    if (this.inFlight.size > 0) this.arm();
  }

  private onEvent(p: Pending, ev: number): void {
    if (p.state === CONNECTING) {
      // An error or hang-up may come with EPOLLOUT; SO_ERROR tells a refused or reset connect
      // from one that completed (and was closed by the server since: still a connection).
      const e = ev & (EPOLLERR | EPOLLHUP) || !(ev & EPOLLOUT) ? this.soError(p.fd) : 0;
      if (e !== 0 || !(ev & EPOLLOUT)) return this.finish(p, { ok: false, detail: e ? errnoName(e) : 'connect failed' });
      if (!p.request) return this.finish(p, { ok: true, detail: 'connected' });
      p.state = SENDING;
    }
    if (p.state === SENDING) return this.send(p);
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) this.read(p);
  }

  /** The socket's pending error (SO_ERROR), or the errno of getsockopt itself. */
  private soError(fd: number): number {
    const { S } = this;
    this.intLen[0] = 4;
    return S.getsockopt(fd, SOL_SOCKET, SO_ERROR, this.intVal, this.intLen) < 0 ? S.errno() : (this.intVal[0] ?? 0);
  }

  private send(p: Pending): void {
    const { S } = this;
    const req = p.request!;
    while (p.sent < req.length) {
      // MSG_NOSIGNAL: a server that reset the connection is a failed check, never a SIGPIPE.
      const rc = S.send(p.fd, p.sent === 0 ? req : req.subarray(p.sent), req.length - p.sent, MSG_NOSIGNAL);
      if (rc < 0) {
        const e = S.errno();
        if (e === EAGAIN) return; // EPOLLOUT again when there is room
        if (e === EINTR) continue;
        return this.finish(p, { ok: false, detail: errnoName(e) });
      }
      p.sent += rc;
    }
    p.state = READING;
    this.evOneView.setUint32(0, EPOLLIN, true);
    this.evOneView.setInt32(EPOLL_DATA_OFF, p.fd, true);
    if (S.epollCtl(this.ep, EPOLL_CTL_MOD, p.fd, this.evOne) < 0) {
      this.stats.syscallErrors++;
      this.finish(p, { ok: false, detail: `epoll_ctl: ${errnoName(S.errno())}` });
    }
  }

  private read(p: Pending): void {
    const { S } = this;
    for (;;) {
      const rc = S.read(p.fd, this.readBuf, this.readBuf.length);
      if (rc > 0) {
        p.size += rc;
        if (p.size > MAX_HTTP_REPLY) return this.finish(p, { ok: false, detail: `reply over ${MAX_HTTP_REPLY} bytes` });
        p.chunks.push(Buffer.from(this.readBuf.subarray(0, rc)));
        continue;
      }
      if (rc === 0) {
        const reply = p.chunks.length === 1 ? p.chunks[0]! : Buffer.concat(p.chunks, p.size);
        return this.finish(p, p.judge!(reply));
      }
      const e = S.errno();
      if (e === EAGAIN) return;
      if (e === EINTR) continue;
      return this.finish(p, { ok: false, detail: errnoName(e) });
    }
  }

  /** Ends a probe: its socket closed (which also takes it out of the epoll set), its promise resolved. */
  private finish(p: Pending, r: ProbeResult): void {
    if (this.byFd[p.fd] !== p) return;
    this.byFd[p.fd] = null;
    this.inFlight.delete(p);
    this.stats.inFlight = this.inFlight.size;
    this.closeFd(p.fd);
    if (this.closing && this.inFlight.size === 0) this.closeSet();
    p.resolve(r);
  }
}
