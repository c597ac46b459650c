// The packet engine: raw frames on the namespace's Ethernet interfaces, forwarded by NAT (-m),
// DR (-g), TUN (-i: ipip, gue, gre) and FULLNAT (--fullnat, with the service's --laddr) through the same core as every other engine. It runs on the daemon's thread,
// cooperatively: each turn walks every ready ring block, transmits in batches, hands the
// blocks back, and yields to the event loop (control socket, timers). When a turn finds nothing
// to do, it waits in a poll() run on a libuv worker thread over the rings, the rtnetlink socket
// and a wake-up eventfd: an idle director costs nothing and its control socket stays served.
// Links, addresses, routes and neighbours are followed over rtnetlink (rtnl.ts), never polled.
// An nftables table of our own keeps the kernel from also answering or forwarding what the
// engine takes (docs/notes/packet-io.md). With --xdp (xdp/path.ts), an interface also receives
// what the director takes through an AF_XDP socket, its packet ring keeping the rest.

import type { Ipvs } from '../../core/ipvs.js';
import { type Engine, type EngineStatus, type UnservedRule } from '../../control/engine.js';
import { type Logger, stderrLogger } from '../../control/log.js';
import { Addr } from '../../core/inet.js';
import { DROP } from '../../wire/drops.js';
import { parseMac } from '../../wire/eth.js';
import { Forwarder, ip4, show6 } from './forward.js';
import { Iface } from './iface.js';
import { POLLIN } from '../../sys/constants.js';
import { check, libc } from '../../sys/libc.js';
import type { NetInfo } from './netinfo.js';
import { applyNft, type IngressMatch, nftOwnerNote, removeNft } from './nft.js';
import { Rtnl } from './rtnl.js';
import type { RxPort } from './port.js';
import { RxRing } from './rxring.js';
import { applyTakes, words } from './apply.js';
import { type Host, planTakes } from './takes.js';
import { TxQueue } from './tx.js';
import { warmUp } from './warmup.js';
import { turn, type TurnHooks } from './turn.js';
import { xdpKeys } from './xdp/keys.js';
import { SplitRx, XdpKeys, type XdpMode, xdpPlan } from './xdp/path.js';
import { FAST_CREDIT_MS, FastPath } from './xdp/fast.js';
import { Umem } from './xdp/umem.js';
import { XskTx } from './xdp/xsk-tx.js';

/** ARP/NDP retries, queued transmits and the rings' drop counters: ARP_RETRY_MS / 2.5, see neigh.ts. */
const HOUSEKEEP_MS = 100;
const skipFrame = (): void => {};
/**
 * Housekeeping stops after this many ticks without a received frame (an idle director then
 * has no timer of its own): by then every frame that waited for ARP/NDP was sent or dropped
 * (ARP_TRIES × ARP_RETRY_MS = 1 s). The next frame or rule change starts it again.
 */
const HOUSEKEEP_IDLE_TICKS = 20;
const WAKE = Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0);
/** After the last frame, how long an engine with AF_XDP sockets keeps looking every millisecond before it sleeps in poll(). */
const XDP_LINGER_MS = 50;

export interface PacketEngineOptions {
  /** Interfaces to run on; default: every Ethernet interface that is up. */
  interfaces?: string[];
  /** AF_XDP receive path (xdp/path.ts): auto (default), native, generic or off. */
  xdp?: XdpMode;
  /** Forward established conns inside the XDP program (xdp/fast.ts); needs AF_XDP on the interfaces. */
  xdpFast?: boolean;
  /** Compile the forwarding path on synthetic frames before the first real one (warmup.ts); default off. */
  warmup?: boolean;
  log?: Logger;
}

