// UDP flows in an epoll worker. The kernel spreads a UDP service's datagrams over the workers'
// SO_REUSEPORT sockets by a hash of the address pair, so a client's flow (address and port)
// reaches one worker, which keeps the core's conn for it and a connected socket to its real
// server, but decides nothing: a datagram of a flow with no conn goes to the daemon's thread
// (FlowSink.ask) and is held until the core's verdict (verdict()); once the flow has its conn,
// its datagrams go straight to the real server and are reported as IN events, and replies go
// back to the client from the service's socket as OUT events.

import type { Addr } from '../../../core/inet.js';
import { AF_INET, AF_INET6, EAGAIN, EINTR, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from '../../../sys/constants.js';
import type { Libc } from '../../../sys/libc.js';
import { SOCKADDR_IN6_LEN } from '../../../sys/sockaddr.js';
import { sockaddrAddr, sockaddrPort } from '../addr.js';
import type { Fds } from './fds.js';

/** A UDP service's bound socket in this worker. */
export class UdpListener {
  constructor(
    readonly svcId: number,
    readonly fd: number,
  ) {}
}

/**
 * A UDP flow: one client address and port of one service. While its conn lives in the core
 * (`ref`), its datagrams go straight to the real server through `peer`; a new flow, a one-packet
 * service, a flow whose dest was deleted (`slow`) or one near its UDP timeout sends each
 * datagram to the core first and holds it until the verdict.
 */
export class Flow {
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
export class Peer {
  used = 0;
  constructor(
    readonly fd: number,
    readonly flow: Flow,
    /** Replies are counted (the flow's conn); not for one-packet conns, as in the kernel. */
    readonly counted: boolean,
    readonly key: string,
  ) {}
}

/** What the flows tell the daemon's thread. */
export interface FlowSink {
  in(f: Flow, bytes: number): void;
  out(f: Flow, bytes: number): void;
  /** A datagram of `len` bytes from client:cport the core must see; held until verdict(). */
  ask(f: Flow, cport: number, client: Addr, len: number): void;
  /** The flow's conn is no longer served here. */
  closed(f: Flow): void;
  drop(reason: string): void;
  /** Registers a peer socket with the loop's epoll set; false if that failed. */
  watch(fd: number, p: Peer): boolean;
}

/**
 * A flow's datagrams skip the core only while its conn cannot have idled out there: the core
 * re-arms the UDP timeout when it applies the report, which is after the worker sent it, and
 * rounds to its 100 ms tick; this margin also covers a daemon's thread that is late.
 */
const UDP_MARGIN_MS = 1000;
/** Datagrams taken from one socket per event, so that one busy flow cannot starve the rest. */
const UDP_BATCH = 4096;

export class UdpFlows {
  private readonly flows = new Map<string, Flow>();
  private readonly byId = new Map<number, Flow>();
  /** Flows with one-packet sockets, which idle out here (there is no conn to expire them). */
  private readonly opsFlows = new Set<Flow>();
  private readonly targets = new Map<string, Uint8Array>();
  private readonly sa = new Uint8Array(SOCKADDR_IN6_LEN);
  private readonly saLen = new Int32Array(1);

  constructor(
    private readonly S: Libc,
    private readonly fds: Fds<object>,
    private readonly sink: FlowSink,
    private readonly buf: Uint8Array,
    /** The sockaddr of host:port (cached by the loop). */
    private readonly target: (host: string, port: number) => Uint8Array,
    /** A new id, unique among the worker's conns and flows. */
    private readonly newId: () => number,
  ) {}

  get hasOps(): boolean {
    return this.opsFlows.size > 0;
  }

  byFlowId(id: number): Flow | undefined {
    return this.byId.get(id);
  }

  /** Datagrams on a UDP service's socket: each goes to its flow's real server, or to the core. */
  receive(l: UdpListener): void {
    const { S, buf, sa, saLen } = this;
    for (let k = 0; k < UDP_BATCH; k++) {
      saLen[0] = SOCKADDR_IN6_LEN;
      const n = S.recvfrom(l.fd, buf, buf.length, 0, sa, saLen);
      if (n < 0) {
        const e = S.errno();
        if (e === EINTR) continue;
        if (e !== EAGAIN) this.sink.drop('udp-recv-error');
        return;
      }
      const a = sockaddrAddr(sa);
      const cport = sockaddrPort(sa);
      const key = `${l.svcId}:${a.w0}:${a.w1}:${a.w2}:${a.w3}:${cport}`;
      let f = this.flows.get(key);
      if (!f) {
        f = new Flow(this.newId(), key, l, sa.slice(0, saLen[0]));
        this.flows.set(key, f);
        this.byId.set(f.id, f);
      }
      const now = performance.now();
      if (f.peer && !f.slow && f.held.length === 0 && now - f.last < f.timeoutMs - UDP_MARGIN_MS) {
        f.last = now;
        this.sink.in(f, n);
        this.forward(f.peer.fd, buf, n);
      } else {
        f.last = now;
        f.held.push(buf.slice(0, n)); // a copy: buf is reused
        this.sink.ask(f, cport, a, n);
      }
    }
  }

  /** A full socket buffer drops the datagram, as a full link would; counted. */
  private forward(fd: number, d: Uint8Array, n: number): void {
    if (this.S.write(fd, d, n) < 0) this.sink.drop(this.S.errno() === EAGAIN ? 'udp-dest-busy' : 'udp-send-error');
  }

  private openPeer(f: Flow, host: string, port: number, counted: boolean, key: string): Peer | null {
    const { S } = this;
    const sa = this.target(host, port);
    const fd = S.socket(sa.length === SOCKADDR_IN6_LEN ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      this.sink.drop('udp-no-socket');
      return null;
    }
    const p = new Peer(fd, f, counted, key);
    this.fds.own(fd, p);
    if (S.connect(fd, sa, sa.length) < 0 || !this.sink.watch(fd, p)) {
      this.sink.drop('udp-no-socket');
      this.fds.close(fd);
      return null;
    }
    return p;
  }

  private closePeer(p: Peer): void {
    this.fds.close(p.fd);
  }

  /** Replies from a real server go back to the flow's client from the service's socket. */
  replies(p: Peer): void {
    const { S, buf } = this;
    const f = p.flow;
    for (let k = 0; k < UDP_BATCH; k++) {
      const n = S.read(p.fd, buf, buf.length);
      if (n < 0) {
        if (S.errno() === EAGAIN) return;
        continue; // an ICMP error (the real server's port is closed) is reported once
      }
      p.used = performance.now();
      if (p.counted) this.sink.out(f, n);
      if (S.sendto(f.l.fd, buf, n, 0, f.csa, f.csa.length) < 0) this.sink.drop(S.errno() === EAGAIN ? 'udp-client-busy' : 'udp-send-error');
    }
  }

  /** The core's verdict for the flow's oldest held datagram. */
  verdict(id: number, ref: number, host: string, port: number, ops: number, ms: number): void {
    const f = this.byId.get(id);
    if (!f) return;
    f.timeoutMs = ms;
    const d = f.held.shift();
    if (d && ref >= 0 && ops) {
      const k = `${host}|${port}`;
      f.ops ??= new Map();
      let p: Peer | null | undefined = f.ops.get(k);
      if (!p) {
        p = this.openPeer(f, host, port, false, k);
        if (p) f.ops.set(k, p);
        this.opsFlows.add(f);
      }
      if (p) {
        p.used = performance.now();
        this.forward(p.fd, d, d.length);
      }
    } else if (d && ref >= 0) {
      f.slow = false;
      if (f.ref !== ref || !f.peer) {
        if (f.peer) this.closePeer(f.peer);
        f.ref = ref;
        f.peer = this.openPeer(f, host, port, true, '');
      }
      if (f.peer) this.forward(f.peer.fd, d, d.length);
    }
    this.gc(f);
  }

  /** The core expired the flow's conn: its socket closes, and a next datagram asks again. */
  forget(id: number, ref: number): void {
    const f = this.byId.get(id);
    if (!f || f.ref !== ref) return;
    if (f.peer) this.closePeer(f.peer);
    f.peer = null;
    f.ref = -1;
    f.slow = false;
    this.gc(f);
  }

  /** The flow's dest was deleted: every datagram goes through the core again. */
  slow(id: number): void {
    const f = this.byId.get(id);
    if (f) f.slow = true;
  }

  /** Forgets a flow with no conn, no held datagram and no one-packet socket. */
  private gc(f: Flow): void {
    if (f.ref >= 0 || f.held.length || f.ops?.size) return;
    this.flows.delete(f.key);
    this.byId.delete(f.id);
    this.opsFlows.delete(f);
  }

  private closeFlow(f: Flow): void {
    if (f.peer) this.closePeer(f.peer);
    for (const p of f.ops?.values() ?? []) this.closePeer(p);
    this.flows.delete(f.key);
    this.byId.delete(f.id);
    this.opsFlows.delete(f);
    if (f.ref >= 0) this.sink.closed(f);
  }

  /** The service's socket closes: so do its flows, as on the daemon's thread. */
  closeService(l: UdpListener): void {
    for (const f of [...this.flows.values()]) if (f.l === l) this.closeFlow(f);
  }

  /** One-packet sockets idle out after the UDP timeout, as on the daemon's thread. */
  sweepOps(now: number): void {
    for (const f of this.opsFlows) {
      for (const [k, p] of f.ops!) {
        if (now - p.used < f.timeoutMs) continue;
        this.closePeer(p);
        f.ops!.delete(k);
      }
      if (f.ops!.size === 0) {
        this.opsFlows.delete(f);
        this.gc(f);
      }
    }
  }
}
