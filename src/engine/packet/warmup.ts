// Warming the forwarding path's compiled code before the first real frame. A new director ran
// its per-frame JavaScript in V8's interpreter until enough frames had passed for the optimising
// compiler, which then ran on the director's own core: a fresh daemon hit by 105 kpps at once
// lost 61-90 % of its first second (packet socket, 64 B UDP NAT, 2026-12-07), against none
// once 5,000 frames at a low rate had gone before. A backup director taking over a VIP, or one
// restarted by its supervisor, meets exactly that load.
//
// So the engine, when asked (TSVS_WARMUP=on), pushes synthetic frames through a throwaway
// forwarder and core of the same classes at start: compiled code and type feedback belong to
// the functions, not to the instances, so the real forwarder starts with them. It runs once the
// real interfaces, rings and ports exist: V8 compiles against the object shapes it has seen, and
// run before them (as a first try did, docs/packet-engine.md), most of the path was deoptimised
// again (`--trace-deopt`) as soon as the rings were created.
// Everything here is in memory: two interfaces over in-memory ports, documentation addresses
// (RFC 5737), nothing sent. The director's own core, rules, counters and conns are not touched.

import { AF_INET, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_MASQ, IPPROTO_TCP, IPPROTO_UDP } from '../../core/constants.js';
import { defaultDestSpec } from '../../core/dest.js';
import { Addr } from '../../core/inet.js';
import { directorCore } from '../../core/director-core.js';
import { TCP_ACK, TCP_SYN } from '../../core/conn/tcp.js';
import type { ServiceSpec } from '../../core/service.js';
import { checksum, pseudo4, write16, write32 } from '../../wire/csum.js';
import { applyTakes } from './apply.js';
import { ETH_HLEN } from '../../wire/eth.js';
import { TX_SLOT_SIZE, VNET_HDR_LEN } from './constants.js';
import { Forwarder } from './forward.js';
import { Iface } from './iface.js';
import type { RxPort, TxPort } from './port.js';
import type { FrameHandler } from './rxring.js';
import { planTakes } from './takes.js';

/**
 * Frames pushed through at start. With real frames, 2,000 at 2 kpps before 105 kpps still lost
 * 18.5 % of the next second and 5,000 lost none (2026-12-07); four times that covers the
 * paths this mix exercises each a few thousand times.
 */
export const WARMUP_FRAMES = 20_000;
/** Frames per in-memory block: what a ring block holds at a moderate rate. */
const WARMUP_BLOCK = 64;
/** Client flows: enough that new conns and established ones both come round many times (a multiple of WARMUP_BLOCK). */
const WARMUP_FLOWS = 512;
/** Not a whole number, as the engine's clock never is (performance.now() based): see warmUp(). */
const WARMUP_CLOCK_START = 0.5;

const MAC_W0 = Uint8Array.of(2, 0, 0, 0x77, 0, 1);
const MAC_W1 = Uint8Array.of(2, 0, 0, 0x77, 1, 1);
const MAC_GW = Uint8Array.of(2, 0, 0, 0x77, 0, 0xfe);
const MAC_RS1 = Uint8Array.of(2, 0, 0, 0x77, 1, 0x0b);
const MAC_RS2 = Uint8Array.of(2, 0, 0, 0x77, 1, 0x0c);

const ip = (s: string): number => Addr.parse4(s)!.w0;
const W0 = ip('192.0.2.1');
const W1 = ip('198.51.100.1');
const GW = ip('192.0.2.254');
const RS1 = ip('198.51.100.11');
const RS2 = ip('198.51.100.12');
const VIP = ip('192.0.2.100');
/** Clients: 203.0.113.0/24, beyond the gateway. */
const CLIENTS = ip('203.0.113.0');
const NAT_PORT = 9000;
const DR_PORT = 9001;
/** PSH is not among the core's flags (tcp.ts): the state machine ignores it. */
const TCP_PSH = 0x08;
const TCP_PSH_ACK = TCP_PSH | TCP_ACK;
const TCP_SYN_ACK = TCP_SYN | TCP_ACK;

