// VRRP advertisements on the wire: VRRPv2 (RFC 3768 §5, with keepalived's PASS authentication
// from RFC 2338) and VRRPv3 (RFC 5798 §5) over IPv4 and IPv6, as keepalived sends them.
// Pure: bytes in, a decoded advert or a named drop reason out; nothing is thrown on bad input.
//
// Checksums (docs/spec/ha.md A.4): v2 covers the VRRP message alone. v3 adds the pseudo-header of the
// carrying IP version; for IPv4 keepalived adds it by default, vendors and `v3_checksum_as_v2`
// leave it out, so a v3 IPv4 advert is accepted with either.

import { checksum, fold, pseudo4, pseudo6, read16, read32, sum16, write16 } from '../../wire/csum.js';
import { VRRP_AUTH_DATA_LEN, VRRP_HEADER_LEN, VRRP_PROTO, VRRP_TTL, VRRP_TYPE_ADVERT } from './constants.js';

export type VrrpFamily = 4 | 6;
export type VrrpVersion = 2 | 3;

/** Auth types of VRRPv2's auth byte (RFC 2338 §5.3.6). */
export const AUTH_NONE = 0;
export const AUTH_PASS = 1;
export const AUTH_AH = 2;

export interface VrrpAdvert {
  version: VrrpVersion;
  vrid: number;
  priority: number;
  /** Advertisement interval in centiseconds (v2's whole seconds × 100). */
  intervalCs: number;
  /** The advertised addresses, as bytes: 4 each for IPv4, 16 for IPv6. */
  addrs: Uint8Array[];
  /** v2 only: the auth type byte and the 8 bytes of authentication data. */
  authType: number;
  authData: Uint8Array;
}

/** What the IP layer says about the packet that carried the advert. */
export interface VrrpCarrier {
  family: VrrpFamily;
  src: Uint8Array;
  dst: Uint8Array;
  /** TTL (IPv4) or hop limit (IPv6) as received. */
  ttl: number;
  /** Unicast peers are not held to TTL 255 (keepalived skips the check). */
  checkTtl: boolean;
}

export const VRRP_DROP_REASONS = [
  'truncated',
  'bad_ip_header',
  'not_vrrp',
  'bad_ttl',
  'bad_version',
  'bad_type',
  'bad_length',
  'bad_checksum',
] as const;
export type VrrpDropReason = (typeof VRRP_DROP_REASONS)[number];

export type DecodeResult = { ok: true; advert: VrrpAdvert } | { ok: false; drop: VrrpDropReason };

const ZERO_AUTH = new Uint8Array(VRRP_AUTH_DATA_LEN);

function addrWords(a: Uint8Array): number[] {
  const w: number[] = [];
  for (let i = 0; i < a.length; i += 4) w.push(read32(a, i));
  return w;
}

/** Sum of the pseudo-header for a v3 message of `len` bytes from `src` to `dst`. */
function pseudoSum(family: VrrpFamily, src: Uint8Array, dst: Uint8Array, len: number): number {
  if (family === 4) return pseudo4(read32(src, 0), read32(dst, 0), VRRP_PROTO, len);
  return pseudo6(addrWords(src), addrWords(dst), VRRP_PROTO, len);
}

export interface EncodeOptions {
  family: VrrpFamily;
  /** Source and destination of the IP packet (needed for the v3 pseudo-header). */
  src: Uint8Array;
  dst: Uint8Array;
  /** v3 over IPv4 without the pseudo-header (keepalived's `v3_checksum_as_v2`). */
  v3ChecksumAsV2?: boolean;
}

/** The VRRP message (what follows the IP header) for `adv`. */
export function encodeAdvert(adv: VrrpAdvert, opts: EncodeOptions): Uint8Array {
  const alen = opts.family === 4 ? 4 : 16;
  const tail = adv.version === 2 ? VRRP_AUTH_DATA_LEN : 0;
  const len = VRRP_HEADER_LEN + alen * adv.addrs.length + tail;
  const b = new Uint8Array(len);
  b[0] = (adv.version << 4) | VRRP_TYPE_ADVERT;
  b[1] = adv.vrid;
  b[2] = adv.priority;
  b[3] = adv.addrs.length;
  if (adv.version === 2) {
    b[4] = adv.authType;
    b[5] = Math.round(adv.intervalCs / 100);
  } else {
    write16(b, 4, adv.intervalCs & 0x0fff);
  }
  let at = VRRP_HEADER_LEN;
  for (const a of adv.addrs) {
    b.set(a.subarray(0, alen), at);
    at += alen;
  }
  if (adv.version === 2) b.set(adv.authType === AUTH_PASS ? adv.authData : ZERO_AUTH, at);
  const withPseudo = adv.version === 3 && !(opts.family === 4 && opts.v3ChecksumAsV2);
  const acc = withPseudo ? pseudoSum(opts.family, opts.src, opts.dst, len) : 0;
  write16(b, 6, checksum(b, 0, len, acc));
  return b;
}

