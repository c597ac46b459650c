// The master side of `npm run bench -- sync`, run inside the bench's master namespace: a core
// with one DR service and a real SyncMaster on eth0; RATE new TCP conns per second (SYN and two
// ACKs each: sent at their 3rd packet) for SECONDS. Prints one JSON line of what it did.
// argv: rate seconds
import { performance } from 'node:perf_hooks';
import { TCP_ACK, TCP_SYN } from '../src/core/conn/tcp.js';
import { IP_VS_CONN_F_DROUTE, IPPROTO_TCP } from '../src/core/constants.js';
import { defaultDestSpec } from '../src/core/dest.js';
import { Addr } from '../src/core/inet.js';
import { Ipvs, PacketInfo } from '../src/core/ipvs.js';
import { IP_VS_SYNC_GROUP, IP_VS_SYNC_PORT, IP_VS_SYNC_TTL } from '../src/sync/constants.js';
import { SyncMaster } from '../src/sync/daemon.js';

const rate = Number(process.argv[2] ?? 50_000);
const seconds = Number(process.argv[3] ?? 5);
/** Conns are made in batches this often, so that timers and socket callbacks run between them. */
const BATCH_MS = 10;

const vip = Addr.parse('10.81.0.100')!;
const ipvs = new Ipvs({ now: 0 });
const key = {
  af: vip.af,
  protocol: IPPROTO_TCP,
  addr: vip,
  port: 80,
  fwmark: 0,
  schedName: 'rr',
  flags: 0,
  timeout: 0,
  netmask: 0xffffffff,
  peName: '',
} as const;
ipvs.rules.addService(key, 0);
for (const rip of ['10.81.0.11', '10.81.0.12'])
  ipvs.rules.addDest(key, { ...defaultDestSpec(Addr.parse(rip)!, 80), fwd: IP_VS_CONN_F_DROUTE }, 0);

const t0 = performance.now();
const now = () => performance.now() - t0;
const master = new SyncMaster(
  {
    state: 'master',
    ifname: 'eth0',
    syncid: 1,
    maxlen: 1472,
    group: Addr.parse(IP_VS_SYNC_GROUP)!,
    port: IP_VS_SYNC_PORT,
    ttl: IP_VS_SYNC_TTL,
  },
  ipvs,
  now,
  (m) => process.stderr.write(`${m}\n`),
);
await master.start();

const p = new PacketInfo();
let made = 0;
const perBatch = Math.round((rate * BATCH_MS) / 1000);
const cpu0 = process.cpuUsage();
const start = now();
await new Promise<void>((resolve) => {
  const step = () => {
    const due = Math.min(Math.floor(((now() - start) / 1000) * rate) + perBatch, rate * seconds);
    while (made < due) {
      const c = made++;
      p.setV4(IPPROTO_TCP, (0x0b000000 + Math.floor(c / 60000)) >>> 0, 1024 + (c % 60000), vip.w0, 80);
      p.len = 60;
      p.ev = TCP_SYN;
      ipvs.processIn(p, now());
      p.ev = TCP_ACK;
      ipvs.processIn(p, now());
      ipvs.processIn(p, now());
    }
    if (made >= rate * seconds) resolve();
    else setTimeout(step, BATCH_MS);
  };
  step();
});
const elapsed = (now() - start) / 1000;
master.flush();
await new Promise((r) => setTimeout(r, 500));
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ made, elapsed, cpuSec: (cpu.user + cpu.system) / 1e6, ...master.stats })}\n`);
master.stop();
process.exit(0);
