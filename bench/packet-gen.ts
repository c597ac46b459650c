// A paced UDP frame generator on the packet engine's own TX queue (sendmmsg): prebuilt frames
// for FLOWS source ports, sent at PPS for DURATION ms. Runs inside the generator namespace.
// argv: dev dstMac srcMac saddr daddr dport payloadBytes pps durationMs flows → {"sent": n}
import { performance } from 'node:perf_hooks';
import { Addr } from '../src/core/inet.js';
import { TxQueue } from '../src/engine/packet/tx.js';
import { parseMac } from '../src/wire/eth.js';
import { udpFrame } from './udp-frame.js';

const [dev, dstMac, srcMac, sIp, dIp, dportArg, sizeArg, ppsArg, durArg, flowsArg] = process.argv.slice(2);
const saddr = Addr.parse4(sIp!)!.w0;
const daddr = Addr.parse4(dIp!)!.w0;
const dport = Number(dportArg);
const size = Number(sizeArg);
const pps = Number(ppsArg);
const dur = Number(durArg);
const flows = Number(flowsArg);

const dst = parseMac(dstMac!)!;
const src = parseMac(srcMac!)!;
const frames = Array.from({ length: flows }, (_, i) => udpFrame(dst, src, saddr, daddr, 20000 + i, dport, size));
const tx = TxQueue.open({ ifname: dev!, batch: 64 });
const t0 = performance.now();
let sent = 0;
for (;;) {
  const el = performance.now() - t0;
  if (el >= dur) break;
  const due = Math.min(Math.floor((el * pps) / 1000), Math.floor((dur * pps) / 1000));
  while (sent < due) {
    const f = frames[sent % flows]!;
    tx.pushCopy(f, 0, f.length);
    sent++;
  }
  tx.flush();
}
tx.flush();
process.stdout.write(`${JSON.stringify({ sent, txSent: tx.sent, txDropped: tx.dropped })}\n`);
tx.close();
