// TUN (-i): the request, unchanged but for its TTL, travels inside an outer IP header from the
// director to the real server, which decapsulates it and answers the client directly. The outer
// header is of the real server's family and the inner packet of the service's, so all four of
// 4in4, 6in6, 4in6 and 6in4 happen. Three encapsulations, as the kernel's ip_vs_tunnel_xmit
// and ip_vs_tunnel_xmit_v6 build them (docs/spec/ipvs-kernel.md §4.3):
//   ipip  outer IP (protocol 4 for IPv4 inside, 41 for IPv6) + inner packet
//   gue   outer IPv4 (protocol 17) + UDP (dport = the dest's tun_port) + 4-byte GUE header
//   gre   outer IPv4 (protocol 47) + GRE (4 bytes, 8 with the checksum option)
// Outer TOS is the inner DS field with ECN encapsulated (CE becomes ECT(0)), outer TTL is the
// inner TTL after the hop's decrement, and the outer DF copies the inner DF (pmtu_disc = 1).
// The writer is handed the inner packet already in place after the room it leaves for the
// outer headers, so a segmented GSO frame is encapsulated without a second copy.

import {
  IP_VS_CONN_F_TUNNEL_TYPE_GRE,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE,
  IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
  type TunType,
} from '../core/constants.js';
import { checksum, pseudo4, pseudo6, write16, write32, write128 } from '../wire/csum.js';
import { ETH_P_IP, ETH_P_IPV6 } from '../wire/eth.js';

export const IPPROTO_IPIP = 4;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_GRE = 47;
export const IPPROTO_UDP_GUE = 17;
export const OUTER_IP_HLEN = 20;
export const OUTER_IP6_HLEN = 40;
export const UDP_HLEN = 8;
export const GUE_HLEN = 4;
/** Ephemeral port range of the kernel (ip_local_port_range), used for the GUE source port. */
export const GUE_SPORT_MIN = 32768;
export const GUE_SPORT_MAX = 60999;
const GRE_F_CSUM = 0x8000;
const IP_DF = 0x4000;

/** Bytes the encapsulation adds in front of the inner packet (outer IP header included). */
export function tunnelOverhead(type: TunType, flags: number, outer6 = false): number {
  const ip = outer6 ? OUTER_IP6_HLEN : OUTER_IP_HLEN;
  if (type === IP_VS_CONN_F_TUNNEL_TYPE_GUE) return ip + UDP_HLEN + GUE_HLEN;
  if (type === IP_VS_CONN_F_TUNNEL_TYPE_GRE) return ip + ((flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM) !== 0 ? 8 : 4);
  return ip;
}

/** The outer protocol number of a tunnel type (ipip: 4 for an IPv4 inner packet, 41 for IPv6). */
export function tunnelProto(type: TunType, inner6 = false): number {
  if (type === IP_VS_CONN_F_TUNNEL_TYPE_GUE) return IPPROTO_UDP_GUE;
  if (type === IP_VS_CONN_F_TUNNEL_TYPE_GRE) return IPPROTO_GRE;
  return inner6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
}

/** A flow's GUE source port: a hash of the inner addresses and ports into the ephemeral range. */
export function gueSourcePort(saddr: number, daddr: number, ports: number): number {
  let h = Math.imul(saddr ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ daddr ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ ports ^ (h >>> 16), 0x27d4eb2f);
  h ^= h >>> 15;
  return GUE_SPORT_MIN + ((h >>> 0) % (GUE_SPORT_MAX - GUE_SPORT_MIN + 1));
}

export interface TunnelSpec {
  type: TunType;
  flags: number;
  /** GUE destination port (the dest's tun_port). */
  port: number;
  /** IPv6 outer header (the real server's family), else IPv4. */
  outer6: boolean;
  saddr: number;
  daddr: number;
  readonly saddr6: Uint32Array;
  readonly daddr6: Uint32Array;
}

export function newTunnelSpec(): TunnelSpec {
  return { type: 0, flags: 0, port: 0, outer6: false, saddr: 0, daddr: 0, saddr6: new Uint32Array(4), daddr6: new Uint32Array(4) };
}

