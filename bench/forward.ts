// The whole per-frame path of the packet engine, as the engine runs it: a ring block of 16
// frames walked by the Forwarder (parse, core, the method's transmit function, route, MACs,
// queue for transmit), over ports that only count what is queued. No I/O: this is the
// JavaScript's share of a forwarded frame, comparable before and after a change to the path.
import { performance } from 'node:perf_hooks';
import { AF_INET, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_TUNNEL } from '../src/core/constants.js';
import { defaultDestSpec } from '../src/core/dest.js';
import { Addr } from '../src/core/inet.js';
import { Ipvs } from '../src/core/ipvs.js';
import type { ServiceKey } from '../src/core/service.js';
import { Forwarder } from '../src/engine/packet/forward.js';
import { XDP_HEADROOM } from '../src/engine/packet/constants.js';
import { Iface } from '../src/engine/packet/iface.js';
import { udpFrame } from './udp-frame.js';

const FRAMES = 16;
const VNET = 10;

/**
 * A receive port whose one block is always ready again (its frames restored before each walk),
 * with `room` bytes free before each frame, as AF_XDP's headroom (RxPort.headroom).
 */
class LoopRx {
  readonly fd = -1;
  readonly addr = 0;
  frames = 0;
  readonly buf: Uint8Array;
  private readonly pristine: Uint8Array;
  private readonly at: number[] = [];
  private readonly len: number[] = [];

  constructor(
    frames: Uint8Array[],
    private readonly room = 0,
  ) {
    let size = 0;
    for (const f of frames) size += room + VNET + f.length;
    this.buf = new Uint8Array(size);
    let at = 0;
    for (const f of frames) {
      at += room;
      this.at.push(at + VNET);
      this.len.push(f.length);
      this.buf.set(f, at + VNET);
      at += VNET + f.length;
    }
    this.pristine = this.buf.slice();
  }

  ready(): boolean {
    return true;
  }

  walk(h: (buf: Uint8Array, off: number, len: number, vnet: number, tci: number) => void): number {
    this.buf.set(this.pristine);
    for (let i = 0; i < this.at.length; i++) h(this.buf, this.at[i]!, this.len[i]!, this.at[i]! - VNET, -1);
    return this.at.length;
  }

  headroom(): number {
    return this.room;
  }

  release(): void {}

  statistics(): { packets: number; drops: number } {
    return { packets: 0, drops: 0 };
  }

  close(): void {}
}

/** A transmit port that counts what is queued and sends nothing. */
class CountTx {
  readonly arena = new Uint8Array(4 * 65600);
  dropped = 0;
  queued = 0;
  slot(): number {
    return 0;
  }
  pushSlot(): void {
    this.queued++;
  }
  pushRx(): void {
    this.queued++;
  }
  pushAddr(): void {
    this.queued++;
  }
  pushCopy(): void {
    this.queued++;
  }
  flush(): number {
    return 0;
  }
  discard(): number {
    return 0;
  }
  close(): void {}
}

function time(n: number, fn: () => void): number {
  for (let i = 0; i < n / 10; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t0) * 1e6) / n;
}

export function benchForward(): { name: string; nsPerOp: number }[] {
  const rows: { name: string; nsPerOp: number }[] = [];
  const vip = Addr.parse4('10.88.1.1')!;
  const rip = Addr.parse4('10.88.2.2')!;
  const cip = Addr.parse4('10.88.1.2')!;
  const macIn = Uint8Array.of(2, 0, 0, 0, 0, 1);
  const macOut = Uint8Array.of(2, 0, 0, 0, 1, 1);
  for (const [method, fwdBits, size, room] of [
    ['NAT', IP_VS_CONN_F_MASQ, 64, 0],
    ['NAT', IP_VS_CONN_F_MASQ, 1400, 0],
    ['DR', IP_VS_CONN_F_DROUTE, 64, 0],
    ['TUN ipip', IP_VS_CONN_F_TUNNEL, 64, 0],
    // As received through AF_XDP: the outer header is written in the headroom, not in a copy.
    ['TUN ipip (headroom)', IP_VS_CONN_F_TUNNEL, 64, XDP_HEADROOM],
  ] as const) {
    const ipvs = new Ipvs({ now: 0 });
    const key: ServiceKey = { af: AF_INET, protocol: 17, addr: vip, port: 9000, fwmark: 0 };
    ipvs.rules.addService({ ...key, schedName: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff, peName: '' }, 0);
    ipvs.rules.addDest(key, { ...defaultDestSpec(rip, 9000), fwd: fwdBits }, 0);
    const fwd = new Forwarder(ipvs, true, () => {});
    const frames = Array.from({ length: FRAMES }, (_, i) => udpFrame(macIn, macOut, cip.w0, vip.w0, 20000 + i, 9000, size));
    const rx = new LoopRx(frames, room);
    const txIn = new CountTx();
    const txOut = new CountTx();
    // The ports are duck-typed so that the same bench runs against the engine before and after
    // its port interface existed.
    const ifIn = new Iface('in0', 2, macIn, 1500, rx as never, txIn as never);
    const ifOut = new Iface('out0', 3, macOut, 1500, rx as never, txOut as never);
    ifIn.addrs = [Addr.parse4('10.88.1.254')!.w0];
    ifIn.prefixes = [24];
    ifOut.addrs = [Addr.parse4('10.88.2.254')!.w0];
    ifOut.prefixes = [24];
    fwd.ifaces[2] = ifIn;
    fwd.ifaces[3] = ifOut;
    fwd.routes.load([
      { dst: '10.88.1.0/24', ifindex: 2 },
      { dst: '10.88.2.0/24', ifindex: 3 },
    ]);
    fwd.neigh.learn(rip.w0, 3, macOut, 0);
    fwd.neigh.learn(cip.w0, 2, macIn, 0);
    fwd.vips = new Set([vip.w0]);
    fwd.now = 1000;
    const per = time(100_000, () => fwd.walk(ifIn)) / FRAMES;
    if (txOut.queued === 0) throw new Error(`${method}: nothing forwarded`);
    rows.push({ name: `Forwarder ${method} in, block of ${FRAMES} (${size} B)`, nsPerOp: per });
  }
  return rows;
}
