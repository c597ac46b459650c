// A paced UDP frame generator on the packet engine's own TX queue (sendmmsg), sent at PPS for
// DURATION ms. Runs inside the generator namespace.
// argv: dev dstMac srcMac saddr daddr dport payloadBytes pps durationMs flows [order]
// Without `order`: prebuilt frames for `flows` source ports of saddr, in turn.
// With `order` (seq or scatter): a flow space of `flows` clients, flow f being address
// saddr + ⌊f / SPACE_PORTS⌋ and port SPACE_PORT_BASE + f mod SPACE_PORTS, written into one frame
// per packet (the checksums updated incrementally): `seq` visits flows 0, 1, 2, … once each (to
// fill a director's conn table; it sends all of them at `pps`, however long that takes, and
// ignores the duration), `scatter` visits them in a stride order from a random start,
// so that consecutive frames hit conns far apart in the table (established flows, cold conns).
// With TSVS_BENCH_GEN_SLEEPY=1 it sleeps GEN_SLEEP_US whenever it is ahead of its schedule,
// instead of spinning, so that its core's other work can be measured (packet-cpu.ts).
// Prints {"sent","txSent","txDropped","t0","t1"}: t0 and t1 bound the sending, CLOCK_MONOTONIC ns.
import { performance } from 'node:perf_hooks';
import { Addr } from '../src/core/inet.js';
import { TxQueue } from '../src/engine/packet/tx.js';
import { csumReplace16, csumReplace32 } from '../src/wire/csum.js';
import { parseMac } from '../src/wire/eth.js';
import { SPACE_PORT_BASE, SPACE_PORTS, SPACE_STRIDE } from './packet-flows.js';
import { udpFrame } from './udp-frame.js';

const [dev, dstMac, srcMac, sIp, dIp, dportArg, sizeArg, ppsArg, durArg, flowsArg, order] = process.argv.slice(2);
const saddr = Addr.parse4(sIp!)!.w0;
const daddr = Addr.parse4(dIp!)!.w0;
const dport = Number(dportArg);
const size = Number(sizeArg);
const pps = Number(ppsArg);
const dur = Number(durArg);
const flows = Number(flowsArg);

const dst = parseMac(dstMac!)!;
const src = parseMac(srcMac!)!;
const tx = TxQueue.open({ ifname: dev!, batch: 64 });

/** Offsets in an Ethernet/IPv4/UDP frame. */
const IP_SADDR = 26;
const IP_CSUM = 24;
const UDP_SPORT = 34;
const UDP_CSUM = 40;

const frames = order ? [] : Array.from({ length: flows }, (_, i) => udpFrame(dst, src, saddr, daddr, 20000 + i, dport, size));
const one = udpFrame(dst, src, saddr, daddr, SPACE_PORT_BASE, dport, size);
let curAddr = saddr;
let curPort = SPACE_PORT_BASE;
let f = order === 'scatter' ? Math.floor(Math.random() * flows) : 0;
const step = order === 'scatter' ? SPACE_STRIDE % flows : 1;

/** Rewrites `one` to flow `f`'s source address and port. */
function toFlow(flow: number): void {
  const a = (saddr + Math.floor(flow / SPACE_PORTS)) >>> 0;
  const p = SPACE_PORT_BASE + (flow % SPACE_PORTS);
  if (a !== curAddr) {
    csumReplace32(one, IP_CSUM, curAddr, a, false);
    csumReplace32(one, UDP_CSUM, curAddr, a, false);
    one[IP_SADDR] = a >>> 24;
    one[IP_SADDR + 1] = (a >>> 16) & 0xff;
    one[IP_SADDR + 2] = (a >>> 8) & 0xff;
    one[IP_SADDR + 3] = a & 0xff;
    curAddr = a;
  }
  csumReplace16(one, UDP_CSUM, curPort, p);
  one[UDP_SPORT] = p >>> 8;
  one[UDP_SPORT + 1] = p & 0xff;
  curPort = p;
}

/** The generator's nap when ahead: 50 µs, a burst of 5 frames at 100 kpps. */
const GEN_SLEEP_US = 50;
const sleepy = process.env.TSVS_BENCH_GEN_SLEEPY === '1';
const napCell = new Int32Array(new SharedArrayBuffer(4));

const total = order === 'seq' ? flows : Math.floor((dur * pps) / 1000);
const t0 = process.hrtime.bigint();
const p0 = performance.now();
let sent = 0;
while (sent < total) {
  const el = performance.now() - p0;
  if (el >= dur && order !== 'seq') break;
  const due = Math.min(Math.floor((el * pps) / 1000), total);
  while (sent < due) {
    if (order) {
      toFlow(f);
      f += step;
      if (f >= flows) f -= flows;
      tx.pushCopy(one, 0, one.length);
    } else {
      const fr = frames[sent % flows]!;
      tx.pushCopy(fr, 0, fr.length);
    }
    sent++;
  }
  tx.flush();
  if (sleepy) Atomics.wait(napCell, 0, 0, GEN_SLEEP_US / 1000);
}
tx.flush();
const t1 = process.hrtime.bigint();
process.stdout.write(`${JSON.stringify({ sent, txSent: tx.sent, txDropped: tx.dropped, t0: String(t0), t1: String(t1) })}\n`);
tx.close();
