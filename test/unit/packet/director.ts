// A director in process: the real Forwarder and core over two in-memory ports, rules given as
// tsvsadm command lines, time passed in. The fixture tester and the #18 loop test build on it.
//
//   client side  eth0  10.0.0.1/24  fd00::1/64   gateway 10.0.0.254 / fd00::fe (default routes)
//   server side  eth1  10.1.0.1/24  fd01::1/64   real servers rs1 .11, rs2 .12, rs6 fd01::11

import { runAdm } from '../../../src/adm/run.js';
import { staticResolver } from '../../../src/adm/resolve.js';
import { Addr } from '../../../src/core/inet.js';
import { Ipvs } from '../../../src/core/ipvs.js';
import { applyTakes, words } from '../../../src/engine/packet/apply.js';
import { Forwarder } from '../../../src/engine/packet/forward.js';
import { Iface } from '../../../src/engine/packet/iface.js';
import { MemRx, MemTx } from '../../../src/engine/packet/memport.js';
import type { FrameHandler } from '../../../src/engine/packet/rxring.js';
import { XDP_FRAME_SIZE, XDP_FRAMES, XDP_MAX_FRAME, XDP_UMEM_SLICES } from '../../../src/engine/packet/constants.js';
import { RxPair } from '../../../src/engine/packet/xdp/path.js';
import { Umem } from '../../../src/engine/packet/xdp/umem.js';
import { type Lender, XskTx } from '../../../src/engine/packet/xdp/xsk-tx.js';
import type { XdpRx } from '../../../src/engine/packet/xdp/xsk.js';
import { FakeKernel } from './xdp/fake-kernel.js';
import type { RxPort } from '../../../src/engine/packet/port.js';
import { planTakes } from '../../../src/engine/packet/takes.js';
import { formatMac, parseMac } from '../../../src/wire/eth.js';
import { describe } from './describe.js';

export const MACS: Record<string, string> = {
  eth0: '02:00:00:00:00:01',
  eth1: '02:00:00:00:01:01',
  client: '02:00:00:00:00:09',
  gw: '02:00:00:00:00:fe',
  rs1: '02:00:00:00:01:0b',
  rs2: '02:00:00:00:01:0c',
  rs6: '02:00:00:00:01:11',
  bcast: 'ff:ff:ff:ff:ff:ff',
};

export function mac(name: string): Uint8Array {
  return parseMac(MACS[name]!)!;
}

interface IfaceSpec {
  ifindex: number;
  addr: string;
  prefix: number;
  addr6: string;
  prefix6: number;
  mtu: number;
}

export const IFACES: Record<string, IfaceSpec> = {
  eth0: { ifindex: 2, addr: '10.0.0.1', prefix: 24, addr6: 'fd00::1', prefix6: 64, mtu: 1500 },
  eth1: { ifindex: 3, addr: '10.1.0.1', prefix: 24, addr6: 'fd01::1', prefix6: 64, mtu: 1500 },
};

/** Neighbours the kernel already knows (the engine copies them at start). */
const NEIGHS: [string, string, string][] = [
  ['10.0.0.254', 'eth0', 'gw'],
  ['10.1.0.11', 'eth1', 'rs1'],
  ['10.1.0.12', 'eth1', 'rs2'],
  ['fd00::fe', 'eth0', 'gw'],
  ['fd01::11', 'eth1', 'rs6'],
];

/** One side of a MemSplit, counting the blocks peeked (the warming pass) and walked. */
class SideRx extends MemRx {
  peeks = 0;
  walks = 0;

  override peek(h: FrameHandler): number {
    const n = super.peek(h);
    if (n > 0) this.peeks++;
    return n;
  }

  override walk(h: FrameHandler): number {
    const n = super.walk(h);
    if (n > 0) this.walks++;
    return n;
  }
}

/**
 * A port shaped as SplitRx (an AF_XDP socket and a packet ring behind RxPair) over two in-memory
 * sides; blocks go to the socket side and the ring side in turn. MemTx.pushRx finds the walked
 * side's block through current() and blockOf(), as it does on a MemRx.
 */
export class MemSplit extends RxPair<SideRx, SideRx> implements RxPort {
  readonly fd = -1;
  private pushes = 0;

  constructor(vnet: boolean) {
    super(new SideRx(vnet, 1), new SideRx(vnet, 2));
  }

  get frames(): number {
    return this.xsk.frames + this.ring.frames;
  }

