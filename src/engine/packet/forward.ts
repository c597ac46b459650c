// The per-frame data path: parse, ask the core, rewrite, route, resolve, queue for transmit.
// One Forwarder serves every interface of the engine; it owns one Frame and one PacketInfo
// and reuses them, so a forwarded frame allocates nothing. Frames are sent straight from the
// receive ring (the engine flushes before handing the block back to the kernel).
//
// Forwarding methods: one transmit function per method and family, chosen by the conn's
// forwarding bits (xmit.ts, as the kernel's ip_vs_bind_xmit). NAT, FULLNAT and DR rewrite the
// frame in place; TUN writes the outer header in front of the request where the receive
// buffer leaves room (AF_XDP's headroom, RxPort.headroom), else builds the encapsulated frame
// in the transmit arena (xmit/tunnel.ts). A
// frame too big for the next hop gets the sender an ICMP "fragmentation needed" when it
// carries DF. Next hops are returned by hop(), never kept in a field between calls.
//
// What is taken: IPv4 TCP/UDP to a service VIP (the in-hook) and, for NAT, replies from a
// masq dest's address (the out-hook), plus ICMP errors about either. Everything else is the
// kernel's: it gets its own copy of every frame, and nft drops only what the engine takes.

import {
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_FULLNAT,
  IP_VS_CONN_F_FWD_MASK,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE,
} from '../../core/constants.js';
import { bindIn, bindOut, hasLocalAddrs, verdictDrop, type Xmit } from './xmit.js';
import { TCP_SYN } from '../../core/conn/tcp.js';
import type { Dest } from '../../core/dest.js';
import { Addr, format4 } from '../../core/inet.js';
import { type Ipvs, PacketInfo, VERDICT_ACCEPT } from '../../core/ipvs.js';
import { ARP_REPLY, ARP_REQUEST, ArpInfo, writeArp } from '../../wire/arp.js';
import { DROP, DropCounters } from '../../wire/drops.js';
import { read32, write16 } from '../../wire/csum.js';
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6, setMacs } from '../../wire/eth.js';
import { Frame, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, PARSE_ARP, PARSE_IP4, PARSE_IP6, PARSE_MALFORMED } from '../../wire/frame.js';
import { completeChecksum, gsoHeaderLen, gsoSegments, gsoSize, gsoType, VNET_GSO_NONE, writeSegment } from '../../xmit/gso.js';
import { fullnatIcmpIn, fullnatIcmpOut, IcmpQuote, isIcmpError, natIcmpIn, natIcmpOut, writeFragNeeded } from '../../xmit/icmp.js';
import { decTtl } from '../../xmit/ip.js';
import { needsHeader, type ProxyInsert, writeWithHeader } from '../../xmit/proxy-insert.js';
import { proxyV1, proxyV2 } from '../../wire/proxy-protocol.js';
import { gueSourcePort, newTunnelSpec, type TunnelSpec, tunnelOverhead, writeTunnel } from '../../xmit/tunnel.js';
import { connHash4 } from '../../core/conn/table.js';
import { VNET_HDR_LEN, WARM_BATCH, WARM_MIN_CONNS } from './constants.js';
import type { Iface } from './iface.js';
import { ARP_RETRY_MS, ARP_TRIES, NEIGH_QUEUE_MAX, type Neigh, NeighTable } from './neigh.js';
import { Path6 } from './forward6.js';
import { RouteTable } from './routes.js';
import { fastTunKind } from './xdp/fast-entry.js';

/** The XDP fast path as the forwarder sees it (xdp/fast.ts). */
export interface FastOffer {
  /**
   * `f` was just sent out of `out` for conn `ref`, rewritten; `p` holds the tuple it came with,
   * `dir` the hook (0 in, 1 out), `rx` the interface it came in on, `proxied` whether a PROXY
   * protocol header rides on the conn. A TUN (ipip) request was sent encapsulated instead: the
   * frame that left is in `enc` at `encAt` (else `enc` is null), `f` the request inside it.
   */
  offer(
    ref: number,
    f: Frame,
    p: PacketInfo,
    dir: number,
    out: Iface,
    rx: Iface,
    proxied: boolean,
    enc: Uint8Array | null,
    encAt: number,
  ): void;
}

export interface ForwardCounters {
  forwardedIn: number;
  forwardedOut: number;
  arpReplies: number;
  arpRequests: number;
  /** ICMP "fragmentation needed" sent to senders of frames too big for the next hop. */
  icmpFragNeeded: number;
}

