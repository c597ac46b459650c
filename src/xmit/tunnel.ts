// TUN (-i): the request, unchanged but for its TTL, travels inside an outer IPv4 header from the
// director to the real server, which decapsulates it and answers the client directly. Three
// encapsulations, as the kernel's ip_vs_tunnel_xmit builds them (spec §4.3):
//   ipip  outer IPv4 (protocol 4) + inner packet
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
import { checksum, pseudo4, write16, write32 } from '../wire/csum.js';
import { ETH_P_IP } from '../wire/eth.js';

export const IPPROTO_IPIP = 4;
export const IPPROTO_GRE = 47;
export const IPPROTO_UDP_GUE = 17;
export const OUTER_IP_HLEN = 20;
export const UDP_HLEN = 8;
export const GUE_HLEN = 4;
/** Ephemeral port range of the kernel (ip_local_port_range), used for the GUE source port. */
export const GUE_SPORT_MIN = 32768;
export const GUE_SPORT_MAX = 60999;
const GRE_F_CSUM = 0x8000;
const IP_DF = 0x4000;

/** Bytes the encapsulation adds in front of the inner packet (outer IPv4 header included). */
export function tunnelOverhead(type: TunType, flags: number): number {
  if (type === IP_VS_CONN_F_TUNNEL_TYPE_GUE) return OUTER_IP_HLEN + UDP_HLEN + GUE_HLEN;
  if (type === IP_VS_CONN_F_TUNNEL_TYPE_GRE) {
    return OUTER_IP_HLEN + ((flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM) !== 0 ? 8 : 4);
  }
  return OUTER_IP_HLEN;
}

/** The outer protocol number of a tunnel type. */
export function tunnelProto(type: TunType): number {
  if (type === IP_VS_CONN_F_TUNNEL_TYPE_GUE) return IPPROTO_UDP_GUE;
  if (type === IP_VS_CONN_F_TUNNEL_TYPE_GRE) return IPPROTO_GRE;
  return IPPROTO_IPIP;
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
  saddr: number;
  daddr: number;
}

/**
 * Writes the outer headers at `buf[at]` for the inner IPv4 packet of `innerLen` bytes that
 * already sits at `at + tunnelOverhead(t)`. `id` is the outer IP ID, `sport` the GUE source
 * port. Returns the length of the whole outer packet.
 */
export function writeTunnel(buf: Uint8Array, at: number, t: TunnelSpec, innerLen: number, id: number, sport: number): number {
  const hl = tunnelOverhead(t.type, t.flags);
  const inner = at + hl;
  const total = hl + innerLen;
  const tos = buf[inner + 1]!;
  const ecn = tos & 3;
  buf[at] = 0x45;
  buf[at + 1] = (tos & ~3) | (ecn === 3 ? 2 : ecn);
  write16(buf, at + 2, total);
  write16(buf, at + 4, id & 0xffff);
  write16(buf, at + 6, buf[inner + 6]! & 0x40 ? IP_DF : 0);
  buf[at + 8] = buf[inner + 8]!;
  buf[at + 9] = tunnelProto(t.type);
  write16(buf, at + 10, 0);
  write32(buf, at + 12, t.saddr);
  write32(buf, at + 16, t.daddr);
  write16(buf, at + 10, checksum(buf, at, OUTER_IP_HLEN));
  const h = at + OUTER_IP_HLEN;
  const csum = (t.flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM) !== 0;
  if (t.type === IP_VS_CONN_F_TUNNEL_TYPE_GUE) {
    const ulen = total - OUTER_IP_HLEN;
    write16(buf, h, sport);
    write16(buf, h + 2, t.port);
    write16(buf, h + 4, ulen);
    write16(buf, h + 6, 0);
    // GUE version 0, no options (hlen 0), proto_ctype = inner protocol, no flags.
    buf[h + 8] = 0;
    buf[h + 9] = IPPROTO_IPIP;
    write16(buf, h + 10, 0);
    if (csum) {
      const c = checksum(buf, h, ulen, pseudo4(t.saddr, t.daddr, IPPROTO_UDP_GUE, ulen));
      write16(buf, h + 6, c === 0 ? 0xffff : c);
    }
  } else if (t.type === IP_VS_CONN_F_TUNNEL_TYPE_GRE) {
    write16(buf, h, csum ? GRE_F_CSUM : 0);
    write16(buf, h + 2, ETH_P_IP);
    if (csum) {
      write32(buf, h + 4, 0);
      write16(buf, h + 4, checksum(buf, h, total - OUTER_IP_HLEN));
    }
  }
  return total;
}
