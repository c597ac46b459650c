// The epoll worker's splice (src/engine/proxy/epoll/splice.ts) over real sockets: two
// socketpairs stand for the client's and the real server's connections, a real epoll set in
// edge-triggered mode drives it as the worker's loop does, and the events it reports are the
// ones the core's state machine gets. No thread, no daemon, no root.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { TCP_ACK, TCP_FIN } from '../../../src/core/conn/tcp.js';
import { Addr } from '../../../src/core/inet.js';
import { Fds } from '../../../src/engine/proxy/epoll/fds.js';
import { Conn, SPLICE_BUF_SIZE, type SpliceSink, Splicer } from '../../../src/engine/proxy/epoll/splice.js';
import {
  AF_UNIX,
  EAGAIN,
  EPOLL_CTL_ADD,
  EPOLL_DATA_OFF,
  EPOLL_EVENT_SIZE,
  EPOLLET,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  SHUT_WR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
} from '../../../src/sys/constants.js';
import { type Libc, libcOrNull, libcFailure } from '../../../src/sys/libc.js';

const S = libcOrNull();
const skip = S ? false : `needs libc through koffi (${libcFailure()})`;
if (skip && process.env.CI === 'true') throw new Error(`splice test: ${skip}`);

const CONN_EVENTS = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

interface Ev {
  side: number;
  ev: number;
  bytes: number;
}

/** The loop in miniature around one conn: client c0 ⇄ [c1 | splice | s0] ⇄ s1 real server. */
class Rig {
  readonly events: Ev[] = [];
  readonly drops: string[] = [];
  closed = 0;
  readonly fds: Fds<object>;
  readonly splicer: Splicer;
  readonly conn: Conn;
  readonly c0: number;
  readonly s1: number;
  private readonly ep: number;
  private readonly evbuf = new Uint8Array(EPOLL_EVENT_SIZE * 16);
  private readonly open: number[] = [];

  constructor(private readonly L: Libc) {
    this.fds = new Fds<object>(L, new Uint32Array(1 << 10));
    const sink: SpliceSink = {
      event: (side, _c, ev, bytes) => this.events.push({ side, ev, bytes }),
      connected: () => {},
      closed: () => this.closed++,
      drop: (r) => this.drops.push(r),
      health: () => {},
      watch: (fd) => this.watch(fd),
      exhausted: () => this.drops.push('exhausted'),
    };
    this.splicer = new Splicer(L, this.fds, sink);
    this.ep = L.epollCreate();
    const [c0, c1] = this.pair();
    const [s0, s1] = this.pair();
    this.c0 = c0;
    this.s1 = s1;
    this.conn = new Conn(1, c1, Addr.parse('192.0.2.1')!, 40000);
    this.conn.ref = 7;
    this.fds.own(c1, this.conn);
    this.fds.own(s0, this.conn);
    this.splicer.attach(this.conn, s0);
    assert.ok(this.watch(c1) && this.watch(s0));
  }

