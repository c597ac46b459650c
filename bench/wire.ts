// Per-frame cost of the packet engine's JavaScript path, without I/O: parse, the core's
// in-hook on an established UDP conn, NAT rewrite, TTL, route and neighbour lookups. The
// kernel's packet-socket path costs 2.5–4 µs a frame on these machines (docs/notes/packet-io.md):
// this says how much of a forwarded frame's time is ours.
import { performance } from 'node:perf_hooks';
import { Ipvs, PacketInfo } from '../src/core/ipvs.js';
import { Addr } from '../src/core/inet.js';
import { NeighTable } from '../src/engine/packet/neigh.js';
import { RouteTable } from '../src/engine/packet/routes.js';
import { Frame } from '../src/wire/frame.js';
import { decTtl } from '../src/xmit/ip.js';
import { dnat } from '../src/xmit/nat.js';
import { benchForward } from './forward.js';
import { udpFrame } from './udp-frame.js';
import { AF_INET, IP_VS_CONN_F_MASQ } from '../src/core/constants.js';
import { defaultDestSpec } from '../src/core/dest.js';
import type { ServiceKey } from '../src/core/service.js';

function time(n: number, fn: () => void): number {
  for (let i = 0; i < n / 10; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t0) * 1e6) / n;
}

export function benchWire(): { name: string; nsPerOp: number }[] {
  const vip = Addr.parse4('10.88.1.1')!;
  const rip = Addr.parse4('10.88.2.2')!;
  const ipvs = new Ipvs({ now: 0 });
  const key: ServiceKey = { af: AF_INET, protocol: 17, addr: vip, port: 9000, fwmark: 0 };
  ipvs.rules.addService({ ...key, schedName: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff, peName: '' }, 0);
  ipvs.rules.addDest(key, { ...defaultDestSpec(rip, 9000), fwd: IP_VS_CONN_F_MASQ }, 0);
  const routes = new RouteTable();
  routes.load([
    { dst: '10.88.2.0/24', ifindex: 3 },
    { dst: '10.88.1.0/24', ifindex: 2 },
  ]);
  const neigh = new NeighTable();
  neigh.learn(rip.w0, 3, new Uint8Array(6), 0);
  const rows: { name: string; nsPerOp: number }[] = [];
  for (const size of [64, 1400]) {
    const frames = Array.from({ length: 16 }, (_, i) =>
      udpFrame(new Uint8Array(6), new Uint8Array(6), Addr.parse4('10.88.1.2')!.w0, vip.w0, 20000 + i, 9000, size),
    );
    const copies = frames.map((f) => f.slice());
    const f = new Frame();
    const p = new PacketInfo();
    let k = 0;
    rows.push({
      name: `parse + L4 checksum check (${size} B)`,
      nsPerOp: time(2_000_000, () => {
        const b = frames[k++ & 15]!;
        f.parse(b, 0, b.length, -1);
        f.l4ChecksumOk();
      }),
    });
    rows.push({
      name: `whole NAT in-path (${size} B)`,
      nsPerOp: time(1_000_000, () => {
        const i = k++ & 15;
        const b = frames[i]!;
        b.set(copies[i]!);
        f.parse(b, 0, b.length, -1);
        if (!f.l4ChecksumOk()) throw new Error('checksum');
        p.setV4(17, f.saddr, f.sport, f.daddr, f.dport);
        p.len = f.totLen;
        const ref = ipvs.processIn(p, 1000);
        if (ref < 0) throw new Error('no conn');
        dnat(f, ipvs.conn4Daddr(ref), ipvs.connDport(ref));
        decTtl(f);
        routes.lookup(f.daddr);
        neigh.get(f.daddr);
      }),
    });
  }
  rows.push(...benchForward());
  return rows;
}
