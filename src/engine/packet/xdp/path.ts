// The AF_XDP data path of one interface, and the choice of it (`tsvs daemon --xdp`, TSVS_XDP).
//
// An interface on AF_XDP receives through two ports: the AF_XDP socket, which gets what the XDP
// program redirects (what the director takes, keys.ts), and the packet socket ring it always had,
// which still sees every frame the program passes (ARP, NDP, ICMP errors, fragments, frames too
// long for a UMEM frame). The nftables claim stays as it is: redirected frames never reach the
// kernel's stack, so the claim only ever acts on what the program passed, which the engine still
// takes from its ring and the kernel must then not answer. SplitRx puts both behind RxPort, so
// turn(), the forwarder and TxQueue.pushRx (through `addr`) work unchanged; XskTx asks `lender()`
// whether the frame being walked is in the UMEM, to send it from its TX ring.

import { readdirSync, realpathSync } from 'node:fs';
import { EPOLL_CTL_ADD, EPOLL_EVENT_SIZE, EPOLLIN } from '../../../sys/constants.js';
import { check, libc } from '../../../sys/libc.js';
import { XDP_MAX_FRAME } from '../constants.js';
import type { RxPort } from '../port.js';
import type { FrameHandler, RxRing } from '../rxring.js';
import {
  attachXdp,
  BPF_F_NO_PREALLOC,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_XSKMAP,
  BpfMap,
  loadXdpProgram,
  XDP_FLAGS_DRV_MODE,
  XDP_FLAGS_SKB_MODE,
} from './bpf.js';
import type { FastMaps } from './fast-prog.js';
import { KEY_SIZE } from './keys.js';
import { xdpProgram } from './prog.js';
import type { Umem } from './umem.js';
import type { Lender } from './xsk-tx.js';
import { XdpRx } from './xsk.js';

export type XdpMode = 'auto' | 'native' | 'generic' | 'off';
export const XDP_MODES: readonly XdpMode[] = ['auto', 'native', 'generic', 'off'];
/** Entries of the keys map: services, real servers and own addresses together. */
const KEYS_MAX = 65536;
/** XSKMAP slots (receive queues); only queue 0 gets a socket. */
const XSKMAP_MAX = 64;

/** --xdp's value (or TSVS_XDP's); undefined is `auto`. Throws on anything else. */
export function parseXdpMode(v: string | undefined, from = '--xdp'): XdpMode {
  if (v === undefined || v === '') return 'auto';
  if ((XDP_MODES as readonly string[]).includes(v)) return v as XdpMode;
  throw new Error(`${from} ${v}: use auto, native, generic or off`);
}

/** --xdp-fast's value (or TSVS_XDP_FAST's): on or off, off when unset. Throws on anything else. */
export function parseXdpFast(v: string | undefined, from = '--xdp-fast'): boolean {
  if (v === undefined || v === '' || v === 'off') return false;
  if (v === 'on') return true;
  throw new Error(`${from} ${v}: use on or off`);
}

/** What to try on an interface, in order, and why; an empty list keeps the packet socket. */
export function xdpPlan(mode: XdpMode, ifname: string): { tries: ('native' | 'generic')[]; why: string } {
  if (mode === 'off') return { tries: [], why: 'AF_XDP is off (--xdp off)' };
  if (mode === 'native') return { tries: ['native'], why: '--xdp native' };
  if (mode === 'generic') return { tries: ['generic'], why: '--xdp generic' };
  let dev = '';
  let queues = 1;
  try {
    dev = realpathSync(`/sys/class/net/${ifname}`);
    queues = readdirSync(`/sys/class/net/${ifname}/queues`).filter((q) => q.startsWith('rx-')).length;
  } catch (e) {
    return {
      tries: [],
      why: `auto: cannot read /sys/class/net/${ifname} (${(e as Error).message}); --xdp generic or native forces AF_XDP`,
    };
  }
  if (dev.includes('/devices/virtual/')) {
    return {
      tries: [],
      why: 'auto: a virtual interface (veth and the like): native AF_XDP is faster there but pins a 64 MiB UMEM and turns off TSO on the veth peer; --xdp native (or generic, which was not faster) forces it',
    };
  }
  if (queues > 1) {
    return {
      tries: [],
      why: `auto: ${queues} receive queues need one AF_XDP socket each, which is not built (docs/multiqueue.md); --xdp native forces queue 0 only`,
    };
  }
  // Generic XDP measured slower than the packet socket (docs/packet-engine.md, "AF_XDP"): auto
  // does not fall back to it.
  return { tries: ['native'], why: 'auto: a physical single-queue interface' };
}

/** The keys map shared by every interface's program, kept equal to the wanted set. */
export class XdpKeys {
  readonly map: BpfMap;
  private cur = new Map<string, Uint8Array>();
  private readonly one = Uint8Array.of(1, 0, 0, 0);

  constructor() {
    this.map = BpfMap.create(BPF_MAP_TYPE_HASH, 'tsvs_takes', KEY_SIZE, 4, KEYS_MAX, BPF_F_NO_PREALLOC);
  }

  /** Adds what is new before deleting what went, so that no frame of a kept key is missed. */
  sync(want: Map<string, Uint8Array>): void {
    for (const [h, k] of want) if (!this.cur.has(h)) this.map.update(k, this.one);
    for (const [h, k] of this.cur) if (!want.has(h)) this.map.delete(k);
    this.cur = new Map(want);
  }

  get size(): number {
    return this.cur.size;
  }

  close(): void {
    this.map.close();
  }
}

/** What RxPair alternates between: a receive port with peek, and its buffer's address (TxQueue.pushRx). */
export interface RxSource {
  readonly addr: number;
  ready(): boolean;
  walk(h: FrameHandler): number;
  peek(h: FrameHandler): number;
  release(): void;
  headroom?(start: number): number;
}

