// `tsvs realserver decap`: the real server's end of a TUN dest, in user space, for hosts whose
// kernel cannot decapsulate (no ipip, ip_gre or fou module). It receives the director's
// encapsulated requests (a raw IPv4 socket for protocol 4 or 47, a UDP socket on the GUE port),
// checks them (decap.ts) and hands the inner packet to the local stack through a raw
// IPPROTO_RAW socket: addressed to a VIP held on lo, it is delivered locally as if it had
// arrived there, and the reply leaves straight to the client, as VS/TUN wants.
//
// A raw socket bound to the tunnel protocol also keeps the kernel from answering the director
// with "protocol unreachable". Counters go to a JSON file (at most every 200 ms) for `realserver status`.

import { writeFileSync } from 'node:fs';
import { check, libc } from '../engine/packet/libc.js';
import { type DecapDrop, DecapResult, decapsulate, type TunnelKind } from './decap.js';

const AF_INET = 2;
const SOCK_RAW = 3;
const SOCK_DGRAM = 2;
const IPPROTO_IPIP = 4;
const IPPROTO_GRE = 47;
const IPPROTO_RAW = 255;
const MSG_DONTWAIT = 0x40;
const POLLIN = 1;
const POLL_MS = 100;
/** Datagrams handled per turn before the event loop (signals, timers) gets a say. */
const BATCH = 256;
const REPORT_MS = 200;

export interface DecapCounters {
  tunnel: TunnelKind;
  port: number;
  received: number;
  delivered: number;
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

export interface TunnelAgentOptions {
  kind: TunnelKind;
  /** UDP port for GUE. */
  port: number;
  vips: number[];
  /** Where the counters are written. */
  countersFile: string;
}

export class TunnelAgent {
  private readonly rxFd: number;
  private readonly txFd: number;
  private readonly buf = new Uint8Array(65536);
  private readonly pfd = new Uint8Array(8);
  private readonly dst = sockaddrIn(0, 0);
  private readonly res = new DecapResult();
  /** Views of `buf` from each inner offset seen (a handful): no allocation per datagram. */
  private readonly from: Uint8Array[] = [];
  private readonly vips: Set<number>;
  private running = true;
  private timer: NodeJS.Timeout | null = null;
  readonly counters: DecapCounters;

  constructor(private readonly o: TunnelAgentOptions) {
    const c = libc();
    this.vips = new Set(o.vips);
    this.counters = { tunnel: o.kind, port: o.port, received: 0, delivered: 0, drops: {} };
    const hint = 'the tunnel agent needs CAP_NET_RAW (run as root)';
    if (o.kind === 'gue') {
      this.rxFd = check('socket(udp)', c.socket(AF_INET, SOCK_DGRAM, 0));
      const rc = c.bind(this.rxFd, sockaddrIn(0, o.port), 16);
      if (rc < 0) {
        c.close(this.rxFd);
        check(`bind(udp port ${o.port})`, rc, 'is another program using the GUE port?');
      }
    } else {
      const proto = o.kind === 'gre' ? IPPROTO_GRE : IPPROTO_IPIP;
      this.rxFd = check(`socket(raw, ${o.kind})`, c.socket(AF_INET, SOCK_RAW, proto), hint);
    }
    const tx = c.socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (tx < 0) c.close(this.rxFd);
    this.txFd = check('socket(raw, IPPROTO_RAW)', tx, hint);
    const dv = new DataView(this.pfd.buffer);
    dv.setInt32(0, this.rxFd, true);
    dv.setInt16(4, POLLIN, true);
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
    const c = libc();
    c.close(this.rxFd);
    c.close(this.txFd);
  }

  private readonly loop = (): void => {
    if (!this.running) return;
    const c = libc();
    let n = 0;
    for (; n < BATCH; n++) {
      const len = c.recv(this.rxFd, this.buf, this.buf.length, MSG_DONTWAIT);
      if (len < 0) break;
      this.handle(len);
    }
    if (n === 0) c.poll(this.pfd, 1, POLL_MS);
    setImmediate(this.loop);
  };

  private handle(len: number): void {
    const k = this.counters;
    k.received++;
    const r = decapsulate(this.o.kind, this.buf, len, this.vips, this.res);
    if (r.drop !== null) {
      this.drop(r.drop);
      return;
    }
    new DataView(this.dst.buffer).setUint32(4, r.daddr, false);
    const inner = (this.from[r.off] ??= this.buf.subarray(r.off));
    const sent = libc().sendtoAddr(this.txFd, inner, r.len, 0, this.dst, 16);
    if (sent === r.len) k.delivered++;
    else this.drop('send_failed');
  }

  private drop(why: DecapDrop): void {
    const d = this.counters.drops;
    d[why] = (d[why] ?? 0) + 1;
  }

  private reported = -1;

  private report(): void {
    const k = this.counters;
    const seen = k.received + k.delivered;
    if (seen === this.reported && this.running) return;
    this.reported = seen;
    try {
      writeFileSync(this.o.countersFile, `${JSON.stringify(this.counters)}\n`);
    } catch {
      // The run directory went away (stop in progress): nothing to report to.
    }
  }
}