export interface WarmupResult {
  frames: number;
  /** Frames the throwaway forwarder forwarded (in and out); all of them when the mix is right. */
  forwarded: number;
  /** Of those, replies from a NAT real server. */
  forwardedOut: number;
  /** Conns the mix made in the throwaway core: one per flow and service. */
  conns: number;
  ms: number;
}

/** Takes what the forwarder transmits and forgets it. */
class SinkTx implements TxPort {
  /** Room for the frames the forwarder builds (tunnel headers, ARP): a few slots suffice here. */
  readonly arena = new Uint8Array(4 * TX_SLOT_SIZE);
  readonly dropped = 0;
  private queued = 0;

  slot(): number {
    return this.queued * TX_SLOT_SIZE;
  }

  pushSlot(): void {
    if (++this.queued === 4) this.flush();
  }

  pushRx(): void {}

  pushCopy(): void {}

  flush(): number {
    const n = this.queued;
    this.queued = 0;
    return n;
  }

  discard(): number {
    return this.flush();
  }

  close(): void {}
}

/** Frames of one kind, one per flow, built once: each block copies its frames from here. */
interface Kind {
  /** Received on interface 1 (client side) or 2 (real server side). */
  on: 1 | 2;
  /** WARMUP_FLOWS frames at `stride` bytes apart, each behind `pre` bytes of virtio_net_hdr. */
  tpl: Uint8Array;
  stride: number;
  len: number;
}

/** Frame length of UDP (flags < 0) or TCP with `flags`, carrying `payload` bytes. */
const frameLen = (flags: number, payload: number): number => ETH_HLEN + 20 + (flags >= 0 ? 20 : 8) + payload;

/** Writes an Ethernet/IPv4 frame carrying UDP (flags < 0) or TCP with `flags` at `at` of `b`. */
function writeFrame(
  b: Uint8Array,
  at: number,
  dst: Uint8Array,
  src: Uint8Array,
  saddr: number,
  daddr: number,
  sport: number,
  dport: number,
  flags: number,
  payload: number,
): void {
  const tcp = flags >= 0;
  const l4len = (tcp ? 20 : 8) + payload;
  b.set(dst, at);
  b.set(src, at + 6);
  write16(b, at + 12, 0x0800);
  const iph = at + ETH_HLEN;
  b[iph] = 0x45;
  write16(b, iph + 2, 20 + l4len);
  b[iph + 8] = 64;
  b[iph + 9] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
  write32(b, iph + 12, saddr);
  write32(b, iph + 16, daddr);
  write16(b, iph + 10, checksum(b, iph, 20));
  const l4 = iph + 20;
  write16(b, l4, sport);
  write16(b, l4 + 2, dport);
  for (let i = 0; i < payload; i++) b[l4 + l4len - payload + i] = i & 0xff;
  if (tcp) {
    write32(b, l4 + 4, 1);
    b[l4 + 12] = 5 << 4;
    b[l4 + 13] = flags;
    write16(b, l4 + 14, 65535);
    write16(b, l4 + 16, checksum(b, l4, l4len, pseudo4(saddr, daddr, IPPROTO_TCP, l4len)));
  } else {
    write16(b, l4 + 4, l4len);
    write16(b, l4 + 6, checksum(b, l4, l4len, pseudo4(saddr, daddr, IPPROTO_UDP, l4len)) || 0xffff);
  }
}

/** The client of flow `flow`: 203.0.113.1-250, ports from 20000. */
const clientOf = (flow: number): number => (CLIENTS | (1 + (flow % 250))) >>> 0;