/** The smallest tunnel MTU the kernel accepts (IPv4): below it the request is dropped. */
const TUNNEL_MTU_MIN = 68;
/** IPv6 inside: the tunnel must carry the IPv6 minimum MTU. */
const TUNNEL_MTU_MIN6 = 1280;

export class Forwarder {
  readonly f = new Frame();
  readonly p = new PacketInfo();
  readonly q = new IcmpQuote();
  readonly arp = new ArpInfo();
  readonly drops = new DropCounters();
  readonly routes = new RouteTable();
  readonly neigh = new NeighTable();
  readonly counters: ForwardCounters = { forwardedIn: 0, forwardedOut: 0, arpReplies: 0, arpRequests: 0, icmpFragNeeded: 0 };
  private readonly tun: TunnelSpec = newTunnelSpec();
  /** FULLNAT conns whose real server gets a PROXY protocol header, by conn ref. */
  readonly pp = new Map<number, ProxyInsert>();
  private readonly seg = new Frame();
  private readonly w6 = new Uint32Array(4);
  private readonly segBuf = new Uint8Array(ETH_HLEN + 65536);
  /** Bytes before the Ethernet header in a transmit slot (the virtio_net_hdr, when used). */
  private readonly pre: number;
  /** The IPv6 data path. */
  readonly v6: Path6;
  /** IP ID of the packets the engine builds itself (tunnel outer headers, ICMP errors). */
  private ipId = 1;
  /** IPv4 service addresses (TCP/UDP services): the in-hook's prefilter. */
  vips = new Set<number>();
  /** VIP * 65536 + port (0: any) per protocol: what the kernel filter takes, so what a lost frame costs. */
  vipPorts: { tcp: Set<number>; udp: Set<number> } = { tcp: new Set(), udp: new Set() };
  /** Masq and FULLNAT dests as rip * 65536 + rport (rport 0 for port-less dests): the out-hook's filter. */
  rips = new Set<number>();
  /** Addresses of masq dests (ICMP errors from them are the out-hook's too). */
  ripAddrs = new Set<number>();
  /** The director's own addresses but FULLNAT local ones: replies from a dest to them are the kernel's (its own conns). */
  own = new Set<number>();
  /** VIPs no interface holds: the engine answers ARP for them. */
  announce = new Set<number>();
  /** Interfaces by ifindex. */
  readonly ifaces: (Iface | undefined)[] = [];
  now = 0;
  /** The warming pass before each ring block (see warmFlush); off only to measure what it brings. */
  warming = true;
  /** The table size from which warming pays (tests lower it to run every frame through it). */
  warmMinConns = WARM_MIN_CONNS;
  /** Hashes of the frames the warming pass collected, WARM_BATCH at most. */
  private readonly warmH = new Int32Array(WARM_BATCH);
  private warmN = 0;
  /** What the warming loads fold into, so that they are not optimised away (never read). */
  warmSink = 0;
  private rx: Iface | null = null;
  /** The XDP fast path, offered every IPv4 TCP/UDP frame sent for a conn; null when off. */
  fast: FastOffer | null = null;
  /** Where send() last sent a frame at once (null: none, or queued for ARP). */
  private sentOn: Iface | null = null;
  /** The ipip frame tunnel() last sent at once, in its interface's arena (null: none). */
  private sentEnc: Uint8Array | null = null;
  private sentEncAt = 0;
  private warned = new Set<string>();

  constructor(
    readonly ipvs: Ipvs,
    private readonly vnet: boolean,
    private readonly log: (msg: string) => void,
  ) {
    this.pre = vnet ? VNET_HDR_LEN : 0;
    this.v6 = new Path6(this, ipvs);
  }

  /** The interface the frame being handled came in on. */
  rxIface(): Iface {
    return this.rx!;
  }

  /** The MTU toward next hop `nh` (hop() made sure its interface is ours). */
  mtuOf(nh: Neigh): number {
    return this.ifaces[nh.ifindex]!.mtu;
  }

  /** Walks the ready block of `iface`'s ring, warming the conn table first; the caller flushes and releases. */
  walk(iface: Iface): number {
    this.rx = iface;
    const rx = iface.rx;
    if (this.warming && rx.peek && this.ipvs.connCount() >= this.warmMinConns) {
      this.warmN = 0;
      rx.peek(this.onPeek);
      if (this.warmN > 0) this.warmFlush();
    }
    return rx.walk(this.onFrame);
  }