  private pair(): [number, number] {
    const sv = new Int32Array(2);
    assert.equal(this.L.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    this.open.push(sv[0]!, sv[1]!);
    return [sv[0]!, sv[1]!];
  }

  private watch(fd: number): boolean {
    const e = new Uint8Array(EPOLL_EVENT_SIZE);
    const v = new DataView(e.buffer);
    v.setUint32(0, CONN_EVENTS >>> 0, true);
    v.setUint32(EPOLL_DATA_OFF, fd, true);
    return this.L.epollCtl(this.ep, EPOLL_CTL_ADD, fd, e) === 0;
  }

  /** One loop turn: the events epoll has, then the deferred half-closes of an idle turn. */
  turn(): number {
    const n = this.L.epollWait(this.ep, this.evbuf, 16, 0);
    const v = new DataView(this.evbuf.buffer);
    for (let i = 0; i < n; i++) {
      const fd = v.getUint32(i * EPOLL_EVENT_SIZE + EPOLL_DATA_OFF, true);
      const o = this.fds.byFd[fd];
      if (o instanceof Conn) this.splicer.onEvent(o, fd, v.getUint32(i * EPOLL_EVENT_SIZE, true));
    }
    this.splicer.flushShutdowns(n <= 0);
    return n;
  }

  write(fd: number, b: Uint8Array): number {
    const n = this.L.write(fd, b, b.length);
    return n < 0 && this.L.errno() === EAGAIN ? 0 : n;
  }

  /** Up to `max` bytes from fd: [] when none are waiting, null at EOF. */
  read(fd: number, max = 65536): Uint8Array | null {
    const b = new Uint8Array(max);
    const n = this.L.read(fd, b, max);
    if (n === 0) return null;
    if (n < 0) {
      assert.equal(this.L.errno(), EAGAIN);
      return new Uint8Array(0);
    }
    return b.subarray(0, n);
  }

  bytes(side: number): number {
    return this.events.filter((e) => e.side === side && e.ev === TCP_ACK).reduce((a, e) => a + e.bytes, 0);
  }

  /** The test's own end `fd` hangs up (closed once: a number closed twice may be reused). */
  hangUp(fd: number): void {
    this.hungUp.add(fd);
    assert.equal(this.L.close(fd), 0);
  }

  private readonly hungUp = new Set<number>();

  close(): void {
    this.L.close(this.ep);
    for (const fd of [this.c0, this.s1]) if (!this.hungUp.has(fd)) this.L.close(fd);
    for (const fd of this.open) if (fd !== this.c0 && fd !== this.s1 && this.fds.byFd[fd]) this.L.close(fd);
  }
}

describe('epoll splice over socketpairs', { skip }, () => {
  const rigs: Rig[] = [];
  const rig = () => {
    const r = new Rig(S!);
    rigs.push(r);
    return r;
  };
  after(() => {
    for (const r of rigs) r.close();
  });

  it('copies a request and a response, and reports them as ACKs with their bytes', () => {
    const r = rig();
    r.write(r.c0, new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n'));
    r.turn();
    assert.equal(new TextDecoder().decode(r.read(r.s1)!), 'GET / HTTP/1.0\r\n\r\n');
    r.write(r.s1, new TextEncoder().encode('HTTP/1.0 200 OK\r\n\r\nhi'));
    r.turn();
    assert.equal(new TextDecoder().decode(r.read(r.c0)!), 'HTTP/1.0 200 OK\r\n\r\nhi');
    assert.deepEqual(r.events, [
      { side: 0, ev: TCP_ACK, bytes: 18 },
      { side: 1, ev: TCP_ACK, bytes: 21 },
    ]);
    assert.deepEqual(r.drops, []);
  });

  it('8 MB to a slow client: backpressure holds the rest, every byte arrives in order', () => {
    const r = rig();
    const total = 8 << 20;
    const src = new Uint8Array(total).map((_, i) => (i * 7 + (i >>> 13)) & 255);
    let sent = 0;
    const got = createHash('sha256');
    let received = 0;
    for (let guard = 0; received < total && guard < 100_000; guard++) {
      if (sent < total) sent += r.write(r.s1, src.subarray(sent, Math.min(total, sent + 100_000)));
      r.turn();
      // The client reads less per turn than the splice's buffer holds: its socket fills up.
      const b = r.read(r.c0, 30_000);
      assert.ok(b, 'no EOF before the end');
      got.update(b);
      received += b.length;
    }
    assert.equal(received, total);
    assert.equal(got.digest('hex'), createHash('sha256').update(src).digest('hex'));
    assert.equal(r.bytes(1), total);
    assert.ok(SPLICE_BUF_SIZE < total);
  });

  it('half-close both ways: FINs reported in order, each peer reads EOF, then both sockets close', () => {
    const r = rig();
    r.write(r.c0, new Uint8Array([1, 2, 3]));
    assert.equal(S!.shutdown(r.c0, SHUT_WR), 0);
    for (let i = 0; i < 4; i++) r.turn();
    assert.deepEqual([...r.read(r.s1)!], [1, 2, 3]);
    assert.equal(r.read(r.s1), null, 'the real server reads EOF after the request');
    assert.equal(r.closed, 0, 'the response is still to come');
    r.write(r.s1, new Uint8Array([9, 9]));
    assert.equal(S!.shutdown(r.s1, SHUT_WR), 0);
    for (let i = 0; i < 4; i++) r.turn();
    assert.deepEqual([...r.read(r.c0)!], [9, 9]);
    assert.equal(r.read(r.c0), null, 'the client reads EOF after the response');
    assert.deepEqual(
      r.events.filter((e) => e.ev & TCP_FIN).map((e) => e.side),
      [0, 1],
    );
    assert.equal(r.closed, 1);
    assert.ok(r.conn.closed);
    assert.equal(r.fds.byFd[r.conn.fd[0]!], null);
    assert.equal(r.fds.byFd[r.conn.fd[1]!], null);
  });

  it('the real server hangs up at once: the client gets every byte, then EOF', () => {
    const r = rig();
    r.write(r.s1, new Uint8Array(5000).fill(42));
    r.hangUp(r.s1);
    for (let i = 0; i < 4; i++) r.turn();
    const b = r.read(r.c0, 10_000)!;
    assert.equal(b.length, 5000);
    assert.equal(r.read(r.c0), null);
    assert.deepEqual(r.drops, []);
  });
});
