// Builds well-formed Ethernet/IPv4 frames for the wire and xmit tests, checksums included.
import { checksum, pseudo4, write16, write32 } from '../../../src/wire/csum.js';

export interface Pkt {
  saddr: number;
  daddr: number;
  sport: number;
  dport: number;
  proto?: 6 | 17;
  flags?: number;
  payload?: Uint8Array;
  ttl?: number;
  /** Leave the UDP checksum at zero ("none"). */
  noUdpCsum?: boolean;
  /** Ethernet destination and source (default MAC_B, MAC_A). */
  dmac?: Uint8Array;
  smac?: Uint8Array;
  /** Clear DF (default set). */
  noDf?: boolean;
  /** The DS field (DSCP and ECN; default 0). */
  tos?: number;
  /** Set MF: a first fragment. */
  mf?: boolean;
  seq?: number;
  ack?: number;
}

export const MAC_A = Uint8Array.from([2, 0, 0, 0, 0, 0xa]);
export const MAC_B = Uint8Array.from([2, 0, 0, 0, 0, 0xb]);

export function ip(s: string): number {
  return s.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0;
}

/** Ethernet + IPv4 (20 B) + TCP (20 B) or UDP (8 B) + payload. */
export function frame4(p: Pkt): Uint8Array {
  const proto = p.proto ?? 6;
  const pay = p.payload ?? new Uint8Array(0);
  const l4h = proto === 6 ? 20 : 8;
  const l4len = l4h + pay.length;
  const b = new Uint8Array(14 + 20 + l4len);
  b.set(p.dmac ?? MAC_B, 0);
  b.set(p.smac ?? MAC_A, 6);
  write16(b, 12, 0x0800);
  b[14] = 0x45;
  b[15] = p.tos ?? 0;
  write16(b, 16, 20 + l4len);
  write16(b, 18, 0x1234);
  write16(b, 20, (p.noDf ? 0 : 0x4000) | (p.mf ? 0x2000 : 0));
  b[22] = p.ttl ?? 64;
  b[23] = proto;
  write32(b, 26, p.saddr);
  write32(b, 30, p.daddr);
  write16(b, 24, checksum(b, 14, 20));
  const l4 = 34;
  write16(b, l4, p.sport);
  write16(b, l4 + 2, p.dport);
  if (proto === 6) {
    write32(b, l4 + 4, p.seq ?? 1000);
    write32(b, l4 + 8, p.ack ?? 0);
    b[l4 + 12] = 0x50;
    b[l4 + 13] = p.flags ?? 0x02;
    write16(b, l4 + 14, 65535);
  } else write16(b, l4 + 4, l4len);
  b.set(pay, l4 + l4h);
  const csumAt = proto === 6 ? l4 + 16 : l4 + 6;
  if (!(proto === 17 && p.noUdpCsum)) {
    let c = checksum(b, l4, l4len, pseudo4(p.saddr, p.daddr, proto, l4len));
    if (proto === 17 && c === 0) c = 0xffff;
    write16(b, csumAt, c);
  }
  return b;
}

/** An ICMP error (type/code) from `from` to `to`, quoting the IPv4 packet of `quoted`. */
export function icmpError(from: number, to: number, type: number, code: number, quoted: Uint8Array): Uint8Array {
  const q = quoted.subarray(14, 14 + 28); // IP header + 8 bytes, as routers quote
  const b = new Uint8Array(14 + 20 + 8 + q.length);
  b.set(MAC_B, 0);
  b.set(MAC_A, 6);
  write16(b, 12, 0x0800);
  b[14] = 0x45;
  write16(b, 16, 20 + 8 + q.length);
  b[22] = 64;
  b[23] = 1;
  write32(b, 26, from);
  write32(b, 30, to);
  write16(b, 24, checksum(b, 14, 20));
  b[34] = type;
  b[35] = code;
  b.set(q, 42);
  write16(b, 36, checksum(b, 34, 8 + q.length));
  return b;
}

export interface Pkt6 {
  saddr: Uint32Array;
  daddr: Uint32Array;
  sport: number;
  dport: number;
  proto?: 6 | 17;
  payload?: Uint8Array;
  hop?: number;
  /** The traffic class (DSCP and ECN; default 0). */
  tclass?: number;
  /** Extension headers before the transport header: 'hbh' (hop-by-hop), 'frag' (a first fragment). */
  ext?: ('hbh' | 'frag' | 'frag-later')[];
  dmac?: Uint8Array;
  smac?: Uint8Array;
  flags?: number;
  seq?: number;
}

