// Parses one received frame in place into a reusable Frame (no allocation per frame): link
// header (with an in-band 802.1Q tag), then ARP, IPv4 or IPv6 (extension headers walked) and
// its TCP/UDP/ICMP/ICMPv6 header. Anything malformed comes back as MALFORMED with the drop
// reason set; frames the director has no business with (LLDP, ...) come back as OTHER.
//
// Fragments: a fragment of an IPv4 datagram is reported with `fragment` set and no ports; the
// engine drops fragments addressed to a service (documented in docs/packet-engine.md), as the
// ports that select a conn are only in the first one.

import { fold, pseudo4, pseudo6, read16, read32, read128, sum16 } from './csum.js';
import { DROP } from './drops.js';
import { ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, VLAN_HLEN } from './eth.js';

export const PARSE_IP4 = 0;
export const PARSE_ARP = 1;
export const PARSE_OTHER = 2;
export const PARSE_MALFORMED = 3;
export const PARSE_IP6 = 4;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPV6_HLEN = 40;
/** Extension headers walked before giving up on finding the transport header. */
const IPV6_MAX_EXT = 8;

/** virtio_net_hdr flags (PACKET_VNET_HDR). */
export const VNET_F_NEEDS_CSUM = 1;
export const VNET_F_DATA_VALID = 2;

export const ARP_HLEN = 28;

export class Frame {
  buf: Uint8Array = new Uint8Array(0);
  /** Offset of the Ethernet header, and the frame's length from there. */
  off = 0;
  len = 0;
  /** Offset of the virtio_net_hdr, or -1. */
  vnet = -1;
  ethType = 0;
  /** Offset of the L3 header. */
  l3 = 0;
  /** Drop reason (DROP.*) when MALFORMED. */
  reason = 0;
  /** An IPv6 packet: addresses in saddr6/daddr6, `ihl` spans the extension headers too. */
  v6 = false;
  readonly saddr6 = new Uint32Array(4);
  readonly daddr6 = new Uint32Array(4);
  // IPv4 (ihl: header length up to the L4 header; ttl: the hop limit for IPv6)
  ihl = 0;
  totLen = 0;
  proto = 0;
  ttl = 0;
  saddr = 0;
  daddr = 0;
  fragment = false;
  /** Offset of the L4 header and its length (to the end of the IP datagram). */
  l4 = 0;
  l4Len = 0;
  sport = 0;
  dport = 0;
  tcpFlags = 0;
  /** Absolute offset of the TCP/UDP checksum field, or -1 (UDP without checksum, ICMP). */
  csumAt = -1;
  /** The L4 checksum is partial (only the pseudo-header is summed so far). */
  partial = false;
  /** The kernel already validated the L4 checksum. */
  validated = false;
  icmpType = 0;
  icmpCode = 0;

  private malformed(reason: number): number {
    this.reason = reason;
    return PARSE_MALFORMED;
  }

  /** Parses the frame at `buf[off, off+len)`; `vnet` locates its virtio_net_hdr or is -1. */
  parse(buf: Uint8Array, off: number, len: number, vnet: number): number {
    this.buf = buf;
    this.off = off;
    this.len = len;
    this.vnet = vnet;
    const vflags = vnet >= 0 ? buf[vnet]! : 0;
    this.partial = (vflags & VNET_F_NEEDS_CSUM) !== 0;
    this.validated = (vflags & VNET_F_DATA_VALID) !== 0;
    if (len < ETH_HLEN) return this.malformed(DROP.truncated);
    let type = read16(buf, off + 12);
    let l3 = off + ETH_HLEN;
    if (type === ETH_P_8021Q || type === ETH_P_8021AD) {
      if (len < ETH_HLEN + VLAN_HLEN) return this.malformed(DROP.truncated);
      type = read16(buf, off + 16);
      l3 += VLAN_HLEN;
    }
    this.ethType = type;
    this.l3 = l3;
    const end = off + len;
    if (type === ETH_P_ARP) {
      if (end - l3 < ARP_HLEN) return this.malformed(DROP.truncated);
      return PARSE_ARP;
    }
    if (type === ETH_P_IPV6) return this.parse6(buf, l3, end);
    if (type !== ETH_P_IP) return PARSE_OTHER;
    this.v6 = false;
    if (end - l3 < 20) return this.malformed(DROP.truncated);
    const vihl = buf[l3]!;
    const ihl = (vihl & 0x0f) * 4;
    if (vihl >>> 4 !== 4 || ihl < 20) return this.malformed(DROP.bad_ip_header);
    if (l3 + ihl > end) return this.malformed(DROP.truncated);
    const tot = read16(buf, l3 + 2);
    // Ethernet pads short frames, so the frame may be longer than the datagram, never shorter.
    if (tot < ihl || l3 + tot > end) return this.malformed(DROP.bad_length);
    if (fold(sum16(buf, l3, ihl)) !== 0xffff) return this.malformed(DROP.bad_ip_checksum);
    this.ihl = ihl;
    this.totLen = tot;
    this.ttl = buf[l3 + 8]!;
    this.proto = buf[l3 + 9]!;
    this.saddr = read32(buf, l3 + 12);
    this.daddr = read32(buf, l3 + 16);
    const frag = read16(buf, l3 + 6);
    this.fragment = (frag & 0x3fff) !== 0;
    const l4 = l3 + ihl;
    this.l4 = l4;
    this.l4Len = tot - ihl;
    this.sport = 0;
    this.dport = 0;
    this.tcpFlags = 0;
    this.csumAt = -1;
    if (this.fragment) return PARSE_IP4;
    return this.parseL4(buf, l4, PARSE_IP4);
  }

