// The rtnetlink messages the packet engine reads to follow its namespace's links, addresses,
// routes and neighbours (rtnl.ts), encoded and decoded here without any system call. Layouts
// from include/uapi/linux/netlink.h (struct nlmsghdr, nlmsgerr), rtnetlink.h (struct rtmsg,
// rtattr, rtm types), if_link.h (struct ifinfomsg, IFLA_*), if_addr.h (struct ifaddrmsg,
// IFA_*) and neighbour.h (struct ndmsg, NDA_*, NUD_*). Netlink is in host byte order: every
// architecture this project builds for (x86-64, arm64) is little-endian.

export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
/** NLM_F_ROOT | NLM_F_MATCH. */
export const NLM_F_DUMP = 0x300;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

// Legacy multicast group bits of sockaddr_nl.nl_groups (rtnetlink.h, RTMGRP_*).
export const RTMGRP_LINK = 0x1;
export const RTMGRP_NEIGH = 0x4;
export const RTMGRP_IPV4_IFADDR = 0x10;
export const RTMGRP_IPV4_ROUTE = 0x40;
export const RTMGRP_IPV6_IFADDR = 0x100;
export const RTMGRP_IPV6_ROUTE = 0x400;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;
export const NDA_DST = 1;
export const NDA_LLADDR = 2;

export const IFF_UP = 0x1;
export const ARPHRD_ETHER = 1;
export const RT_TABLE_MAIN = 254;
export const RTN_UNICAST = 1;
export const NUD_INCOMPLETE = 0x01;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;

export const FAMILY_UNSPEC = 0;
export const FAMILY_INET = 2;
export const FAMILY_INET6 = 10;

/** Sizes of the family headers that follow the nlmsghdr. */
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const RTMSG_LEN = 12;
const NDMSG_LEN = 12;

const align4 = (n: number): number => (n + 3) & ~3;

export interface NlMsg {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Offset of the message (its nlmsghdr) in the buffer, and its nlmsg_len. */
  off: number;
  len: number;
}

/**
 * The messages of one datagram, in order. Stops at the first header that is short or runs past
 * `len` (a truncated or corrupt datagram): `bad` says so, the messages before it are kept.
 */
export function splitMessages(buf: Uint8Array, len: number): { msgs: NlMsg[]; bad: boolean } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const msgs: NlMsg[] = [];
  let p = 0;
  while (p + NLMSG_HDRLEN <= len) {
    const mlen = dv.getUint32(p, true);
    if (mlen < NLMSG_HDRLEN || p + mlen > len) return { msgs, bad: true };
    msgs.push({
      type: dv.getUint16(p + 4, true),
      flags: dv.getUint16(p + 6, true),
      seq: dv.getUint32(p + 8, true),
      pid: dv.getUint32(p + 12, true),
      off: p,
      len: mlen,
    });
    p += align4(mlen);
  }
  return { msgs, bad: p < len };
}

/** The rtattrs of a message after its family header of `hdr` bytes, by type (last one wins). */
export function attrs(buf: Uint8Array, m: NlMsg, hdr: number): Map<number, Uint8Array> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Map<number, Uint8Array>();
  const end = m.off + m.len;
  let p = m.off + NLMSG_HDRLEN + align4(hdr);
  while (p + 4 <= end) {
    const alen = dv.getUint16(p, true);
    if (alen < 4 || p + alen > end) break;
    // NLA_F_NESTED and NLA_F_NET_BYTEORDER ride in the top bits of the type.
    out.set(dv.getUint16(p + 2, true) & 0x3fff, buf.subarray(p + 4, p + alen));
    p += align4(alen);
  }
  return out;
}

/** A dump request: nlmsghdr (REQUEST|DUMP) and a zeroed family header of the GET type's struct. */
export function dumpRequest(type: number, family: number, seq: number): Uint8Array {
  const hdr = type === RTM_GETLINK ? IFINFOMSG_LEN : type === RTM_GETADDR ? IFADDRMSG_LEN : type === RTM_GETROUTE ? RTMSG_LEN : NDMSG_LEN;
  const b = new Uint8Array(NLMSG_HDRLEN + hdr);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, b.length, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
  dv.setUint32(8, seq, true);
  dv.setUint32(12, 0, true);
  b[16] = family; // every family header starts with its u8 family
  return b;
}

/** NLMSG_ERROR: the (positive) errno, 0 for an ACK; -1 when the message is too short. */
export function decodeError(buf: Uint8Array, m: NlMsg): number {
  if (m.len < NLMSG_HDRLEN + 4) return -1;
  return -new DataView(buf.buffer, buf.byteOffset).getInt32(m.off + NLMSG_HDRLEN, true);
}