/**
 * Decodes the VRRP message `msg` carried as `carrier` says. Checks TTL, version, type, length
 * and checksum (RFC 3768 §7.1, RFC 5798 §7.1); VRID, auth and interval are the instance's to
 * judge.
 */
export function decodeAdvert(msg: Uint8Array, carrier: VrrpCarrier): DecodeResult {
  if (msg.length < VRRP_HEADER_LEN) return { ok: false, drop: 'truncated' };
  if (carrier.checkTtl && carrier.ttl !== VRRP_TTL) return { ok: false, drop: 'bad_ttl' };
  const version = msg[0]! >> 4;
  if (version !== 2 && version !== 3) return { ok: false, drop: 'bad_version' };
  if (version === 2 && carrier.family === 6) return { ok: false, drop: 'bad_version' };
  if ((msg[0]! & 0x0f) !== VRRP_TYPE_ADVERT) return { ok: false, drop: 'bad_type' };
  const n = msg[3]!;
  const alen = carrier.family === 4 ? 4 : 16;
  const tail = version === 2 ? VRRP_AUTH_DATA_LEN : 0;
  const len = VRRP_HEADER_LEN + n * alen + tail;
  if (msg.length < len) return { ok: false, drop: 'bad_length' };
  if (version === 2) {
    if (checksum(msg, 0, len) !== 0) return { ok: false, drop: 'bad_checksum' };
  } else {
    const plain = sum16(msg, 0, len);
    const full = plain + pseudoSum(carrier.family, carrier.src, carrier.dst, len);
    const good = fold(full) === 0xffff || (carrier.family === 4 && fold(plain) === 0xffff);
    if (!good) return { ok: false, drop: 'bad_checksum' };
  }
  const addrs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) addrs.push(msg.slice(VRRP_HEADER_LEN + i * alen, VRRP_HEADER_LEN + (i + 1) * alen));
  const authAt = VRRP_HEADER_LEN + n * alen;
  return {
    ok: true,
    advert: {
      version,
      vrid: msg[1]!,
      priority: msg[2]!,
      intervalCs: version === 2 ? msg[5]! * 100 : read16(msg, 4) & 0x0fff,
      addrs,
      authType: version === 2 ? msg[4]! : AUTH_NONE,
      authData: version === 2 ? msg.slice(authAt, authAt + VRRP_AUTH_DATA_LEN) : new Uint8Array(0),
    },
  };
}

export interface Ipv4View {
  src: Uint8Array;
  dst: Uint8Array;
  ttl: number;
  proto: number;
  /** The payload (after the header, up to the header's total length). */
  payload: Uint8Array;
}

/** The IPv4 header of a packet read from a raw socket, or null when it is not a sound one. */
export function parseIpv4(pkt: Uint8Array): Ipv4View | null {
  if (pkt.length < 20 || pkt[0]! >> 4 !== 4) return null;
  const ihl = (pkt[0]! & 0x0f) * 4;
  const total = read16(pkt, 2);
  if (ihl < 20 || total < ihl || total > pkt.length) return null;
  return {
    src: pkt.subarray(12, 16),
    dst: pkt.subarray(16, 20),
    ttl: pkt[8]!,
    proto: pkt[9]!,
    payload: pkt.subarray(ihl, total),
  };
}

/** The 8 bytes of a PASS password: its first 8 characters, zero padded (keepalived). */
export function passAuthData(pass: string): Uint8Array {
  const out = new Uint8Array(VRRP_AUTH_DATA_LEN);
  out.set(new TextEncoder().encode(pass).subarray(0, VRRP_AUTH_DATA_LEN));
  return out;
}