/**
 * Two receive sources behind one port's ready/peek/walk/release, taken in turn when both are
 * ready, so that a busy one never starves the other (the AF_XDP socket and the packet ring, which
 * carries ARP and NDP). The source of the next block is chosen once, by whichever of peek() and
 * walk() comes first, so that the forwarder's warming pass peeks the block that walk() then takes.
 */
export class RxPair<X extends RxSource, R extends RxSource> {
  /** The source walked last: release() hands its block back, `addr` is its buffer's. */
  protected cur: X | R;
  /** The source peek() chose for the next walk(), null when none is chosen yet. */
  private next: X | R | null = null;

  constructor(
    readonly xsk: X,
    readonly ring: R,
  ) {
    this.cur = ring;
  }

  /** Native address of the current block's buffer (TxQueue.pushRx sends from it). */
  get addr(): number {
    return this.cur.addr;
  }

  ready(): boolean {
    return this.xsk.ready() || this.ring.ready();
  }

  /** The source of the next block: the one not walked last when both are ready (a source stays ready until released). */
  private pick(): X | R | null {
    if (this.next) return this.next;
    const x = this.xsk.ready();
    const r = this.ring.ready();
    if (x && (!r || this.cur === this.ring)) return (this.next = this.xsk);
    if (r) return (this.next = this.ring);
    return null;
  }

  peek(h: FrameHandler): number {
    const s = this.pick();
    return s ? s.peek(h) : 0;
  }

  walk(h: FrameHandler): number {
    const s = this.pick();
    if (!s) return 0;
    this.next = null;
    this.cur = s;
    return s.walk(h);
  }

  release(): void {
    this.next = null;
    this.cur.release();
  }

  /** RxPort.headroom of the source being walked. */
  headroom(start: number): number {
    return this.cur.headroom?.(start) ?? 0;
  }
}

/** One interface's receive side on AF_XDP: the socket, the program and its link, and the packet ring. */
export class SplitRx extends RxPair<XdpRx, RxRing> implements RxPort, Lender {
  readonly fd: number;

  private constructor(
    xsk: XdpRx,
    ring: RxRing,
    readonly mode: 'native' | 'generic',
    private readonly xskMap: BpfMap,
    private readonly prog: number,
    private readonly link: number,
    epfd: number,
  ) {
    super(xsk, ring);
    this.fd = epfd;
  }

  /**
   * Opens the AF_XDP socket on queue 0 of `ifname`, loads the program over `keys` and attaches it
   * (the socket is in the XSKMAP first, so no redirected frame is lost). Throws what failed; on
   * failure nothing stays attached and `ring` stays open for the caller.
   */
  static open(
    ifname: string,
    ifindex: number,
    ring: RxRing,
    keys: XdpKeys,
    mode: 'native' | 'generic',
    umem: Umem,
    fast?: FastMaps,
  ): SplitRx {
    const c = libc();
    const undo: (() => void)[] = [];
    try {
      const xsk = XdpRx.open({ ifname, umem });
      undo.push(() => xsk.close());
      const xskMap = BpfMap.create(BPF_MAP_TYPE_XSKMAP, 'tsvs_xsk', 4, 4, XSKMAP_MAX);
      undo.push(() => xskMap.close());
      xsk.bind(ifname, 0);
      xskMap.update(Uint8Array.of(0, 0, 0, 0), Uint8Array.from(new Uint8Array(new Int32Array([xsk.fd]).buffer)));
      const prog = loadXdpProgram(
        xdpProgram({ keysFd: keys.map.fd, xskFd: xskMap.fd, maxLen: XDP_MAX_FRAME, ...(fast ? { fast } : {}) }),
        'tsvs_xdp',
      );
      undo.push(() => c.close(prog));
      const link = attachXdp(prog, ifindex, ifname, mode === 'native' ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
      undo.push(() => c.close(link));
      const ep = check('epoll_create1(AF_XDP port)', c.epollCreate());
      undo.push(() => c.close(ep));
      const ev = new Uint8Array(EPOLL_EVENT_SIZE);
      new DataView(ev.buffer).setUint32(0, EPOLLIN, true);
      check('epoll_ctl(AF_XDP socket)', c.epollCtl(ep, EPOLL_CTL_ADD, xsk.fd, ev));
      check('epoll_ctl(packet ring)', c.epollCtl(ep, EPOLL_CTL_ADD, ring.fd, ev));
      return new SplitRx(xsk, ring, mode, xskMap, prog, link, ep);
    } catch (e) {
      for (const u of undo.reverse()) u();
      throw e;
    }
  }

  /** The AF_XDP socket when the block being walked is its (XskTx sends such frames from the UMEM). */
  lender(): XdpRx | null {
    return this.cur === this.xsk ? this.xsk : null;
  }

  get warnings(): readonly string[] {
    return [...this.xsk.warnings, ...this.ring.warnings];
  }

  get frames(): number {
    return this.xsk.frames + this.ring.frames;
  }

  statistics(): { packets: number; drops: number } {
    const a = this.xsk.statistics();
    const b = this.ring.statistics();
    return { packets: a.packets + b.packets, drops: a.drops + b.drops };
  }

  /** Detaches the program first (closing the link), then releases the rest. */
  close(): string[] {
    const c = libc();
    const failed: string[] = [];
    if (c.close(this.link) < 0) failed.push(`close of the XDP link failed: ${c.strerror(c.errno())}`);
    c.close(this.prog);
    this.xskMap.close();
    c.close(this.fd);
    failed.push(...this.xsk.close(), ...this.ring.close());
    return failed;
  }
}