export function ip6(s: string): Uint32Array {
  const [head, tail = ''] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  return Uint32Array.from([0, 1, 2, 3], (k) => ((groups[2 * k]! << 16) | groups[2 * k + 1]!) >>> 0);
}

/** Ethernet + IPv6 (+ extension headers) + TCP or UDP + payload, checksum right. */
export function frame6(p: Pkt6): Uint8Array {
  const proto = p.proto ?? 6;
  const pay = p.payload ?? new Uint8Array(0);
  const l4h = proto === 6 ? 20 : 8;
  const l4len = l4h + pay.length;
  const ext = p.ext ?? [];
  const b = new Uint8Array(14 + 40 + 8 * ext.length + l4len);
  b.set(p.dmac ?? MAC_B, 0);
  b.set(p.smac ?? MAC_A, 6);
  write16(b, 12, 0x86dd);
  b[14] = 0x60 | ((p.tclass ?? 0) >>> 4);
  b[15] = ((p.tclass ?? 0) & 0x0f) << 4;
  write16(b, 18, 8 * ext.length + l4len);
  b[20] = ext.length === 0 ? proto : ext[0] === 'hbh' ? 0 : 44;
  b[21] = p.hop ?? 64;
  for (let k = 0; k < 4; k++) {
    write32(b, 22 + 4 * k, p.saddr[k]!);
    write32(b, 38 + 4 * k, p.daddr[k]!);
  }
  let at = 54;
  ext.forEach((e, i) => {
    const next = ext[i + 1];
    b[at] = next === undefined ? proto : next === 'hbh' ? 0 : 44;
    if (e === 'hbh') {
      b[at + 1] = 0;
      b[at + 2] = 1; // PadN
      b[at + 3] = 4;
    } else write16(b, at + 2, e === 'frag-later' ? 8 << 3 : 1); // offset 8 units, or M flag
    at += 8;
  });
  const l4 = at;
  write16(b, l4, p.sport);
  write16(b, l4 + 2, p.dport);
  if (proto === 6) {
    write32(b, l4 + 4, p.seq ?? 1000);
    b[l4 + 12] = 0x50;
    b[l4 + 13] = p.flags ?? 0x02;
    write16(b, l4 + 14, 65535);
  } else write16(b, l4 + 4, l4len);
  b.set(pay, l4 + l4h);
  let acc = proto + l4len;
  for (let k = 0; k < 4; k++) acc += (p.saddr[k]! >>> 16) + (p.saddr[k]! & 0xffff) + (p.daddr[k]! >>> 16) + (p.daddr[k]! & 0xffff);
  let c = checksum(b, l4, l4len, acc);
  if (proto === 17 && c === 0) c = 0xffff;
  write16(b, proto === 6 ? l4 + 16 : l4 + 6, c);
  return b;
}

/** An ICMPv6 error (type/code, `info`: the MTU of "packet too big") from `from` to `to`, quoting `quoted`. */
export function icmp6Error(from: Uint32Array, to: Uint32Array, type: number, code: number, quoted: Uint8Array, info = 0): Uint8Array {
  const q = quoted.subarray(14, 14 + 48);
  const b = new Uint8Array(14 + 40 + 8 + q.length);
  b.set(MAC_B, 0);
  b.set(MAC_A, 6);
  b[12] = 0x86;
  b[13] = 0xdd;
  b[14] = 0x60;
  write16(b, 18, 8 + q.length);
  b[20] = 58;
  b[21] = 64;
  for (let k = 0; k < 4; k++) {
    write32(b, 22 + 4 * k, from[k]!);
    write32(b, 38 + 4 * k, to[k]!);
  }
  b[54] = type;
  b[55] = code;
  write32(b, 58, info);
  b.set(q, 62);
  let acc = 58 + 8 + q.length;
  for (let k = 0; k < 4; k++) acc += (from[k]! >>> 16) + (from[k]! & 0xffff) + (to[k]! >>> 16) + (to[k]! & 0xffff);
  write16(b, 56, checksum(b, 54, 8 + q.length, acc));
  return b;
}

/** `b` with its Ethernet destination and source set (a copy). */
export function macs(b: Uint8Array, dmac: Uint8Array, smac: Uint8Array): Uint8Array {
  const c = b.slice();
  c.set(dmac, 0);
  c.set(smac, 6);
  return c;
}