  push(frames: readonly Uint8Array[], hdrs: readonly (Uint8Array | undefined)[] = []): void {
    (this.pushes++ % 2 === 0 ? this.xsk : this.ring).push(frames, hdrs);
  }

  /** The walked side's block (RxPair's addr names the side walked last). */
  current(): Uint8Array | undefined {
    return (this.addr === this.xsk.addr ? this.xsk : this.ring).current();
  }

  blockOf(buf: Uint8Array): { released: boolean } | undefined {
    return this.xsk.blockOf(buf) ?? this.ring.blockOf(buf);
  }

  statistics(): { packets: number; drops: number } {
    return { packets: 0, drops: 0 };
  }

  close(): void {
    this.xsk.close();
    this.ring.close();
  }
}

/**
 * A port shaped as SplitRx whose socket side is a real XdpRx over plain memory (FakeKernel plays
 * the kernel), the interfaces' sockets sharing one Umem, and whose ring side is in memory. Blocks
 * that bring their own virtio_net_hdrs (GSO, partial checksums as a packet socket marks them) go
 * to the ring side, as the XDP program passes such frames; the others to the socket.
 */
export class XskSplit extends RxPair<XdpRx, SideRx> implements RxPort, Lender {
  readonly fd = -1;

  constructor(readonly kernel: FakeKernel) {
    super(kernel.port, new SideRx(true, 2));
  }

  lender(): XdpRx | null {
    return this.cur === this.xsk ? this.xsk : null;
  }

  get frames(): number {
    return this.xsk.frames + this.ring.frames;
  }

  push(frames: readonly Uint8Array[], hdrs: readonly (Uint8Array | undefined)[] = []): void {
    // The program passes frames longer than a UMEM frame holds (XDP_MAX_FRAME) too.
    if (hdrs.some((h) => h !== undefined) || frames.some((f) => f.length > XDP_MAX_FRAME)) this.ring.push(frames, hdrs);
    else this.kernel.receive(frames);
  }

  /** The walked side's bytes (MemTx.pushRx reads them): the UMEM, or the ring side's block. */
  current(): Uint8Array | undefined {
    return this.cur === this.xsk ? this.xsk.buf : this.ring.current();
  }

  blockOf(buf: Uint8Array): { released: boolean } | undefined {
    return buf === this.xsk.buf ? { released: false } : this.ring.blockOf(buf);
  }

  statistics(): { packets: number; drops: number } {
    return { packets: 0, drops: 0 };
  }

  close(): void {
    this.ring.close();
  }
}

export interface DirectorOptions {
  /** MTU per interface name, instead of 1500. */
  mtu?: Record<string, number>;
  /** Extra local addresses (e.g. a VIP on lo): address → interface name. */
  local?: Record<string, string>;
  /** Neighbours the kernel does not know yet (names of NEIGHS addresses to leave out). */
  unknown?: string[];
  /** Each interface receives through a MemSplit (SplitRx's shape) instead of one MemRx. */
  split?: boolean;
  /** Each interface receives through an XskSplit and sends through an XskTx over MemTx. */
  xsk?: boolean;
}

export class Director {
  readonly ipvs = new Ipvs({ now: 0 });
  readonly fwd: Forwarder;
  readonly ifaces = new Map<string, { iface: Iface; rx: MemRx | MemSplit | XskSplit; tx: MemTx; xtx?: XskTx }>();
  readonly log: string[] = [];
  private readonly names = new Map(Object.entries(MACS).map(([k, v]) => [v, k]));
  private readonly local = new Map<string, string>();