/**
 * Writes the outer headers at `buf[at]` for the inner IPv4 or IPv6 packet of `innerLen` bytes
 * that already sits at `at + tunnelOverhead(t)`. `id` is the outer IPv4 ID, `sport` the GUE
 * source port. Returns the length of the whole outer packet.
 */
export function writeTunnel(buf: Uint8Array, at: number, t: TunnelSpec, innerLen: number, id: number, sport: number): number {
  const hl = tunnelOverhead(t.type, t.flags, t.outer6);
  const inner = at + hl;
  const total = hl + innerLen;
  const inner6 = buf[inner]! >>> 4 === 6;
  // The inner DS field with ECN encapsulated (CE travels as ECT(0)), and the inner TTL.
  const tos = inner6 ? ((buf[inner]! & 0x0f) << 4) | (buf[inner + 1]! >>> 4) : buf[inner + 1]!;
  const ecn = tos & 3;
  const ds = (tos & ~3) | (ecn === 3 ? 2 : ecn);
  const ttl = inner6 ? buf[inner + 7]! : buf[inner + 8]!;
  const proto = tunnelProto(t.type, inner6);
  let h: number;
  let acc: number;
  if (t.outer6) {
    buf[at] = 0x60 | (ds >>> 4);
    buf[at + 1] = (ds & 0x0f) << 4;
    write16(buf, at + 2, 0);
    write16(buf, at + 4, total - OUTER_IP6_HLEN);
    buf[at + 6] = proto;
    buf[at + 7] = ttl;
    write128(buf, at + 8, t.saddr6);
    write128(buf, at + 24, t.daddr6);
    h = at + OUTER_IP6_HLEN;
    acc = pseudo6(t.saddr6, t.daddr6, IPPROTO_UDP_GUE, total - OUTER_IP6_HLEN);
  } else {
    buf[at] = 0x45;
    buf[at + 1] = ds;
    write16(buf, at + 2, total);
    write16(buf, at + 4, id & 0xffff);
    // pmtu_disc: an IPv4 inner packet's DF is copied; an IPv6 one is never fragmented on the way.
    write16(buf, at + 6, inner6 || buf[inner + 6]! & 0x40 ? IP_DF : 0);
    buf[at + 8] = ttl;
    buf[at + 9] = proto;
    write16(buf, at + 10, 0);
    write32(buf, at + 12, t.saddr);
    write32(buf, at + 16, t.daddr);
    write16(buf, at + 10, checksum(buf, at, OUTER_IP_HLEN));
    h = at + OUTER_IP_HLEN;
    acc = pseudo4(t.saddr, t.daddr, IPPROTO_UDP_GUE, total - OUTER_IP_HLEN);
  }
  const csum = (t.flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM) !== 0;
  if (t.type === IP_VS_CONN_F_TUNNEL_TYPE_GUE) {
    const ulen = inner + innerLen - h;
    write16(buf, h, sport);
    write16(buf, h + 2, t.port);
    write16(buf, h + 4, ulen);
    write16(buf, h + 6, 0);
    // GUE version 0, no options (hlen 0), proto_ctype = inner protocol, no flags.
    buf[h + 8] = 0;
    buf[h + 9] = inner6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
    write16(buf, h + 10, 0);
    // UDP over IPv6 must carry a checksum (RFC 8200 §8.1): always filled in there.
    if (csum || t.outer6) {
      const c = checksum(buf, h, ulen, acc);
      write16(buf, h + 6, c === 0 ? 0xffff : c);
    }
  } else if (t.type === IP_VS_CONN_F_TUNNEL_TYPE_GRE) {
    write16(buf, h, csum ? GRE_F_CSUM : 0);
    write16(buf, h + 2, inner6 ? ETH_P_IPV6 : ETH_P_IP);
    if (csum) {
      write32(buf, h + 4, 0);
      write16(buf, h + 4, checksum(buf, h, inner + innerLen - h));
    }
  }
  return total;
}