/** A request from each client to the VIP, or (reply) from real server 1 back to it. */
function kind(pre: number, reply: boolean, port: number, flags: number, payload: number): Kind {
  const len = frameLen(flags, payload);
  const stride = pre + len;
  const tpl = new Uint8Array(WARMUP_FLOWS * stride);
  for (let f = 0; f < WARMUP_FLOWS; f++) {
    const at = f * stride + pre;
    const c = clientOf(f);
    if (reply) writeFrame(tpl, at, MAC_W1, MAC_RS1, RS1, c, port, 20000 + f, flags, payload);
    else writeFrame(tpl, at, MAC_W0, MAC_GW, c, VIP, 20000 + f, port, flags, payload);
  }
  return { on: reply ? 2 : 1, tpl, stride, len };
}

/**
 * A receive port over one reused block: load() copies a kind's frames into it, as the kernel
 * fills a ring block, so that the warm-up allocates nothing per frame (its memory cost is the
 * compiler's, not garbage's: see parseWarmup).
 */
class WarmRx implements RxPort {
  readonly fd = -1;
  frames = 0;
  private readonly block: Uint8Array;
  private n = 0;
  private stride = 0;
  private len = 0;

  constructor(
    private readonly pre: number,
    maxStride: number,
  ) {
    this.block = new Uint8Array(WARMUP_BLOCK * maxStride);
  }

  /** Makes frames [first, first + n) of `k` the current block (they never wrap: see warmUp). */
  load(k: Kind, first: number, n: number): void {
    this.block.set(k.tpl.subarray(first * k.stride, (first + n) * k.stride));
    this.n = n;
    this.stride = k.stride;
    this.len = k.len;
  }

  ready(): boolean {
    return this.n > 0;
  }

  walk(h: FrameHandler): number {
    const pre = this.pre;
    for (let i = 0; i < this.n; i++) {
      const at = i * this.stride;
      h(this.block, at + pre, this.len, pre > 0 ? at : -1, -1);
    }
    this.frames += this.n;
    return this.n;
  }

  release(): void {
    this.n = 0;
  }

  statistics(): { packets: number; drops: number } {
    return { packets: 0, drops: 0 };
  }

  close(): void {}
}

/**
 * TSVS_WARMUP: on, or off (the default). Off by default for its memory: an idle director held
 * 73.0 MB with it against 60.0 without (2026-12-07, one veth, `/proc/PID/status` 5 s after
 * start), compiled code, the heap the compiler grew and the compiler's own pages of the node
 * binary, and the idle target is 60 MB.
 */
export function parseWarmup(v: string | undefined, from = 'TSVS_WARMUP'): boolean {
  if (v === undefined || v === '' || v === 'off') return false;
  if (v === 'on') return true;
  throw new Error(`${from} ${v}: use on or off`);
}

function service(protocol: number, port: number): ServiceSpec {
  const addr = Addr.v4(VIP);
  return { af: AF_INET, protocol, addr, port, fwmark: 0, schedName: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff, peName: '' };
}

/**
 * Runs WARMUP_FRAMES synthetic frames through a throwaway forwarder: NAT (masq) and DR
 * (gate), UDP and TCP, new conns and established ones, requests and NAT replies. `vnet` as the
 * engine's forwarder has it. Synchronous: it runs before the engine's loop starts.
 */