  constructor(private readonly o: DirectorOptions = {}) {
    this.fwd = new Forwarder(this.ipvs, true, (m) => this.log.push(m));
    const fwd = this.fwd;
    this.ipvs.onExpire((ref) => fwd.pp.delete(ref));
    const routes = [];
    const routes6 = [];
    const umem = o.xsk ? Umem.over(new ArrayBuffer(XDP_UMEM_SLICES * XDP_FRAMES * XDP_FRAME_SIZE)) : null;
    let slice = 0;
    for (const [name, s] of Object.entries(IFACES)) {
      const rx = umem ? new XskSplit(new FakeKernel(0, 0, umem, slice++)) : o.split ? new MemSplit(true) : new MemRx(true);
      const tx = new MemTx();
      const xtx = rx instanceof XskSplit ? new XskTx(rx.xsk, tx) : undefined;
      const iface = new Iface(name, s.ifindex, mac(name), o.mtu?.[name] ?? s.mtu, rx, xtx ?? tx);
      iface.addrs = [Addr.parse4(s.addr)!.w0];
      iface.prefixes = [s.prefix];
      iface.addrs6 = [words(Addr.parse6(s.addr6)!)];
      iface.prefixes6 = [s.prefix6];
      fwd.ifaces[s.ifindex] = iface;
      this.ifaces.set(name, { iface, rx, tx, xtx });
      routes.push({ dst: `${s.addr.replace(/\.\d+$/, '.0')}/${s.prefix}`, ifindex: s.ifindex });
      routes6.push({ dst: `${s.addr6.replace(/::1$/, '::')}/${s.prefix6}`, ifindex: s.ifindex });
      this.local.set(s.addr, name);
      this.local.set(s.addr6, name);
    }
    routes.push({ dst: '0.0.0.0/0', gateway: '10.0.0.254', ifindex: IFACES.eth0!.ifindex });
    routes6.push({ dst: '::/0', gateway: 'fd00::fe', ifindex: IFACES.eth0!.ifindex });
    fwd.routes.load(routes);
    fwd.v6.routes.load(routes6);
    for (const [a, on, who] of NEIGHS) {
      if (o.unknown?.includes(a)) continue;
      const ifindex = IFACES[on]!.ifindex;
      const addr = Addr.parse(a)!;
      if (addr.isV6) fwd.v6.neigh.learn(words(addr), ifindex, mac(who), 0);
      else fwd.neigh.learn(addr.w0, ifindex, mac(who), 0);
    }
    for (const [a, on] of Object.entries(o.local ?? {})) this.local.set(a, on);
  }

  /** Runs tsvsadm command lines (numeric addresses); throws on the first that fails. */
  async rules(lines: readonly string[], now = 0): Promise<void> {
    for (const line of lines) {
      const r = await runAdm(line.split(/\s+/).filter(Boolean), 'tsvsadm', {
        ipvs: this.ipvs,
        now,
        resolver: staticResolver({}),
        stdin: '',
      });
      if (r.code !== 0) throw new Error(`tsvsadm ${line}: ${r.stderr}`);
    }
    const t = planTakes(
      this.ipvs.rules.services(),
      { local: this.local, served: new Set(this.ifaces.keys()) },
      (s) => Addr.parse(s),
      this.ipvs.rules.trashed(),
    );
    applyTakes(this.fwd, t, this.local);
    this.sent();
  }

  /** Hands `frames` to the forwarder as one ring block on `on` (each with an optional virtio_net_hdr). */
  receive(on: string, frames: readonly Uint8Array[], hdrs: readonly (Uint8Array | undefined)[] = []): void {
    const p = this.ifaces.get(on)!;
    p.rx.push(frames, hdrs);
    this.fwd.walk(p.iface);
    for (const [, q] of this.ifaces) q.iface.tx.flush();
    p.rx.release();
  }

  /** Lets time pass: retries and gives up on unanswered ARP/NDP. */
  housekeep(now: number): void {
    this.fwd.housekeep(now);
    for (const [, q] of this.ifaces) q.iface.tx.flush();
  }

  /** The frames sent since the last call, described (virtio_net_hdr stripped), by interface order. */
  sent(): string[] {
    return this.sentRaw().map(({ on, frame }) => describe(on, formatMac(mac(on)), frame, this.names));
  }

  /**
   * The raw frames sent since the last call (virtio_net_hdr stripped). On XskTx, those of the
   * packet socket come before those of the TX ring (the order the two queues flush in), and the
   * TX ring's are completed here, so the next flush gives their chunks back.
   */
  sentRaw(): { on: string; frame: Uint8Array }[] {
    const out: { on: string; frame: Uint8Array }[] = [];
    const filled = new Set<number>();
    for (const [, q] of this.ifaces) if (q.rx instanceof XskSplit) for (const c of q.rx.kernel.fillSet()) filled.add(c);
    for (const [name, q] of this.ifaces) {
      for (const fr of q.tx.take()) out.push({ on: name, frame: fr.subarray(10) });
      if (q.rx instanceof XskSplit) {
        const frames: Uint8Array[] = [];
        q.rx.kernel.transmit(frames, filled);
        for (const frame of frames) out.push({ on: name, frame });
      }
    }
    return out;
  }
}
