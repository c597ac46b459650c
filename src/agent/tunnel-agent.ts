// `tsvs realserver decap`: the real server's end of a TUN dest, in user space, for hosts whose
// kernel cannot decapsulate (no ipip, ip6_tunnel, sit, ip_gre or fou module). It receives the
// director's encapsulated requests (raw sockets for protocols 4, 41 and 47 over IPv4 and IPv6,
// a UDP socket on the GUE port), checks them (decap.ts) and hands the inner packet to the local
// stack through a raw IPPROTO_RAW socket of its family: addressed to a VIP held on lo, it is
// delivered locally as if it had arrived there, and the reply leaves straight to the client,
// as VS/TUN wants.
//
// A raw socket bound to the tunnel protocol also keeps the kernel from answering the director
// with "protocol unreachable". Counters go to a JSON file (at most every 200 ms) for
// `realserver status`.

import { renameSync, writeFileSync } from 'node:fs';
import { AF_INET, AF_INET6, IPPROTO_RAW, MSG_DONTWAIT, POLLIN, SOCK_DGRAM, SOCK_RAW } from '../sys/constants.js';
import { check, libc } from '../sys/libc.js';
import { type DecapDrop, DecapResult, type DecapVips, decapsulate, type TunnelKind } from './decap.js';

const IPPROTO_IPIP = 4;
const IPPROTO_IPV6 = 41;
const IPPROTO_GRE = 47;
const POLL_MS = 100;
/** Datagrams handled per turn before the event loop (signals, timers) gets a say. */
const BATCH = 256;
const REPORT_MS = 200;
const SOCKADDR_IN6_LEN = 28;

export interface DecapCounters {
  tunnel: TunnelKind;
  port: number;
  received: number;
  delivered: number;
  /** Datagrams whose partial checksum (segments merged by GRO) was completed before delivery. */
  completed: number;
  drops: Partial<Record<DecapDrop, number>>;
}

function sockaddrIn(addr: number, port: number): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_INET, true);
  dv.setUint16(2, port, false);
  dv.setUint32(4, addr, false);
  return b;
}

function sockaddrIn6(port: number): Uint8Array {
  const b = new Uint8Array(SOCKADDR_IN6_LEN);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_INET6, true);
  dv.setUint16(2, port, false);
  return b;
}

export interface TunnelAgentOptions {
  kind: TunnelKind;
  /** UDP port for GUE. */
  port: number;
  vips: DecapVips;
  /** Where the counters are written. */
  countersFile: string;
}

/** One receiving socket: a raw IPv4 one hands over the outer header too. */
interface Rx {
  fd: number;
  outer4: boolean;
  /** The IP protocol a raw socket was opened for (ipip: 4 or 41). */
  proto: number;
}

export class TunnelAgent {
  private readonly rx: Rx[] = [];
  private tx4 = -1;
  private tx6 = -1;
  private readonly buf = new Uint8Array(65536);
  private readonly pfd: Uint8Array;
  private readonly dst4 = sockaddrIn(0, 0);
  private readonly dst6 = sockaddrIn6(0);
  private readonly res = new DecapResult();
  /** Views of `buf` from each inner offset seen (a handful): no allocation per datagram. */
  private readonly from: Uint8Array[] = [];
  private running = true;
  private timer: NodeJS.Timeout | null = null;
  private reported = -1;
  readonly counters: DecapCounters;

  constructor(private readonly o: TunnelAgentOptions) {
    this.counters = { tunnel: o.kind, port: o.port, received: 0, delivered: 0, completed: 0, drops: {} };
    try {
      this.open();
    } catch (e) {
      this.closeAll();
      throw e;
    }
    this.pfd = new Uint8Array(8 * this.rx.length);
    const dv = new DataView(this.pfd.buffer);
    this.rx.forEach((r, i) => {
      dv.setInt32(8 * i, r.fd, true);
      dv.setInt16(8 * i + 4, POLLIN, true);
    });
  }