  /** IPv6: fixed header, then hop-by-hop, routing, fragment and destination options headers. */
  private parse6(buf: Uint8Array, l3: number, end: number): number {
    this.v6 = true;
    if (end - l3 < IPV6_HLEN) return this.malformed(DROP.truncated);
    if (buf[l3]! >>> 4 !== 6) return this.malformed(DROP.bad_ip_header);
    const plen = read16(buf, l3 + 4);
    if (l3 + IPV6_HLEN + plen > end) return this.malformed(DROP.bad_length);
    const stop = l3 + IPV6_HLEN + plen;
    this.totLen = IPV6_HLEN + plen;
    this.ttl = buf[l3 + 7]!;
    read128(buf, l3 + 8, this.saddr6);
    read128(buf, l3 + 24, this.daddr6);
    this.saddr = 0;
    this.daddr = 0;
    this.fragment = false;
    this.sport = 0;
    this.dport = 0;
    this.tcpFlags = 0;
    this.csumAt = -1;
    let nh = buf[l3 + 6]!;
    let at = l3 + IPV6_HLEN;
    for (let i = 0; i < IPV6_MAX_EXT; i++) {
      if (nh === 0 || nh === 43 || nh === 60) {
        if (stop - at < 8) return this.malformed(DROP.truncated);
        const next = buf[at]!;
        at += (buf[at + 1]! + 1) * 8;
        if (at > stop) return this.malformed(DROP.bad_length);
        nh = next;
      } else if (nh === 44) {
        if (stop - at < 8) return this.malformed(DROP.truncated);
        // A fragment (offset or more-fragments set); an atomic fragment header is harmless.
        if ((read16(buf, at + 2) & 0xfff9) !== 0) this.fragment = true;
        nh = buf[at]!;
        at += 8;
      } else break;
    }
    this.proto = nh;
    this.ihl = at - l3;
    this.l4 = at;
    this.l4Len = stop - at;
    if (this.fragment) return PARSE_IP6;
    return this.parseL4(buf, at, PARSE_IP6);
  }

  private parseL4(buf: Uint8Array, l4: number, kind: number): number {
    const n = this.l4Len;
    switch (this.proto) {
      case IPPROTO_TCP: {
        if (n < 20) return this.malformed(DROP.truncated);
        const doff = (buf[l4 + 12]! >>> 4) * 4;
        if (doff < 20 || doff > n) return this.malformed(DROP.bad_length);
        this.sport = read16(buf, l4);
        this.dport = read16(buf, l4 + 2);
        this.tcpFlags = buf[l4 + 13]!;
        this.csumAt = l4 + 16;
        break;
      }
      case IPPROTO_UDP: {
        if (n < 8) return this.malformed(DROP.truncated);
        const ulen = read16(buf, l4 + 4);
        if (ulen < 8 || ulen > n) return this.malformed(DROP.bad_length);
        this.sport = read16(buf, l4);
        this.dport = read16(buf, l4 + 2);
        this.csumAt = read16(buf, l4 + 6) === 0 && !this.partial ? -1 : l4 + 6;
        break;
      }
      case IPPROTO_ICMP:
      case IPPROTO_ICMPV6:
        if (n < 8) return this.malformed(DROP.truncated);
        this.icmpType = buf[l4]!;
        this.icmpCode = buf[l4 + 1]!;
        break;
      default:
        break;
    }
    return kind;
  }

  /**
   * True when the TCP/UDP/ICMP checksum is right, or cannot be judged yet (partial, or already
   * validated by the kernel). Costs one pass over the payload: call it only for frames the
   * director takes.
   */
  l4ChecksumOk(): boolean {
    if (this.partial || this.validated || this.fragment) return true;
    const b = this.buf;
    if (this.proto === IPPROTO_ICMP) return fold(sum16(b, this.l4, this.l4Len)) === 0xffff;
    if (this.proto === IPPROTO_ICMPV6) {
      return fold(sum16(b, this.l4, this.l4Len, pseudo6(this.saddr6, this.daddr6, IPPROTO_ICMPV6, this.l4Len))) === 0xffff;
    }
    if (this.csumAt < 0) return true;
    const len = this.proto === IPPROTO_UDP ? read16(b, this.l4 + 4) : this.l4Len;
    const acc = this.v6 ? pseudo6(this.saddr6, this.daddr6, this.proto, len) : pseudo4(this.saddr, this.daddr, this.proto, len);
    return fold(sum16(b, this.l4, len, acc)) === 0xffff;
  }
}