  /**
   * The warming pass (software prefetch, which JavaScript lacks): before a block is walked, its
   * IPv4 TCP/UDP frames' conn keys are hashed (onPeek) and the table's index slots and records
   * touched in batches, so that a large table's cache misses overlap instead of stalling each
   * frame in turn. Only a hint: a frame it misreads merely costs a wasted load.
   */
  private warmFlush(): void {
    this.warmSink ^= this.ipvs.warm4(this.warmH, this.warmN);
    this.warmN = 0;
  }

  private readonly onPeek = (buf: Uint8Array, off: number, len: number, _vnet: number, tci: number): void => {
    // Untagged IPv4 with room for a 20-byte header and the ports; anything else is not warmed.
    if (tci >= 0 || len < ETH_HLEN + 24 || buf[off + 12] !== 0x08 || buf[off + 13] !== 0x00) return;
    const ip = off + ETH_HLEN;
    const proto = buf[ip + 9]!;
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) return;
    const l4 = ip + (buf[ip]! & 0x0f) * 4;
    if (l4 + 4 > off + len) return;
    const daddr = read32(buf, ip + 16);
    // A request is keyed by its source (the client), a reply from a real server by its destination.
    const h = this.vips.has(daddr)
      ? connHash4(proto, read32(buf, ip + 12), (buf[l4]! << 8) | buf[l4 + 1]!)
      : connHash4(proto, daddr, (buf[l4 + 2]! << 8) | buf[l4 + 3]!);
    this.warmH[this.warmN++] = h;
    if (this.warmN === WARM_BATCH) this.warmFlush();
  };

  private readonly onFrame = (buf: Uint8Array, off: number, len: number, vnet: number, tci: number): void => {
    // A tag the NIC stripped into the ring's metadata: VLAN trunks are left to the kernel.
    if (tci >= 0) return;
    // A unicast frame for another host's MAC (a switch floods what it has not learnt, e.g. the
    // failed VRRP master's) is not ours to forward: the kernel drops such PACKET_OTHERHOST frames.
    if (this.otherHost(buf, off)) {
      this.drops.add(DROP.other_host);
      return;
    }
    const f = this.f;
    const k = f.parse(buf, off, len, vnet);
    if (k === PARSE_IP4) this.ip4(f);
    else if (k === PARSE_IP6) this.v6.in(f, this.rx!);
    else if (k === PARSE_ARP) this.arpIn(f);
    else if (k === PARSE_MALFORMED) this.drops.add(f.reason);
  };

  private otherHost(buf: Uint8Array, off: number): boolean {
    if ((buf[off]! & 1) !== 0) return false; // broadcast / multicast
    const mac = this.rx!.mac;
    for (let i = 0; i < 6; i++) if (buf[off + i] !== mac[i]) return true;
    return false;
  }

  warnOnce(key: string, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log(msg);
  }

  // --- IPv4 -----------------------------------------------------------------------------------

  private ip4(f: Frame): void {
    const toVip = this.vips.has(f.daddr);
    if (!toVip && (!this.fromRip(f) || this.own.has(f.daddr))) return;
    if (f.fragment) {
      this.drops.add(DROP.fragment);
      return;
    }
    if (f.proto === IPPROTO_ICMP) {
      this.icmp(f, toVip);
      return;
    }
    if (f.proto !== IPPROTO_TCP && f.proto !== IPPROTO_UDP) return;
    if (!f.l4ChecksumOk()) {
      this.drops.add(DROP.bad_l4_checksum);
      return;
    }
    const p = this.p;
    p.setV4(f.proto, f.saddr, f.sport, f.daddr, f.dport);
    p.ev = f.proto === IPPROTO_TCP ? f.tcpFlags : 0;
    p.len = f.totLen;
    p.fragment = false;
    if (toVip) {
      const ref = this.ipvs.processIn(p, this.now);
      if (ref >= 0) this.xmitIn(f, ref);
      else if (ref === VERDICT_ACCEPT && this.fromRip(f)) this.out(f);
      else if (ref !== VERDICT_ACCEPT || this.takenIn(f)) this.drops.add(verdictDrop(ref));
      return;
    }
    this.out(f);
  }

  /** Would the kernel filter have taken this frame to a VIP (its port is a service's)? */
  private takenIn(f: Frame): boolean {
    const s = f.proto === IPPROTO_TCP ? this.vipPorts.tcp : this.vipPorts.udp;
    const k = f.daddr * 65536;
    return s.has(k + f.dport) || s.has(k);
  }

  /** From a masq dest's RIP:rport (what the nft table takes for the out-hook)? */
  private fromRip(f: Frame): boolean {
    const r = this.rips;
    if (r.size === 0) return false;
    const k = f.saddr * 65536;
    return f.proto === IPPROTO_ICMP ? r.has(k) || this.ripAddrs.has(f.saddr) : r.has(k + f.sport) || r.has(k);
  }

  private out(f: Frame): void {
    const ref = this.ipvs.processOut(this.p, this.now);
    const x = bindOut(this.ipvs, ref, false);
    if (!x) {
      this.drops.add(DROP.out_no_conn);
      return;
    }
    if (!decTtl(f)) {
      this.drops.add(DROP.ttl_exceeded);
      return;
    }
    if (this.xmit(x, f, ref, 1)) this.counters.forwardedOut++;
  }

  private xmitIn(f: Frame, ref: number): void {
    const x = bindIn(this.ipvs, ref, false);
    if (!x) {
      this.drops.add(DROP.fwd_unsupported);
      return;
    }
    // Learn an on-link client's MAC from its frame: NAT replies and ICMP errors go back to it.
    if (!this.neigh.has(f.saddr) && this.rx!.onLink(f.saddr)) {
      this.neigh.learn(f.saddr, this.rx!.ifindex, f.buf, f.off + 6);
    }
    if (!decTtl(f)) {
      this.drops.add(DROP.ttl_exceeded);
      return;
    }
    if (this.xmit(x, f, ref, 0)) this.counters.forwardedIn++;
  }

  /**
   * Runs the conn's transmit function (the in-hook's, dir 0, or the out-hook's, 1) and, when it
   * sent `f` at once, offers the conn to the fast path; true when sent or queued.
   */
  xmit(x: Xmit, f: Frame, ref: number, dir: number): boolean {
    this.sentOn = null;
    this.sentEnc = null;
    if (!x(this, f, ref)) return false;
    if (this.fast !== null && this.sentOn !== null) {
      this.fast.offer(ref, f, this.p, dir, this.sentOn, this.rx!, this.pp.has(ref), this.sentEnc, this.sentEncAt);
    }
    return true;
  }

  /**
   * FULLNAT toward a dest with --proxy-protocol: remembers the client's ISN from its SYN, puts
   * the header in front of the stream's first data (xmit/proxy-insert.ts) and shifts later
   * sequence numbers. True when it transmitted the frame itself (rebuilt in the arena).
   */
  proxyIn(f: Frame, ref: number, nh: Neigh): boolean {
    const ipvs = this.ipvs;
    if (f.tcpFlags & TCP_SYN) {
      // A conn's header is decided by its SYN and kept to its end, whatever -e does meanwhile.
      const d = ipvs.connDest(ref);
      if (!d || d.proxyProtocol === 0) {
        this.pp.delete(ref);
        return false;
      }
      const c = f.v6 ? show6(ipvs.connAddr6(ref, 0, this.w6)) : ip4(ipvs.conn4Caddr(ref));
      const v = f.v6 ? show6(ipvs.connAddr6(ref, 1, this.w6)) : ip4(ipvs.conn4Vaddr(ref));
      const cport = ipvs.connCport(ref);
      const vport = ipvs.connVport(ref);
      const hdr = d.proxyProtocol === 1 ? proxyV1(c, cport, v, vport) : proxyV2(c, cport, v, vport);
      this.pp.set(ref, { isn: read32(f.buf, f.l4 + 4), hdr });
      return false;
    }
    const s = this.pp.get(ref);
    if (!s) return false;
    const ethType = f.v6 ? ETH_P_IPV6 : ETH_P_IP;
    if (gsoType(f) === VNET_GSO_NONE) {
      if (!needsHeader(f, s)) return false;
      this.sendBuilt(nh, (dst, at) => writeWithHeader(f, s, dst, at), ethType);
      return true;
    }
    // A super-packet at the stream's start: cut it here, the header goes on the first segment.
    const n = gsoSegments(f);
    if (n === 0) {
      this.drops.add(DROP.gso_unsupported);
      return true;
    }
    const g = this.seg;
    for (let k = 0; k < n; k++) {
      const len = writeSegment(f, k, this.segBuf, ETH_HLEN);
      write16(this.segBuf, 12, ethType);
      const k2 = g.parse(this.segBuf, 0, ETH_HLEN + len, -1);
      if (k2 !== PARSE_IP4 && k2 !== PARSE_IP6) continue;
      if (needsHeader(g, s)) this.sendBuilt(nh, (dst, at) => writeWithHeader(g, s, dst, at), ethType);
      else this.sendBuilt(nh, (dst, at) => (dst.set(this.segBuf.subarray(ETH_HLEN, ETH_HLEN + len), at), len), ethType);
    }
    return true;
  }

  /** The next free transmit slot of `tx`, its virtio_net_hdr (if any) zeroed: the frame starts at slot + pre. */
  private openSlot(tx: Iface['tx']): number {
    const slot = tx.slot();
    if (this.vnet) tx.arena.fill(0, slot, slot + this.pre);
    return slot;
  }

  /** Builds an IP packet with `write` in the arena of `nh`'s interface and sends it to `nh`. */
  sendBuilt(nh: Neigh, write: (dst: Uint8Array, at: number) => number, ethType = ETH_P_IP): void {
    const tx = this.ifaces[nh.ifindex]!.tx;
    const slot = this.openSlot(tx);
    const eth = slot + this.pre;
    write16(tx.arena, eth + 12, ethType);
    const n = write(tx.arena, eth + ETH_HLEN);
    this.sendSlot(nh, slot, eth + ETH_HLEN + n - slot);
  }

  /**
   * TUN: encapsulates the request toward the real server (a GSO super-packet is cut into
   * segments first, a partial checksum completed); true when it was sent or queued.
   */
  tunnel(f: Frame, d: Dest | undefined): boolean {
    if (!d) {
      this.drops.add(DROP.no_dest);
      return false;
    }
    const t = this.tun;
    t.type = d.tunType;
    t.flags = d.tunFlags;
    t.port = d.tunPort;
    // The outer header is of the real server's family, whatever the inner packet's.
    t.outer6 = d.addr.isV6;
    let nh: Neigh | null;
    if (t.outer6) {
      for (let k = 0; k < 4; k++) t.daddr6[k] = d.addr.word(k);
      nh = this.v6.hop(t.daddr6, false);
      const src = nh ? this.ifaces[nh.ifindex]!.sourceFor6(t.daddr6) : null;
      if (!nh) return false;
      if (!src) {
        this.drops.add(DROP.no_route);
        return false;
      }
      t.saddr6.set(src);
    } else {
      t.daddr = d.addr.w0;
      nh = this.hop(t.daddr, false);
      if (!nh) return false;
      t.saddr = this.ifaces[nh.ifindex]!.sourceFor(nh.addr);
    }
    const hl = tunnelOverhead(t.type, t.flags, t.outer6);
    const mtu = this.mtuOf(nh) - hl;
    if (mtu < (f.v6 ? TUNNEL_MTU_MIN6 : TUNNEL_MTU_MIN)) {
      this.drops.add(DROP.mtu_exceeded);
      return false;
    }
    if (f.v6 ? this.v6.tooBig(f, mtu, f.daddr6) : this.tooBig(f, mtu, f.daddr)) return false;
    const sport =
      t.type !== IP_VS_CONN_F_TUNNEL_TYPE_GUE
        ? 0
        : f.v6
          ? gueSourcePort(f.saddr6[3]! ^ f.saddr6[1]!, f.daddr6[3]! ^ f.daddr6[1]!, (f.sport << 16) | f.dport)
          : gueSourcePort(f.saddr, f.daddr, (f.sport << 16) | f.dport);
    const segs = gsoType(f) === VNET_GSO_NONE ? 0 : gsoSegments(f);
    if (segs === 0) {
      if (gsoType(f) !== VNET_GSO_NONE) {
        this.drops.add(DROP.gso_unsupported);
        return false;
      }
      completeChecksum(f);
    }
    const out = this.ifaces[nh.ifindex]!;
    const outType = t.outer6 ? ETH_P_IPV6 : ETH_P_IP;
    // The frame's first byte and the encapsulated frame's: the outer header goes in front of the
    // request where the receive buffer has room for it (AF_XDP's headroom), else into a copy.
    const hasVnet = f.vnet >= 0;
    const start = hasVnet ? f.vnet : f.off;
    const encStart = f.l3 - hl - ETH_HLEN - this.pre;
    let enc = out.tx.arena;
    let eth = 0;
    if (segs === 0 && hasVnet === this.vnet && (this.rx!.rx.headroom?.(start) ?? 0) >= start - encStart) {
      enc = f.buf;
      eth = encStart + this.pre;
      if (this.vnet) enc.fill(0, encStart, eth);
      // The request's virtio_net_hdr is overwritten by the new frame's headers. It said no GSO
      // (segs), which is what the fast path's offer would read from it.
      f.vnet = -1;
      const len = writeTunnel(enc, eth + ETH_HLEN, t, f.totLen, this.ipId++, sport);
      write16(enc, eth + 12, outType);
      this.sendIn(nh, out, encStart, eth + ETH_HLEN + len - encStart, enc);
    } else {
      const n = segs === 0 ? 1 : segs;
      const tx = out.tx;
      for (let k = 0; k < n; k++) {
        const slot = this.openSlot(tx);
        eth = slot + this.pre;
        const ip = eth + ETH_HLEN;
        const inner = ip + hl;
        let innerLen: number;
        if (segs === 0) {
          innerLen = f.totLen;
          tx.arena.set(f.buf.subarray(f.l3, f.l3 + innerLen), inner);
        } else innerLen = writeSegment(f, k, tx.arena, inner);
        const len = writeTunnel(tx.arena, ip, t, innerLen, this.ipId++, sport);
        write16(tx.arena, eth + 12, outType);
        this.sendSlot(nh, slot, eth + ETH_HLEN + len - slot);
      }
    }
    // One request sent at once, IPv4 in IPv4 or IPv6 in IPv6, in headers that stay the same from
    // frame to frame (fastTunKind): what the fast path, if there is one, can repeat.
    if (this.fast !== null && segs === 0 && nh.resolved && t.outer6 === f.v6 && fastTunKind(enc, eth) >= 0) {
      this.sentOn = out;
      this.sentEnc = enc;
      this.sentEncAt = eth;
    }
    return true;
  }

  /**
   * An ICMP error about one of our conns: to the VIP (about a reply we sent) it goes on to the
   * real server, from a masq or FULLNAT dest (about a request we delivered) back to the client;
   * NAT translates the quote. Other ICMP (echo, errors about no conn) is the kernel's.
   */
  private icmp(f: Frame, toVip: boolean): void {
    if (!isIcmpError(f.icmpType)) return;
    if (!f.l4ChecksumOk()) {
      this.drops.add(DROP.bad_l4_checksum);
      return;
    }
    const q = this.q;
    if (!q.read(f)) {
      this.drops.add(DROP.bad_icmp);
      return;
    }
    const p = this.p;
    const ipvs = this.ipvs;
    p.setV4(q.proto, q.daddr, q.dport, q.saddr, q.sport);
    if (toVip) {
      // The quote is a reply we sent: VIP:vport → client:cport.
      const ref = ipvs.findIn(p);
      if (ref < 0) {
        this.drops.add(DROP.icmp_no_conn);
        return;
      }
      const fwd = ipvs.connFlags(ref) & IP_VS_CONN_F_FWD_MASK;
      const daddr = ipvs.conn4Daddr(ref);
      if (!decTtl(f)) {
        this.drops.add(DROP.ttl_exceeded);
        return;
      }
      if (fwd === IP_VS_CONN_F_TUNNEL) {
        this.tunnel(f, ipvs.connDest(ref));
        return;
      }
      const fullnat = fwd === IP_VS_CONN_F_FULLNAT && hasLocalAddrs(ipvs.connDest(ref));
      if (fwd !== IP_VS_CONN_F_MASQ && fwd !== IP_VS_CONN_F_DROUTE && !fullnat) {
        this.drops.add(DROP.fwd_unsupported);
        return;
      }
      const nh = this.hop(daddr, fwd === IP_VS_CONN_F_DROUTE);
      if (!nh) return;
      if (fwd === IP_VS_CONN_F_MASQ) natIcmpIn(f, q, daddr, ipvs.connDport(ref));
      else if (fullnat) fullnatIcmpIn(f, q, daddr, ipvs.connDport(ref), ipvs.conn4Laddr(ref), ipvs.connLport(ref));
      this.send(f, nh);
      return;
    }
    // The quote is a request we delivered: client:cport → RIP:rport (FULLNAT: laddr:lport → RIP:rport).
    const ref = ipvs.findOut(p);
    const fwd = ref < 0 ? -1 : ipvs.connFlags(ref) & IP_VS_CONN_F_FWD_MASK;
    if (fwd === IP_VS_CONN_F_MASQ) natIcmpOut(f, q, ipvs.conn4Vaddr(ref), ipvs.connVport(ref));
    else if (fwd === IP_VS_CONN_F_FULLNAT) {
      fullnatIcmpOut(f, q, ipvs.conn4Vaddr(ref), ipvs.connVport(ref), ipvs.conn4Caddr(ref), ipvs.connCport(ref));
    } else {
      this.drops.add(DROP.icmp_no_conn);
      return;
    }
    if (!decTtl(f)) {
      this.drops.add(DROP.ttl_exceeded);
      return;
    }
    const nh = this.hop(f.daddr, false);
    if (nh) this.send(f, nh);
  }

  // --- output -----------------------------------------------------------------------------------

  /**
   * The next hop toward `dst` (created unresolved when new; its ifindex is an interface of
   * ours), or null, counted, when the engine has no route there or, for DR, the destination is
   * not on-link.
   */
  hop(dst: number, onLinkOnly: boolean): Neigh | null {
    const ifindex = this.routes.lookup(dst);
    const out = ifindex > 0 ? this.ifaces[ifindex] : undefined;
    if (!out) {
      this.drops.add(DROP.no_route);
      this.warnOnce(`route ${dst}`, `packet engine: no route to ${ip4(dst)} through an interface the engine runs on; dropping`);
      return null;
    }
    const gw = this.routes.gateway;
    if (onLinkOnly && gw !== 0) {
      this.drops.add(DROP.dr_not_onlink);
      this.warnOnce(
        `dr ${dst}`,
        `packet engine: DR dest ${ip4(dst)} is not on-link (route via ${ip4(gw)}); DR needs the real server on the director's LAN (use -i or -m)`,
      );
      return null;
    }
    const a = gw !== 0 ? gw : dst;
    return this.neighOn(this.neigh.get(a) ?? this.neigh.entry(a, out.ifindex), out);
  }

  /** `n`, or null (counted) when it sits on an interface the engine no longer runs on. */
  neighOn(n: Neigh, route: Iface): Neigh | null {
    if (this.ifaces[n.ifindex]) return n;
    // Learned on an interface that is gone: the route's interface is where it is now.
    n.ifindex = route.ifindex;
    return n;
  }

  /**
   * True (and the frame dropped, counted) when `f` does not fit `mtu`: a GSO frame is judged by
   * its segments. With DF set the sender gets ICMP "fragmentation needed" from `src` (RFC 1191),
   * as the kernel's IPVS sends it; without DF the frame is dropped (the engine does not fragment).
   */
  tooBig(f: Frame, mtu: number, src: number): boolean {
    const gso = gsoType(f) !== VNET_GSO_NONE;
    const len = gso ? gsoHeaderLen(f) + gsoSize(f) : f.totLen;
    if (len <= mtu) return false;
    this.drops.add(DROP.mtu_exceeded);
    if ((f.buf[f.l3 + 6]! & 0x40) === 0) return true;
    const nh = this.hop(f.saddr, false);
    if (!nh) return true;
    this.sendBuilt(nh, (dst, at) => writeFragNeeded(f, src, mtu, dst, at, this.ipId++));
    this.counters.icmpFragNeeded++;
    return true;
  }

  /** Sends the received frame `f` (still in the ring) to the next hop `nh`; true when sent or queued. */
  send(f: Frame, nh: Neigh): boolean {
    const out = this.ifaces[nh.ifindex]!;
    const start = f.vnet >= 0 ? f.vnet : f.off;
    const len = f.off + f.len - start;
    if (nh.resolved) {
      setMacs(f.buf, f.off, nh.mac, 0, out.mac, 0);
      out.tx.pushRx(this.rx!.rx, start, len);
      this.sentOn = out;
      return true;
    }
    this.queue(nh, out, f.buf.slice(start, start + len));
    return true;
  }

  /**
   * Sends `len` bytes at `start` of the block being walked (`buf`, a frame rewritten in place
   * there) to `nh` on `out`, without a copy; MACs are filled in here.
   */
  private sendIn(nh: Neigh, out: Iface, start: number, len: number, buf: Uint8Array): void {
    if (nh.resolved) {
      setMacs(buf, start + this.pre, nh.mac, 0, out.mac, 0);
      out.tx.pushRx(this.rx!.rx, start, len);
      return;
    }
    this.queue(nh, out, buf.slice(start, start + len));
  }

  /** Sends the frame built in the transmit slot at `slot` of `nh`'s interface (MACs are filled in here). */
  private sendSlot(nh: Neigh, slot: number, len: number): void {
    const out = this.ifaces[nh.ifindex]!;
    if (nh.resolved) {
      setMacs(out.tx.arena, slot + this.pre, nh.mac, 0, out.mac, 0);
      out.tx.pushSlot(len);
      return;
    }
    this.queue(nh, out, out.tx.arena.slice(slot, slot + len));
  }

  /** Holds a frame copy until the next hop answers ARP (or NDP). */
  private queue(nh: Neigh, out: Iface, frame: Uint8Array): void {
    if (nh.pending.length >= NEIGH_QUEUE_MAX) {
      nh.pending.shift();
      this.drops.add(DROP.neigh_unresolved);
    }
    nh.pending.push(frame);
    this.solicit(nh, out);
  }

  /** Sends an ARP request (IPv6: a neighbour solicitation) for `n` unless one went out recently. */
  solicit(n: Neigh, out: Iface | undefined = this.ifaces[n.ifindex]): void {
    if (!out || this.now - n.reqAt < ARP_RETRY_MS) return;
    n.reqAt = this.now;
    n.tries++;
    if (n.addr6) this.v6.solicit(n.addr6, out);
    else this.sendArp(out, ARP_REQUEST, out.sourceFor(n.addr), null, n.addr);
    this.counters.arpRequests++;
  }

  /** Writes a frame of `len` bytes with `write` into `out`'s arena and queues it as it is (no next hop). */
  sendRaw(out: Iface, write: (dst: Uint8Array, at: number) => number): void {
    const tx = out.tx;
    const slot = this.openSlot(tx);
    const n = write(tx.arena, slot + this.pre);
    tx.pushSlot(this.pre + n);
  }

  private sendArp(out: Iface, op: number, spa: number, tha: Uint8Array | null, tpa: number): void {
    const tx = out.tx;
    const slot = this.openSlot(tx);
    const n = writeArp(tx.arena, slot + this.pre, op, out.mac, spa, tha, tpa);
    tx.pushSlot(this.pre + n);
  }

  /** Announces a VIP the engine answers ARP for (gratuitous ARP). */
  announceVip(vip: number): void {
    for (const out of this.ifaces) {
      if (out && (out.onLink(vip) || out.addrs.length === 0)) this.sendArp(out, ARP_REQUEST, vip, null, vip);
    }
  }

  private arpIn(f: Frame): void {
    const a = this.arp;
    if (!a.read(f.buf, f.l3)) {
      this.drops.add(DROP.bad_arp);
      return;
    }
    const rx = this.rx!;
    if (a.spa !== 0) {
      const n = this.neigh.get(a.spa);
      if (n) {
        this.neigh.learn(a.spa, rx.ifindex, f.buf, a.shaAt);
        if (n.pending.length > 0) this.flushPending(n);
      }
    }
    if (a.op === ARP_REQUEST && a.tpa !== a.spa && this.announce.has(a.tpa)) {
      this.sendArp(rx, ARP_REPLY, a.tpa, f.buf.subarray(a.shaAt, a.shaAt + 6), a.spa);
      this.counters.arpReplies++;
    }
  }

  /** Sends the frames that waited for `n`'s MAC. */
  flushPending(n: Neigh): void {
    const out = this.ifaces[n.ifindex];
    const frames = n.pending;
    n.pending = [];
    if (!out) {
      this.drops.add(DROP.no_route, frames.length);
      return;
    }
    for (const fr of frames) {
      setMacs(fr, this.pre, n.mac, 0, out.mac, 0);
      out.tx.pushCopy(fr, 0, fr.length);
    }
  }

  /** Retries ARP for waiting frames; gives up (dropping them, counted) after ARP_TRIES. */
  housekeep(now: number): void {
    this.now = now;
    for (const n of [...this.neigh.values(), ...this.v6.neigh.values()]) {
      if (n.pending.length === 0) continue;
      if (n.tries >= ARP_TRIES && now - n.reqAt >= ARP_RETRY_MS) {
        this.drops.add(DROP.neigh_unresolved, n.pending.length);
        const who = n.addr6 ? show6(n.addr6) : ip4(n.addr);
        this.warnOnce(
          `neigh ${who}`,
          `packet engine: ${who} does not answer ${n.addr6 ? 'NDP' : 'ARP'}; dropped the frames waiting for it`,
        );
        n.pending = [];
        n.tries = 0;
      } else this.solicit(n);
    }
  }
}

export function show6(a: ArrayLike<number>): string {
  return Addr.v6(a[0]!, a[1]!, a[2]!, a[3]!).toString();
}

/** The dotted quad of a host-order address (core/inet.ts's format4, under the engine's name). */
export const ip4 = format4;