  private open(): void {
    const c = libc();
    const hint = 'the tunnel agent needs CAP_NET_RAW (run as root)';
    const o = this.o;
    const v4 = o.vips.v4.size > 0;
    const v6 = o.vips.v6.length > 0;
    if (o.kind === 'gue') {
      // One dual-stack socket takes GUE over IPv4 (v4-mapped) and over IPv6.
      const fd = check('socket(udp6)', c.socket(AF_INET6, SOCK_DGRAM, 0));
      this.rx.push({ fd, outer4: false, proto: 0 });
      check(`bind(udp port ${o.port})`, c.bind(fd, sockaddrIn6(o.port), SOCKADDR_IN6_LEN), 'is another program using the GUE port?');
    } else {
      // The outer family is the real server's address family, which we do not know: listen on
      // both, for each inner family we serve.
      const protos = o.kind === 'gre' ? [IPPROTO_GRE] : [...(v4 ? [IPPROTO_IPIP] : []), ...(v6 ? [IPPROTO_IPV6] : [])];
      for (const p of protos) {
        this.rx.push({ fd: check(`socket(raw4, ${p})`, c.socket(AF_INET, SOCK_RAW, p), hint), outer4: true, proto: p });
        this.rx.push({ fd: check(`socket(raw6, ${p})`, c.socket(AF_INET6, SOCK_RAW, p), hint), outer4: false, proto: p });
      }
    }
    if (v4) this.tx4 = check('socket(raw4, IPPROTO_RAW)', c.socket(AF_INET, SOCK_RAW, IPPROTO_RAW), hint);
    if (v6) this.tx6 = check('socket(raw6, IPPROTO_RAW)', c.socket(AF_INET6, SOCK_RAW, IPPROTO_RAW), hint);
  }

  private closeAll(): void {
    const c = libc();
    for (const r of this.rx) c.close(r.fd);
    if (this.tx4 >= 0) c.close(this.tx4);
    if (this.tx6 >= 0) c.close(this.tx6);
  }

  start(): void {
    this.timer = setInterval(() => this.report(), REPORT_MS);
    this.report();
    setImmediate(this.loop);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.report();
    this.closeAll();
  }

  private readonly loop = (): void => {
    if (!this.running) return;
    const c = libc();
    let n = 0;
    for (const r of this.rx) {
      for (let k = 0; k < BATCH; k++) {
        const len = c.recv(r.fd, this.buf, this.buf.length, MSG_DONTWAIT);
        if (len < 0) break;
        this.handle(len, r);
        n++;
      }
    }
    if (n === 0) c.poll(this.pfd, this.rx.length, POLL_MS);
    setImmediate(this.loop);
  };

  private handle(len: number, rx: Rx): void {
    const k = this.counters;
    k.received++;
    const r = decapsulate(this.o.kind, this.buf, len, rx.outer4, this.o.vips, this.res, rx.proto);
    if (r.drop !== null) {
      this.drop(r.drop);
      return;
    }
    if (r.completed) k.completed++;
    const inner = (this.from[r.off] ??= this.buf.subarray(r.off));
    let sent: number;
    if (r.v6) {
      for (let i = 0; i < 16; i++) this.dst6[8 + i] = this.buf[r.off + 24 + i]!;
      sent = libc().sendto(this.tx6, inner, r.len, 0, this.dst6, SOCKADDR_IN6_LEN);
    } else {
      new DataView(this.dst4.buffer).setUint32(4, r.daddr, false);
      sent = libc().sendto(this.tx4, inner, r.len, 0, this.dst4, 16);
    }
    if (sent === r.len) k.delivered++;
    else this.drop('send_failed');
  }

  private drop(why: DecapDrop): void {
    const d = this.counters.drops;
    d[why] = (d[why] ?? 0) + 1;
  }

  private report(): void {
    const k = this.counters;
    const seen = k.received + k.delivered;
    if (seen === this.reported && this.running) return;
    this.reported = seen;
    // Written aside, then renamed over: `realserver status` reads it at any moment, and a file
    // caught truncated or half written read as "no tunnel agent runs" (a CI run saw it).
    const tmp = `${this.o.countersFile}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify(this.counters)}\n`);
      renameSync(tmp, this.o.countersFile);
    } catch {
      // The run directory went away (stop in progress): nothing to report to.
    }
  }
}