export function warmUp(vnet: boolean, frames = WARMUP_FRAMES): WarmupResult {
  const t0 = performance.now();
  // Built as the director's core is: a core without the defences left the real one's first
  // frames a branch the warm-up never ran ("insufficient type feedback" in schedule).
  const { ipvs } = directorCore();
  const fwd = new Forwarder(ipvs, vnet, () => {});
  // The engine's clock is fractional milliseconds: a whole-number clock here kept the field a
  // small integer, and the first real time stored in it changed the Forwarder's map, which
  // deoptimised every compiled function that checks it ("wrong map").
  fwd.now = WARMUP_CLOCK_START;
  const pre = vnet ? VNET_HDR_LEN : 0;
  const kinds = [
    kind(pre, false, NAT_PORT, -1, 22),
    kind(pre, true, NAT_PORT, -1, 22),
    kind(pre, false, NAT_PORT, TCP_SYN, 0),
    kind(pre, true, NAT_PORT, TCP_SYN_ACK, 0),
    kind(pre, false, NAT_PORT, TCP_ACK, 0),
    kind(pre, false, NAT_PORT, TCP_PSH_ACK, 100),
    kind(pre, true, NAT_PORT, TCP_PSH_ACK, 100),
    kind(pre, false, DR_PORT, -1, 22),
    kind(pre, false, DR_PORT, TCP_SYN, 0),
    kind(pre, false, DR_PORT, TCP_PSH_ACK, 100),
  ];
  const maxStride = Math.max(...kinds.map((k) => k.stride));
  const rx0 = new WarmRx(pre, maxStride);
  const rx1 = new WarmRx(pre, maxStride);
  const w0 = new Iface('warm0', 1, MAC_W0, 1500, rx0, new SinkTx());
  const w1 = new Iface('warm1', 2, MAC_W1, 1500, rx1, new SinkTx());
  w0.addrs = [W0];
  w0.prefixes = [24];
  w1.addrs = [W1];
  w1.prefixes = [24];
  fwd.ifaces[1] = w0;
  fwd.ifaces[2] = w1;
  fwd.routes.load([
    { dst: '192.0.2.0/24', ifindex: 1 },
    { dst: '198.51.100.0/24', ifindex: 2 },
    { dst: '0.0.0.0/0', gateway: '192.0.2.254', ifindex: 1 },
  ]);
  fwd.neigh.learn(GW, 1, MAC_GW, 0);
  fwd.neigh.learn(RS1, 2, MAC_RS1, 0);
  fwd.neigh.learn(RS2, 2, MAC_RS2, 0);
  const rules = ipvs.rules;
  for (const proto of [IPPROTO_UDP, IPPROTO_TCP]) {
    // NAT with one real server (its replies come from it), DR with two.
    const nat = rules.addService(service(proto, NAT_PORT), 0);
    rules.addDest(nat, { ...defaultDestSpec(Addr.v4(RS1), NAT_PORT), fwd: IP_VS_CONN_F_MASQ }, 0);
    const dr = rules.addService(service(proto, DR_PORT), 0);
    for (const rs of [RS1, RS2]) rules.addDest(dr, { ...defaultDestSpec(Addr.v4(rs), DR_PORT), fwd: IP_VS_CONN_F_DROUTE }, 0);
  }
  const local = new Map([
    ['192.0.2.1', 'warm0'],
    ['198.51.100.1', 'warm1'],
  ]);
  applyTakes(
    fwd,
    planTakes(rules.services(), { local, served: new Set(['warm0', 'warm1']) }, (s) => Addr.parse(s)),
    local,
  );

  // Blocks of WARMUP_BLOCK flows, each kind in turn, so that a flow's SYN, reply and data come
  // in order; WARMUP_FLOWS is a multiple of WARMUP_BLOCK, so a block never wraps.
  let sent = 0;
  for (let f = 0; sent < frames; f = (f + WARMUP_BLOCK) % WARMUP_FLOWS) {
    for (const k of kinds) {
      const n = Math.min(WARMUP_BLOCK, frames - sent);
      if (n <= 0) break;
      const [iface, rx] = k.on === 1 ? [w0, rx0] : [w1, rx1];
      rx.load(k, f, n);
      fwd.walk(iface);
      w0.tx.flush();
      w1.tx.flush();
      rx.release();
      fwd.now += 1;
      sent += n;
    }
  }
  const { forwardedIn, forwardedOut } = fwd.counters;
  return { frames: sent, forwarded: forwardedIn + forwardedOut, forwardedOut, conns: ipvs.connCount(), ms: performance.now() - t0 };
}