export class PacketEngine implements Engine {
  readonly name = 'packet' as const;
  private readonly log: Logger;
  private ipvs: Ipvs | null = null;
  private clock: () => number = () => 0;
  private fwd: Forwarder | null = null;
  private ifaces: Iface[] = [];
  /** poll() set: every ring, then the rtnetlink socket, then the wake-up eventfd. */
  private pfds = new Uint8Array(0);
  private rtnl: Rtnl | null = null;
  private wakeFd = -1;
  private readonly wakeBuf = new Uint8Array(8);
  /** A poll() is running on a worker thread; `sleepDone` runs when it returns. */
  private sleeping = false;
  private sleepDone: (() => void) | null = null;
  private running = false;
  private housekeeper: NodeJS.Timeout | null = null;
  private idleTicks = 0;
  private lastFrames = -1;
  private nftQueue: Promise<void> = Promise.resolve();
  private nftError: string | null = null;
  /** The ingress matches the next nftables transaction installs, and whether one is queued unstarted. */
  private nftWant = new Map<string, IngressMatch[]>();
  private nftWaiting = false;
  /** nftables transactions started: one per burst of rule changes, not one per change. */
  private nftTransactions = 0;
  /** Rules changed since the last rulesChanged(). */
  private dirty = false;
  /** Local addresses of both families, as text, and the interface holding each. */
  private localAddrs = new Map<string, string>();
  /** VIPs VRRP moves between directors: the kernel answers ARP for them where VRRP put them. */
  private vrrpVips = new Set<string>();
  private unserved: UnservedRule[] = [];
  private loopError: string | null = null;
  private kernelDrops = 0;
  /** The XDP programs' keys map, created with the first interface on AF_XDP. */
  private xdpKeys: XdpKeys | null = null;
  /** The UMEM new AF_XDP sockets share (xdp/umem.ts); a new one when it is full or spent. */
  private umem: Umem | null = null;
  /** Per interface: which receive path it uses and why, for `tsvs status`. */
  private paths = new Map<string, string>();
  /** --xdp native/generic that could not be set up: start() fails with them. */
  private xdpErrors: string[] = [];
  private xdpKeysError: string | null = null;
  /** Interfaces on AF_XDP, and when the loop last found work (for XDP_LINGER_MS). */
  private xdpIfaces = 0;
  private lastWork = 0;
  /** The XDP fast path (--xdp-fast on), created with the first interface on AF_XDP. */
  private fast: FastPath | null = null;
  private fastError: string | null = null;
  /** Credits the fast path's counters every FAST_CREDIT_MS while it holds entries. */
  private fastTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: PacketEngineOptions = {}) {
    this.log = o.log ?? stderrLogger;
  }

  async start(ipvs: Ipvs, clock: () => number): Promise<void> {
    if (process.platform !== 'linux') {
      throw new Error('the packet engine needs Linux (AF_PACKET sockets); start the daemon with --engine proxy');
    }
    this.ipvs = ipvs;
    this.clock = clock;
    const fwd = new Forwarder(ipvs, true, this.log);
    this.fwd = fwd;
    ipvs.onExpire((ref) => {
      fwd.pp.delete(ref);
      this.fast?.removeConn(ref);
    });
    this.wakeFd = check('eventfd(packet engine wake-up)', libc().eventfd());
    const rtnl = Rtnl.open();
    this.rtnl = rtnl;
    rtnl.dumpAllSync();
    this.applyNetInfo(rtnl.state.netInfo());
    // After the interfaces: the real rings and ports exist by then, so the compiled code is not
    // thrown away again when they appear (V8 deoptimised most of the path on them otherwise).
    if (this.o.warmup === true) this.warmUp();
    if (this.xdpErrors.length > 0) {
      const why = this.xdpErrors.join('; ');
      await this.stop();
      throw new Error(`packet engine: ${why}`);
    }
    if (this.ifaces.length === 0) {
      this.log('packet engine: no Ethernet interface is up in this namespace yet; will pick them up when they appear');
    }
    ipvs.rules.listeners.push({
      serviceAdded: () => this.rulesDirty(),
      serviceEdited: () => this.rulesDirty(),
      serviceDeleted: () => this.rulesDirty(),
      destAdded: () => this.rulesDirty(),
      destEdited: () => this.rulesDirty(),
      destDeleted: () => this.rulesDirty(),
      destFreed: () => this.rulesDirty(),
    });
    this.rulesChanged();
    this.running = true;
    setImmediate(this.loop);
    this.housekeepSoon();
  }

  /**
   * Compiles the forwarding path (warmup.ts). Frames that reached the rings meanwhile came before
   * this engine applied any rule (its claim table is not there yet, so the kernel saw them too):
   * they are released without being forwarded, as by a director that was still starting.
   */
  private warmUp(): void {
    const w = warmUp(true);
    let skipped = 0;
    for (const i of this.ifaces) {
      while (i.rx.ready()) {
        skipped += i.rx.walk(skipFrame);
        i.rx.release();
      }
    }
    this.log(
      `packet engine: compiled the forwarding path on ${w.frames} synthetic frames in ${w.ms.toFixed(0)} ms${skipped > 0 ? ` (${skipped} frames that came meanwhile were not forwarded)` : ''}`,
    );
    if (w.forwarded !== w.frames) {
      this.log(
        `packet engine: warning: the warm-up forwarded ${w.forwarded} of its ${w.frames} frames; the first real frames may run slower than the rest (a tsvs bug: please report it)`,
      );
    }
  }

  /** (Re)starts housekeeping: frames arrived, or rules changed (ARP requests went out). */
  private housekeepSoon(): void {
    this.idleTicks = 0;
    if (this.housekeeper !== null || !this.running) return;
    this.housekeeper = setInterval(this.housekeep, HOUSEKEEP_MS);
  }

  private readonly housekeep = (): void => {
    this.fwd!.housekeep(this.clock());
    this.flushAll();
    this.collectDrops();
    let frames = 0;
    for (const i of this.ifaces) frames += i.rx.frames;
    if (frames !== this.lastFrames) {
      this.lastFrames = frames;
      this.idleTicks = 0;
    } else if (++this.idleTicks >= HOUSEKEEP_IDLE_TICKS && this.housekeeper !== null) {
      clearInterval(this.housekeeper);
      this.housekeeper = null;
    }
  };

  /** Adds the kernel's ring-full drops (PACKET_STATISTICS resets them on each read). */
  private collectDrops(): void {
    for (const i of this.ifaces) this.kernelDrops += i.rx.statistics().drops;
  }

  /** Resolves once the kernel filter matches the rules (the daemon answers tsvsadm after it). */
  settle(): Promise<void> {
    if (this.dirty) this.rulesChanged();
    return this.nftQueue;
  }

  /**
   * A rule changed: recompute once the command is done. Listeners are told before a deleted
   * service leaves the rules (and -C or -R fire hundreds of events), so the work waits for the
   * end of the command; settle() does it at once if the daemon asks first. Not a microtask:
   * -R awaits each of its lines, and a recompute and nftables transaction per line made a
   * restore of 100 services x 10 dests take 114 s (2026-12-07, a namespace with one veth).
   */
  private rulesDirty(): void {
    if (this.dirty) return;
    this.dirty = true;
    setImmediate(() => {
      if (this.dirty) this.rulesChanged();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.housekeeper !== null) clearInterval(this.housekeeper);
    this.housekeeper = null;
    if (this.fastTimer !== null) clearInterval(this.fastTimer);
    this.fastTimer = null;
    if (this.sleeping) {
      const woke = new Promise<void>((resolve) => (this.sleepDone = resolve));
      libc().write(this.wakeFd, WAKE, 8);
      await woke;
    }
    await this.nftQueue;
    await removeNft();
    for (const i of this.ifaces) {
      for (const f of [...(i.rx.close() ?? []), ...(i.tx.close() ?? [])]) this.log(`packet engine: ${i.name}: ${f}`);
    }
    this.ifaces = [];
    this.xdpKeys?.close();
    this.xdpKeys = null;
    this.fast?.close();
    this.fast = null;
    if (this.fwd) this.fwd.fast = null;
    for (const f of this.umem?.dispose() ?? []) this.log(`packet engine: ${f}`);
    this.umem = null;
    this.rtnl?.close();
    this.rtnl = null;
    if (this.wakeFd >= 0) libc().close(this.wakeFd);
    this.wakeFd = -1;
  }

  setVrrpVips(addrs: string[]): void {
    this.vrrpVips = new Set(addrs.map((a) => Addr.parse(a)?.toString() ?? a));
    this.rulesChanged();
  }

  status(): EngineStatus {
    const fwd = this.fwd;
    const notes: string[] = [];
    this.collectDrops();
    if (fwd) {
      const c = fwd.counters;
      notes.push(
        `forwarded ${c.forwardedIn} in, ${c.forwardedOut} out; ARP/NDP ${c.arpRequests} requests sent, ${c.arpReplies} replies for VIPs; ICMP fragmentation-needed sent ${c.icmpFragNeeded}`,
      );
      let frames = 0;
      for (const i of this.ifaces) frames += i.rx.frames;
      notes.push(`received ${frames} frames; the kernel dropped ${this.kernelDrops} for a full ring`);
    }
    const owner = nftOwnerNote();
    if (owner) notes.push(`nftables: ${owner}`);
    for (const i of this.ifaces) {
      const a4 = i.addrs.map((a, k) => `${ip4(a)}/${i.prefixes[k]}`);
      const a6 = i.addrs6.map((a, k) => `${show6(a)}/${i.prefixes6[k]}`);
      notes.push(`interface ${i.name}: ifindex ${i.ifindex}, mtu ${i.mtu}, addresses ${[...a4, ...a6].join(' ') || '(none)'}`);
      const path = this.paths.get(i.name);
      if (path) {
        const x = i.rx instanceof SplitRx ? i.rx : null;
        const seen = x
          ? `: ${x.xsk.frames} frames through AF_XDP (${x.xsk.partial} with partial checksums), ${x.ring.frames} through the packet socket; ` +
            `the kernel dropped ${x.xsk.fillEmptyDrops} with the AF_XDP fill ring empty, ${x.xsk.ringFullDrops} with its RX ring full`
          : '';
        notes.push(`interface ${i.name}: receive path ${path}${seen}`);
      }
      if (i.tx instanceof XskTx) {
        const t = i.tx;
        const err = t.kickErrors > 0 ? `; ${t.kickErrors} kicks failed, last: ${libc().strerror(t.lastKickError)}` : '';
        const f = t.fallback;
        const viaSocket = f instanceof TxQueue ? f.sent : 0;
        notes.push(`interface ${i.name}: transmit ${t.sent} frames from the AF_XDP TX ring, ${viaSocket} through the packet socket${err}`);
      }
      const ring = i.rx instanceof SplitRx ? i.rx.ring : i.rx instanceof RxRing ? i.rx : null;
      if (ring) {
        notes.push(
          `interface ${i.name}: receive ring ${ring.blocks} blocks, ${ring.mappedBytes >> 20} MiB mapped${ring.growth ? `; ${ring.growth}` : ''}`,
        );
      }
    }
    if (this.xdpKeysError) notes.push(`af_xdp: ${this.xdpKeysError}`);
    if (this.fast) notes.push(...this.fast.notes());
    else if (this.o.xdpFast) notes.push(`xdp fast path: ${this.fastError ?? 'no interface runs on AF_XDP (--xdp native or generic)'}`);
    for (const e of this.xdpErrors) notes.push(`af_xdp: ${e}; that interface is not served`);
    if (fwd) notes.push(`routes (main table): ${fwd.routes.size} IPv4, ${fwd.v6.routes.size} IPv6`);
    const nl = this.rtnl;
    if (nl) {
      notes.push(
        `kernel network state: rtnetlink, ${nl.notifications} notifications, ${nl.dumps} dumps, ${nl.overruns} overruns${nl.error ? `; last error: ${nl.error}` : ''}`,
      );
    }
    for (const i of this.ifaces) notes.push(...(i.rx.warnings ?? []), ...(i.tx.warnings ?? []));
    if (this.nftError) notes.push(`nftables: ${this.nftError}`);
    if (this.loopError) notes.push(`data path error: ${this.loopError}`);
    const drops = fwd ? fwd.drops.toRecord() : {};
    const st: EngineStatus = {
      engine: 'packet',
      interfaces: this.ifaces.map((i) => i.name),
      unserved: this.unserved,
      drops,
      notes,
    };
    if (fwd) {
      const c = fwd.counters;
      let frames = 0;
      for (const i of this.ifaces) frames += i.rx.frames;
      st.counters = {
        received_frames: frames,
        ring_dropped_frames: this.kernelDrops,
        forwarded_incoming_packets: c.forwardedIn,
        forwarded_outgoing_packets: c.forwardedOut,
        arp_requests: c.arpRequests,
        arp_replies: c.arpReplies,
        icmp_frag_needed: c.icmpFragNeeded,
        nft_transactions: this.nftTransactions,
      };
      const fs = this.fast?.stats;
      if (fs) {
        st.counters.xdp_fast_packets = fs.packets;
        st.counters.xdp_fast_entries_added = fs.inserted;
        st.counters.xdp_fast_entries_removed = fs.removed;
      }
    }
    return st;
  }

  // --- the data path loop ----------------------------------------------------------------------

  private readonly loop = (): void => {
    if (!this.running) return;
    const fwd = this.fwd!;
    fwd.now = this.clock();
    let work = 0;
    try {
      work = turn(this.ifaces, this.hooks);
      if (this.followKernel()) work++;
      if (this.fast !== null) this.fastAfterTurn(fwd);
    } catch (e) {
      // Never let one frame stop the director: note it, count the frame, keep going (turn()
      // discarded the queues and released the blocks).
      this.fwd?.drops.add(DROP.data_path_error);
      const msg = (e as Error).stack ?? String(e);
      if (this.loopError === null) this.log(`packet engine: data path error (continuing): ${msg}`);
      this.loopError = msg.split('\n')[0]!;
    }
    if (work > 0) {
      if (this.housekeeper === null) this.housekeepSoon();
      if (this.xdpIfaces > 0) this.lastWork = performance.now();
      setImmediate(this.loop);
    } else if (this.xdpIfaces > 0 && performance.now() - this.lastWork < XDP_LINGER_MS) {
      // A TX ring may hold frames the kernel was too busy to take, and completions to reap.
      this.flushAll();
      // An AF_XDP socket wakes a poller per kernel flush (per frame in generic mode), where a
      // TPACKET_V3 block wakes it once per block: while traffic flows, look again in a
      // millisecond (the ring's block timeout) instead of sleeping in poll().
      setTimeout(this.loop, 1);
    } else this.sleep();
  };

  /** Waits, off the event loop, until a ring, the netlink socket or the wake-up fd is readable. */
  private sleep(): void {
    this.sleeping = true;
    libc().pollAsync(this.pfds, this.pfds.length / 8, -1, this.woken);
  }

  private readonly woken = (): void => {
    this.sleeping = false;
    // The wake-up fd's revents (last slot): drain it so that the next poll() blocks again.
    if (this.pfds[this.pfds.length - 2] !== 0) libc().read(this.wakeFd, this.wakeBuf, 8);
    if (this.running) this.loop();
    const done = this.sleepDone;
    this.sleepDone = null;
    done?.();
  };

  /** Applies what rtnetlink reported; true when more may be waiting in its socket. */
  private followKernel(): boolean {
    const rtnl = this.rtnl!;
    const more = rtnl.pump();
    const st = rtnl.state;
    // Mid-dump the state is partial (a dump starts from empty): apply once it is whole.
    if (rtnl.synced && (st.netChanged || st.pendingNeighs > 0)) this.applyNetInfo(st.netInfo(), st.netChanged);
    return more;
  }

  private readonly hooks: TurnHooks = {
    walk: (i) => this.fwd!.walk(i),
    flush: () => this.flushAll(),
    discarded: (n) => this.fwd!.drops.add(DROP.data_path_error, n),
  };

  private flushAll(): void {
    for (const i of this.ifaces) {
      const before = i.tx.dropped;
      i.tx.flush();
      if (i.tx.dropped !== before) this.fwd!.drops.add(DROP.tx_failed, i.tx.dropped - before);
    }
  }

  // --- configuration ---------------------------------------------------------------------------

  private applyNetInfo(info: NetInfo, moved = true): void {
    const fwd = this.fwd!;
    if (moved) this.fast?.clear('links, addresses or routes changed');
    const wanted = info.links.filter((l) => l.up && l.ether && (this.o.interfaces === undefined || this.o.interfaces.includes(l.name)));
    const keep = new Set(wanted.map((l) => l.ifindex));
    for (const i of this.ifaces.filter((x) => !keep.has(x.ifindex))) {
      this.log(`packet engine: interface ${i.name} is gone or down; stopped using it`);
      for (const f of [...(i.rx.close() ?? []), ...(i.tx.close() ?? [])]) this.log(`packet engine: ${i.name}: ${f}`);
      fwd.ifaces[i.ifindex] = undefined;
    }
    const before = this.ifaces.length;
    this.ifaces = this.ifaces.filter((x) => keep.has(x.ifindex));
    let ifacesChanged = this.ifaces.length !== before;
    for (const l of wanted) {
      if (this.ifaces.some((x) => x.ifindex === l.ifindex)) continue;
      const mac = parseMac(l.mac);
      if (!mac) continue;
      try {
        const rx = RxRing.open({ ifname: l.name, vnetHdr: true, log: (m) => this.log(`packet engine: ${m}`) });
        let tx: TxQueue;
        try {
          tx = TxQueue.open({ ifname: l.name, vnetHdr: true });
        } catch (e) {
          for (const f of rx.close()) this.log(`packet engine: ${l.name}: ${f}`);
          throw e;
        }
        const port = this.openXdp(l.name, l.ifindex, rx, tx);
        if (!port) continue;
        // On AF_XDP, frames received into the UMEM leave from the socket's TX ring; the rest
        // through the packet socket.
        const out = port instanceof SplitRx ? new XskTx(port.xsk, tx) : tx;
        const iface = new Iface(l.name, l.ifindex, mac, l.mtu, port, out);
        this.ifaces.push(iface);
        fwd.ifaces[l.ifindex] = iface;
        ifacesChanged = true;
        this.log(`packet engine: running on ${l.name} (ifindex ${l.ifindex}, ${l.mac}, mtu ${l.mtu})`);
        for (const w of [...rx.warnings, ...tx.warnings]) this.log(`packet engine: ${w}`);
      } catch (e) {
        this.log(`packet engine: cannot open ${l.name}: ${(e as Error).message}`);
      }
    }
    for (const i of this.ifaces) {
      const l = info.links.find((x) => x.ifindex === i.ifindex);
      if (l) i.mtu = l.mtu;
      const mine = info.addrs.filter((a) => a.ifindex === i.ifindex);
      i.addrs = mine.map((a) => a.addr);
      i.prefixes = mine.map((a) => a.prefix);
      const mine6 = info.addrs6.filter((a) => a.ifindex === i.ifindex);
      i.addrs6 = mine6.map((a) => words(a.addr));
      i.prefixes6 = mine6.map((a) => a.prefix);
    }
    this.xdpIfaces = this.ifaces.filter((i) => i.rx instanceof SplitRx).length;
    const fds = [...this.ifaces.map((i) => i.rx.fd), this.rtnl!.fd, this.wakeFd];
    this.pfds = new Uint8Array(8 * fds.length);
    const dv = new DataView(this.pfds.buffer);
    fds.forEach((fd, k) => {
      dv.setInt32(k * 8, fd, true);
      dv.setInt16(k * 8 + 4, POLLIN, true);
    });
    fwd.routes.load(info.routes);
    // Kernel neighbours that changed (all of them after a dump): a MAC the operator or the
    // kernel set replaces the one the engine had.
    for (const n of info.neighs) {
      const e = fwd.neigh.get(n.addr);
      const mac = parseMac(n.mac);
      if (!mac || (e && e.resolved && e.ifindex === n.ifindex && sameMac(e.mac, mac))) continue;
      const learned = fwd.neigh.learn(n.addr, n.ifindex, mac, 0);
      if (learned.pending.length > 0) fwd.flushPending(learned);
    }
    fwd.v6.routes.load(info.routes6);
    for (const n of info.neighs6) {
      const w = words(n.addr);
      const e = fwd.v6.neigh.get(w);
      const mac = parseMac(n.mac);
      if (!mac || (e && e.resolved && e.ifindex === n.ifindex && sameMac(e.mac, mac))) continue;
      const learned = fwd.v6.neigh.learn(w, n.ifindex, mac, 0);
      if (learned.pending.length > 0) fwd.flushPending(learned);
    }
    const ifname = (ifindex: number): string => info.links.find((l) => l.ifindex === ifindex)?.name ?? '';
    const local = new Map<string, string>([
      ...info.addrs.map((a): [string, string] => [ip4(a.addr), ifname(a.ifindex)]),
      ...info.addrs6.map((a): [string, string] => [a.addr.toString(), ifname(a.ifindex)]),
    ]);
    const changed = local.size !== this.localAddrs.size || [...local].some(([a, i]) => this.localAddrs.get(a) !== i);
    this.localAddrs = local;
    // New or vanished interfaces need their nft chains; new local addresses change VIP ownership.
    if (changed || ifacesChanged) this.rulesChanged();
    this.flushAll();
  }

  /** The fast path when --xdp-fast is on (created once; a failure is reported and the engine goes on without). */
  private fastPath(): FastPath | null {
    if (!this.o.xdpFast || this.fastError !== null) return this.fast;
    if (this.fast === null) {
      try {
        this.fast = new FastPath(this.ipvs!, (m) => this.log(m));
        this.fwd!.fast = this.fast;
      } catch (e) {
        this.fastError = `cannot set up (${(e as Error).message}); established conns go through AF_XDP as without --xdp-fast`;
        this.log(`packet engine: xdp fast path: ${this.fastError}`);
      }
    }
    return this.fast;
  }

  /** After a turn: a neighbour that moved invalidates the MACs in the map; entries need the credit timer. */
  private fastAfterTurn(fwd: Forwarder): void {
    const fast = this.fast!;
    fast.now = fwd.now;
    if (fwd.neigh.moves !== fast.neighMoves) {
      fast.neighMoves = fwd.neigh.moves;
      fast.clear('a neighbour moved to another MAC or interface');
    }
    if (fast.size > 0 && this.fastTimer === null) this.fastTimer = setInterval(this.fastTick, FAST_CREDIT_MS);
  }

  private readonly fastTick = (): void => {
    const fast = this.fast;
    if (fast === null) return;
    fast.tick(this.clock());
    if (fast.size === 0 && this.fastTimer !== null) {
      clearInterval(this.fastTimer);
      this.fastTimer = null;
    }
  };

  /**
   * The interface's receive port: its packet ring alone, or with an AF_XDP socket (SplitRx) as
   * --xdp says. Under auto a failure keeps the packet socket, with the reason in the log and
   * status; under native or generic it is an error (null: the interface is not served).
   */
  private openXdp(name: string, ifindex: number, rx: RxRing, tx: TxQueue): RxPort | null {
    const mode = this.o.xdp ?? 'auto';
    const plan = xdpPlan(mode, name);
    const failed: string[] = [];
    for (const how of plan.tries) {
      try {
        this.xdpKeys ??= new XdpKeys();
        const fast = this.fastPath();
        if (!this.umem || this.umem.spent || this.umem.free() < 0) this.umem = Umem.map();
        const port = SplitRx.open(name, ifindex, rx, this.xdpKeys, how, this.umem, fast?.maps);
        this.paths.set(name, `af_xdp ${how} (${plan.why})`);
        this.log(`packet engine: ${name} receives through AF_XDP, ${how} XDP (${plan.why})`);
        return port;
      } catch (e) {
        failed.push(`${how}: ${(e as Error).message}`);
      }
    }
    if (failed.length > 0 && mode !== 'auto') {
      const why = `--xdp ${mode} on ${name} failed: ${failed.join('; ')}`;
      if (!this.xdpErrors.includes(why)) {
        this.log(`packet engine: ${why}`);
        this.xdpErrors.push(why);
      }
      for (const f of [...rx.close(), ...tx.close()]) this.log(`packet engine: ${name}: ${f}`);
      return null;
    }
    const why = failed.length > 0 ? `auto: AF_XDP setup failed, kept the packet socket: ${failed.join('; ')}` : plan.why;
    if (failed.length > 0) this.log(`packet engine: ${name}: ${why}`);
    this.paths.set(name, `packet socket (${why})`);
    return rx;
  }

  /** Recomputes what the engine takes, the kernel filter, VIP announcements and unserved rules. */
  private rulesChanged(): void {
    const ipvs = this.ipvs;
    const fwd = this.fwd;
    if (!ipvs || !fwd) return;
    this.dirty = false;
    // A conn whose dest went away is the slow path's again (expire_nodest_conn acts on its next packet).
    this.fast?.prune();
    const host: Host = { local: this.localAddrs, served: new Set(this.ifaces.map((i) => i.name)) };
    const t = planTakes(ipvs.rules.services(), host, (s) => Addr.parse(s), ipvs.rules.trashed());
    for (const d of t.dests) this.preResolve(d);
    // VIPs VRRP moves are answered for by the kernel where VRRP puts them, never by the engine.
    const fresh = applyTakes(fwd, t, { has: (k) => this.localAddrs.has(k) || this.vrrpVips.has(k) });
    for (const k of fresh) {
      const isVip = t.vips6.has(k) || [...t.vips].some((v) => ip4(v) === k);
      this.log(
        `packet engine: ${isVip ? 'VIP' : 'FULLNAT local address'} ${k} is on no interface here; answering ${k.includes(':') ? 'NDP' : 'ARP'} for it`,
      );
    }
    for (const k of fresh) {
      const a = Addr.parse(k)!;
      if (a.isV6) fwd.v6.announceVip(words(a));
      else fwd.announceVip(a.w0);
    }
    this.flushAll();
    this.housekeepSoon();
    this.unserved = t.unserved;
    if (this.xdpKeys) {
      try {
        this.xdpKeys.sync(xdpKeys(t.matches, t.own4, t.own6));
        this.xdpKeysError = null;
      } catch (e) {
        // The frames the program does not redirect still reach the packet ring: slower, not lost.
        const msg = `the XDP keys map could not follow the rules (those frames stay on the packet socket): ${(e as Error).message}`;
        if (this.xdpKeysError !== msg) this.log(`packet engine: ${msg}`);
        this.xdpKeysError = msg;
      }
    }
    const devices = new Map<string, IngressMatch[]>();
    if (t.matches.length > 0) for (const i of this.ifaces) devices.set(i.name, t.matches);
    // One transaction waiting at most: one that has not started yet takes the latest rules, so
    // a burst of changes costs two transactions, not one each.
    this.nftWant = devices;
    if (this.nftWaiting) return;
    this.nftWaiting = true;
    this.nftQueue = this.nftQueue
      .then(() => {
        this.nftWaiting = false;
        this.nftTransactions++;
        return applyNft({ devices: this.nftWant });
      })
      .then(() => {
        this.nftError = null;
      })
      .catch((e: Error) => {
        if (this.nftError !== e.message) this.log(`packet engine: ${e.message}`);
        this.nftError = e.message;
      });
  }

  /** Starts ARP (NDP) for a dest's next hop so that the first conn does not wait for it. */
  private preResolve(addr: Addr): void {
    const fwd = this.fwd!;
    if (addr.isV6) {
      const w = words(addr);
      const ifindex = fwd.v6.routes.lookup(w);
      if (ifindex <= 0 || !fwd.ifaces[ifindex]) return;
      const n = fwd.v6.neigh.entry(fwd.v6.routes.viaGateway ? fwd.v6.routes.gateway : w, ifindex);
      if (!n.resolved) fwd.solicit(n);
      return;
    }
    const ifindex = fwd.routes.lookup(addr.w0);
    if (ifindex <= 0 || !fwd.ifaces[ifindex]) return;
    const nh = fwd.routes.gateway || addr.w0;
    const n = fwd.neigh.entry(nh, ifindex);
    if (!n.resolved) fwd.solicit(n);
  }
}

function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}