export interface RtLink {
  ifindex: number;
  name: string;
  /** "aa:bb:cc:dd:ee:ff", or '' without IFLA_ADDRESS. */
  mac: string;
  mtu: number;
  up: boolean;
  ether: boolean;
}

export interface RtAddr {
  family: number;
  ifindex: number;
  prefix: number;
  /** 4 or 16 bytes. */
  addr: Uint8Array;
}

export interface RtRoute {
  family: number;
  dstLen: number;
  table: number;
  type: number;
  tos: number;
  /** 4 or 16 bytes; all zero for a default route. */
  dst: Uint8Array;
  gateway: Uint8Array | null;
  oif: number;
  priority: number;
  multipath: boolean;
}

export interface RtNeigh {
  family: number;
  ifindex: number;
  state: number;
  dst: Uint8Array;
  lladdr: string;
}

function macText(b: Uint8Array | undefined): string {
  if (!b || b.length !== 6) return '';
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

function u32(b: Uint8Array | undefined): number {
  return b && b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : 0;
}

function addrLen(family: number): number {
  return family === FAMILY_INET ? 4 : family === FAMILY_INET6 ? 16 : 0;
}

/** RTM_NEWLINK / RTM_DELLINK; null when the message is too short. */
export function decodeLink(buf: Uint8Array, m: NlMsg): RtLink | null {
  if (m.len < NLMSG_HDRLEN + IFINFOMSG_LEN) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset);
  const h = m.off + NLMSG_HDRLEN;
  const a = attrs(buf, m, IFINFOMSG_LEN);
  const name = a.get(IFLA_IFNAME);
  const nul = name ? name.indexOf(0) : -1;
  return {
    ifindex: dv.getInt32(h + 4, true),
    name: name ? new TextDecoder().decode(nul >= 0 ? name.subarray(0, nul) : name) : '',
    mac: macText(a.get(IFLA_ADDRESS)),
    mtu: u32(a.get(IFLA_MTU)),
    up: (dv.getUint32(h + 8, true) & IFF_UP) !== 0,
    ether: dv.getUint16(h + 2, true) === ARPHRD_ETHER,
  };
}

/** RTM_NEWADDR / RTM_DELADDR of IPv4 or IPv6; null otherwise. IPv4 reports IFA_LOCAL (the address itself). */
export function decodeAddr(buf: Uint8Array, m: NlMsg): RtAddr | null {
  if (m.len < NLMSG_HDRLEN + IFADDRMSG_LEN) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset);
  const h = m.off + NLMSG_HDRLEN;
  const family = buf[h]!;
  const n = addrLen(family);
  if (n === 0) return null;
  const a = attrs(buf, m, IFADDRMSG_LEN);
  const v = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
  if (!v || v.length !== n) return null;
  return { family, ifindex: dv.getUint32(h + 4, true), prefix: buf[h + 1]!, addr: v.slice() };
}

/** RTM_NEWROUTE / RTM_DELROUTE of IPv4 or IPv6; null otherwise. */
export function decodeRoute(buf: Uint8Array, m: NlMsg): RtRoute | null {
  if (m.len < NLMSG_HDRLEN + RTMSG_LEN) return null;
  const h = m.off + NLMSG_HDRLEN;
  const family = buf[h]!;
  const n = addrLen(family);
  if (n === 0) return null;
  const a = attrs(buf, m, RTMSG_LEN);
  const dst = a.get(RTA_DST);
  const gw = a.get(RTA_GATEWAY);
  const table = a.get(RTA_TABLE);
  return {
    family,
    dstLen: buf[h + 1]!,
    tos: buf[h + 3]!,
    table: table ? u32(table) : buf[h + 4]!,
    type: buf[h + 7]!,
    dst: dst && dst.length === n ? dst.slice() : new Uint8Array(n),
    gateway: gw && gw.length === n ? gw.slice() : null,
    oif: u32(a.get(RTA_OIF)),
    priority: u32(a.get(RTA_PRIORITY)),
    multipath: a.has(RTA_MULTIPATH),
  };
}

/** RTM_NEWNEIGH / RTM_DELNEIGH of IPv4 or IPv6; null otherwise. */
export function decodeNeigh(buf: Uint8Array, m: NlMsg): RtNeigh | null {
  if (m.len < NLMSG_HDRLEN + NDMSG_LEN) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset);
  const h = m.off + NLMSG_HDRLEN;
  const family = buf[h]!;
  const n = addrLen(family);
  if (n === 0) return null;
  const a = attrs(buf, m, NDMSG_LEN);
  const dst = a.get(NDA_DST);
  if (!dst || dst.length !== n) return null;
  return {
    family,
    ifindex: dv.getInt32(h + 4, true),
    state: dv.getUint16(h + 8, true),
    dst: dst.slice(),
    lladdr: macText(a.get(NDA_LLADDR)),
  };
}
