// A paced UDP frame generator on the packet engine's own TX queue (sendmmsg): prebuilt frames
// for FLOWS source ports, sent at PPS for DURATION ms. Runs inside the generator namespace.
// argv: dev dstMac srcMac saddr daddr dport payloadBytes pps durationMs flows → {"sent": n}
import { performance } from 'node:perf_hooks';
import { Addr } from '../src/core/inet.js';
import { TxQueue } from '../src/engine/packet/tx.js';
import { checksum, pseudo4, write16, write32 } from '../src/wire/csum.js';
import { parseMac } from '../src/wire/eth.js';

const [dev, dstMac, srcMac, sIp, dIp, dportArg, sizeArg, ppsArg, durArg, flowsArg] = process.argv.slice(2);
const saddr = Addr.parse4(sIp!)!.w0;
const daddr = Addr.parse4(dIp!)!.w0;
const dport = Number(dportArg);
const size = Number(sizeArg);
const pps = Number(ppsArg);
const dur = Number(durArg);
const flows = Number(flowsArg);

function frame(sport: number): Uint8Array {
  const l4len = 8 + size;
  const b = new Uint8Array(14 + 20 + l4len);
  b.set(parseMac(dstMac!)!, 0);
  b.set(parseMac(srcMac!)!, 6);
  write16(b, 12, 0x0800);
  b[14] = 0x45;
  write16(b, 16, 20 + l4len);
  b[22] = 64;
  b[23] = 17;
  write32(b, 26, saddr);
  write32(b, 30, daddr);
  write16(b, 24, checksum(b, 14, 20));
  write16(b, 34, sport);
  write16(b, 36, dport);
  write16(b, 38, l4len);
  for (let i = 0; i < size; i++) b[42 + i] = i & 0xff;
  write16(b, 40, checksum(b, 34, l4len, pseudo4(saddr, daddr, 17, l4len)) || 0xffff);
  return b;
}

const frames = Array.from({ length: flows }, (_, i) => frame(20000 + i));
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
