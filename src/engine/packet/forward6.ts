// The IPv6 data path, beside the IPv4 one in forward.ts and sharing its transmit machinery:
// TCP/UDP to an IPv6 service VIP (the in-hook) and replies from a masq or FULLNAT dest (the
// out-hook), forwarded by NAT, DR or FULLNAT; Neighbour Discovery in place of ARP, both to
// resolve next hops and to answer for VIPs and local addresses no interface holds; ICMPv6
// "packet too big" to a sender whose packet does not fit (IPv6 routers never fragment); ICMPv6
// errors about NAT conns translated both ways. The transmit functions are IPv4's twins in xmit.ts.
// This class owns its own state; what it shares with IPv4 (transmit, counters, the conn's
// PacketInfo) it reaches through the Forwarder's methods, never by writing its fields.

import {
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_FULLNAT,
  IP_VS_CONN_F_FWD_MASK,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
} from '../../core/constants.js';
import { type Ipvs, VERDICT_ACCEPT } from '../../core/ipvs.js';
import { DROP } from '../../wire/drops.js';
import { ETH_P_IPV6 } from '../../wire/eth.js';
import { type Frame, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../../wire/frame.js';
import { ALL_NODES, ND_NEIGHBOR_ADVERT, ND_NEIGHBOR_SOLICIT, NdpInfo, writeNa, writeNs } from '../../wire/ndp.js';
import { gsoHeaderLen, gsoSize, gsoType, VNET_GSO_NONE } from '../../xmit/gso.js';
import { writePacketTooBig6 } from '../../xmit/icmp.js';
import { fullnatIcmp6In, fullnatIcmp6Out, IcmpQuote6, natIcmp6In, natIcmp6Out } from '../../xmit/icmp6.js';
import { decHop6 } from '../../xmit/ip.js';
import { type Forwarder, show6 } from './forward.js';
import type { Iface } from './iface.js';
import { type Neigh, NeighTable6 } from './neigh.js';
import { bindIn, bindOut, hasLocalAddrs, verdictDrop } from './xmit.js';
import { RouteTable6 } from './routes.js';

/** True when `list` (four words per address) holds `a`. */
function has6(list: Uint32Array, a: ArrayLike<number>): boolean {
  for (let i = 0; i < list.length; i += 4) {
    if (list[i] === a[0] && list[i + 1] === a[1] && list[i + 2] === a[2] && list[i + 3] === a[3]) return true;
  }
  return false;
}

export class Path6 {
  readonly routes = new RouteTable6();
  readonly neigh = new NeighTable6();
  private readonly nd = new NdpInfo();
  private readonly q = new IcmpQuote6();
  /** IPv6 service addresses, four words each: the in-hook's prefilter. */
  vips = new Uint32Array(0);
  /** Four address words, the port (0: any) and the protocol per service: what the kernel filter takes. */
  vipPorts = new Uint32Array(0);
  /** Masq and FULLNAT dests: four address words and the port (0: any) each. */
  rips = new Uint32Array(0);
  /** The director's own addresses but FULLNAT local ones, four words each: the kernel's, as in Forwarder.own. */
  own = new Uint32Array(0);
  /** VIPs and FULLNAT local addresses no interface holds: the engine answers NDP for them. */
  announce = new Uint32Array(0);
  /** Scratch for the conn's addresses (dest, client, local, virtual): the transmit functions fill them. */
  readonly d = new Uint32Array(4);
  readonly c = new Uint32Array(4);
  readonly l = new Uint32Array(4);
  readonly v = new Uint32Array(4);
  private rx: Iface | null = null;

  constructor(
    private readonly fwd: Forwarder,
    private readonly ipvs: Ipvs,
  ) {}

  in(f: Frame, rx: Iface): void {
    this.rx = rx;
    if (f.proto === IPPROTO_ICMPV6) {
      if (f.fragment) return;
      if (f.icmpType === ND_NEIGHBOR_SOLICIT || f.icmpType === ND_NEIGHBOR_ADVERT) this.ndIn(f);
      else if (f.icmpType < 128) this.icmp(f);
      return;
    }
    const toVip = has6(this.vips, f.daddr6);
    if (!toVip && (!this.fromRip(f) || has6(this.own, f.daddr6))) return;
    const drops = this.fwd.drops;
    if (f.fragment) {
      drops.add(DROP.fragment);
      return;
    }
    if (f.proto !== IPPROTO_TCP && f.proto !== IPPROTO_UDP) return;
    if (!f.l4ChecksumOk()) {
      drops.add(DROP.bad_l4_checksum);
      return;
    }
    const p = this.fwd.p;
    p.setV6(f.proto, f.saddr6, f.sport, f.daddr6, f.dport);
    p.ev = f.proto === IPPROTO_TCP ? f.tcpFlags : 0;
    p.len = f.totLen;
    p.fragment = false;
    if (toVip) {
      const ref = this.ipvs.processIn(p, this.fwd.now);
      if (ref >= 0) this.xmitIn(f, ref);
      else if (ref === VERDICT_ACCEPT && this.fromRip(f)) this.out(f);
      else if (ref !== VERDICT_ACCEPT || this.takenIn(f)) drops.add(verdictDrop(ref));
      return;
    }
    this.out(f);
  }

  /** Would the kernel filter have taken this frame to a VIP (its port is a service's)? */
  private takenIn(f: Frame): boolean {
    const r = this.vipPorts;
    const a = f.daddr6;
    for (let i = 0; i < r.length; i += 6) {
      if (
        r[i] === a[0] &&
        r[i + 1] === a[1] &&
        r[i + 2] === a[2] &&
        r[i + 3] === a[3] &&
        (r[i + 4] === 0 || r[i + 4] === f.dport) &&
        r[i + 5] === f.proto
      ) {
        return true;
      }
    }
    return false;
  }

  /**
   * An ICMPv6 error about one of our conns: from the client side (to the VIP) it goes on to the
   * real server, from a real server it goes back to the client; NAT translates the quote.
   */
  private icmp(f: Frame): void {
    const toVip = has6(this.vips, f.daddr6);
    if (!toVip && (!this.fromRipAddr(f.saddr6) || has6(this.own, f.daddr6))) return;
    const drops = this.fwd.drops;
    if (!f.l4ChecksumOk()) {
      drops.add(DROP.bad_l4_checksum);
      return;
    }
    const q = this.q;
    if (!q.read(f)) {
      drops.add(DROP.bad_icmp);
      return;
    }
    const ipvs = this.ipvs;
    const p = this.fwd.p;
    p.setV6(q.proto, q.daddr, q.dport, q.saddr, q.sport);
    if (toVip) {
      // The quote is a reply we sent: VIP:vport → client:cport.
      const ref = ipvs.findIn(p);
      if (ref < 0) {
        drops.add(DROP.icmp_no_conn);
        return;
      }
      if (!decHop6(f)) {
        drops.add(DROP.ttl_exceeded);
        return;
      }
      const fwd = ipvs.connFlags(ref) & IP_VS_CONN_F_FWD_MASK;
      if (fwd === IP_VS_CONN_F_TUNNEL) {
        this.fwd.tunnel(f, ipvs.connDest(ref));
        return;
      }
      const dest = ipvs.connDest(ref);
      const fullnat = fwd === IP_VS_CONN_F_FULLNAT && hasLocalAddrs(dest);
      if (fwd !== IP_VS_CONN_F_MASQ && fwd !== IP_VS_CONN_F_DROUTE && !fullnat) {
        drops.add(DROP.fwd_unsupported);
        return;
      }
      const daddr = ipvs.connAddr6(ref, 2, this.d);
      const nh = this.hop(daddr, fwd === IP_VS_CONN_F_DROUTE);
      if (!nh) return;
      if (fwd === IP_VS_CONN_F_MASQ) natIcmp6In(f, q, daddr, ipvs.connDport(ref));
      else if (fullnat) fullnatIcmp6In(f, q, daddr, ipvs.connDport(ref), ipvs.connAddr6(ref, 3, this.l), ipvs.connLport(ref));
      this.fwd.send(f, nh);
      return;
    }
    // The quote is a request we delivered: client:cport → RIP:rport (FULLNAT: laddr:lport → RIP:rport).
    const ref = ipvs.findOut(p);
    const fwd = ref < 0 ? -1 : ipvs.connFlags(ref) & IP_VS_CONN_F_FWD_MASK;
    if (fwd !== IP_VS_CONN_F_MASQ && fwd !== IP_VS_CONN_F_FULLNAT) {
      drops.add(DROP.icmp_no_conn);
      return;
    }
    if (!decHop6(f)) {
      drops.add(DROP.ttl_exceeded);
      return;
    }
    if (fwd === IP_VS_CONN_F_MASQ) natIcmp6Out(f, q, ipvs.connAddr6(ref, 1, this.v), ipvs.connVport(ref));
    else fullnatIcmp6Out(f, q, ipvs.connAddr6(ref, 1, this.v), ipvs.connVport(ref), ipvs.connAddr6(ref, 0, this.c), ipvs.connCport(ref));
    const nh = this.hop(f.daddr6, false);
    if (nh) this.fwd.send(f, nh);
  }

  private fromRipAddr(a: ArrayLike<number>): boolean {
    const r = this.rips;
    for (let i = 0; i < r.length; i += 5) {
      if (r[i] === a[0] && r[i + 1] === a[1] && r[i + 2] === a[2] && r[i + 3] === a[3]) return true;
    }
    return false;
  }

  private fromRip(f: Frame): boolean {
    const r = this.rips;
    const a = f.saddr6;
    for (let i = 0; i < r.length; i += 5) {
      if (r[i] === a[0] && r[i + 1] === a[1] && r[i + 2] === a[2] && r[i + 3] === a[3] && (r[i + 4] === 0 || r[i + 4] === f.sport)) {
        return true;
      }
    }
    return false;
  }

  private xmitIn(f: Frame, ref: number): void {
    const fw = this.fwd;
    const x = bindIn(this.ipvs, ref, true);
    if (!x) {
      fw.drops.add(DROP.fwd_unsupported);
      return;
    }
    const rx = this.rx!;
    if (!this.neigh.get(f.saddr6) && rx.onLink6(f.saddr6)) this.neigh.learn(f.saddr6, rx.ifindex, f.buf, f.off + 6);
    if (!decHop6(f)) {
      fw.drops.add(DROP.ttl_exceeded);
      return;
    }
    if (fw.xmit(x, f, ref, 0)) fw.counters.forwardedIn++;
  }

  private out(f: Frame): void {
    const fw = this.fwd;
    const ref = this.ipvs.processOut(fw.p, fw.now);
    const x = bindOut(this.ipvs, ref, true);
    if (!x) {
      fw.drops.add(DROP.out_no_conn);
      return;
    }
    if (!decHop6(f)) {
      fw.drops.add(DROP.ttl_exceeded);
      return;
    }
    if (fw.xmit(x, f, ref, 1)) fw.counters.forwardedOut++;
  }

  /** The next hop toward `dst` (its ifindex an interface of ours), or null, counted. */
  hop(dst: ArrayLike<number>, onLinkOnly: boolean): Neigh | null {
    const r = this.routes;
    const ifindex = r.lookup(dst);
    const out = ifindex > 0 ? this.fwd.ifaces[ifindex] : undefined;
    if (!out) {
      this.fwd.drops.add(DROP.no_route);
      this.fwd.warnOnce(
        `route6 ${show6(dst)}`,
        `packet engine: no route to ${show6(dst)} through an interface the engine runs on; dropping`,
      );
      return null;
    }
    if (onLinkOnly && r.viaGateway) {
      this.fwd.drops.add(DROP.dr_not_onlink);
      this.fwd.warnOnce(
        `dr6 ${show6(dst)}`,
        `packet engine: DR dest ${show6(dst)} is not on-link (route via ${show6(r.gateway)}); DR needs the real server on the director's LAN (use -m)`,
      );
      return null;
    }
    const a = r.viaGateway ? r.gateway : dst;
    return this.fwd.neighOn(this.neigh.get(a) ?? this.neigh.entry(a, out.ifindex), out);
  }

  /** True (dropped, counted) when `f` does not fit `mtu`; the sender gets "packet too big" from `src`. */
  tooBig(f: Frame, mtu: number, src: ArrayLike<number>): boolean {
    const len = gsoType(f) !== VNET_GSO_NONE ? gsoHeaderLen(f) + gsoSize(f) : f.totLen;
    if (len <= mtu) return false;
    this.fwd.drops.add(DROP.mtu_exceeded);
    const nh = this.hop(f.saddr6, false);
    if (!nh) return true;
    this.fwd.sendBuilt(nh, (dst, at) => writePacketTooBig6(f, src, mtu, dst, at), ETH_P_IPV6);
    this.fwd.counters.icmpFragNeeded++;
    return true;
  }

  /** Learns from solicitations and advertisements; answers for the addresses we announce. */
  private ndIn(f: Frame): void {
    const nd = this.nd;
    if (!nd.read(f)) return;
    const rx = this.rx!;
    // A solicitation teaches its sender's MAC; an advertisement its target's.
    const who = nd.type === ND_NEIGHBOR_SOLICIT ? f.saddr6 : nd.target;
    if (nd.llAt >= 0) {
      const n = this.neigh.get(who);
      if (n) {
        this.neigh.learn(who, rx.ifindex, f.buf, nd.llAt);
        if (n.pending.length > 0) this.fwd.flushPending(n);
      }
    }
    if (nd.type !== ND_NEIGHBOR_SOLICIT || !has6(this.announce, nd.target)) return;
    const unspecified = f.saddr6[0] === 0 && f.saddr6[1] === 0 && f.saddr6[2] === 0 && f.saddr6[3] === 0;
    const target = nd.target;
    const askerMac = f.buf.subarray(f.off + 6, f.off + 12);
    this.fwd.sendRaw(rx, (dst, at) =>
      unspecified ? writeNa(dst, at, rx.mac, target, null, ALL_NODES) : writeNa(dst, at, rx.mac, target, askerMac, f.saddr6),
    );
    this.fwd.counters.arpReplies++;
  }

  /** Sends a neighbour solicitation for `target` out of `out`. */
  solicit(target: Uint32Array, out: Iface): void {
    const src = out.sourceFor6(target);
    if (!src) return;
    this.fwd.sendRaw(out, (dst, at) => writeNs(dst, at, out.mac, src, target));
  }

  /** Announces an address the engine answers NDP for (unsolicited advertisement to all nodes). */
  announceVip(a: Uint32Array): void {
    for (const out of this.fwd.ifaces) {
      if (out && (out.onLink6(a) || out.addrs6.length === 0))
        this.fwd.sendRaw(out, (dst, at) => writeNa(dst, at, out.mac, a, null, ALL_NODES));
    }
  }
}
