// What a received VRRP packet goes through before an instance's state machine sees it: the
// IPv4 header of a raw read, the codec's checks (packet.ts), then the instance's own (version,
// v2 authentication and interval; RFC 3768 §7.1, keepalived's vrrp_check_packet). Pure, so
// that the fuzzer (test/unit/fuzz/vrrp.ts) drives exactly this path; every refusal is a
// named reason, counted by the caller.

import { VRRP_PROTO } from './constants.js';
import type { VrrpInstanceConfig } from './config.js';
import {
  AUTH_NONE,
  AUTH_PASS,
  type VrrpAdvert,
  type VrrpDropReason,
  type VrrpFamily,
  decodeAdvert,
  parseIpv4,
  passAuthData,
} from './packet.js';

/** Why an advert was not taken, counted per reason (shown by `tsvs status --json`). */
export type VrrpRxDrop = VrrpDropReason | 'unknown_vrid' | 'version_mismatch' | 'auth_mismatch' | 'interval_mismatch';

export interface RxPacket {
  src: Uint8Array;
  dst: Uint8Array;
  ttl: number;
  msg: Uint8Array;
}

/** The VRRP packet in an IPv4 raw read (header included), or why there is none. */
export function rxIpv4(pkt: Uint8Array): RxPacket | 'bad_ip_header' | 'not_vrrp' {
  const ip = parseIpv4(pkt);
  if (!ip) return 'bad_ip_header';
  if (ip.proto !== VRRP_PROTO) return 'not_vrrp';
  return { src: ip.src.slice(), dst: ip.dst.slice(), ttl: ip.ttl, msg: ip.payload.slice() };
}

export type RxConfig = Pick<VrrpInstanceConfig, 'version' | 'authPass' | 'intervalCs' | 'unicastPeers'>;

export type RxVerdict = { ok: true; advert: VrrpAdvert } | { ok: false; drop: VrrpRxDrop };

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Decodes `p` for the instance of its VRID and applies that instance's checks. */
export function judgeAdvert(cfg: RxConfig, family: VrrpFamily, p: RxPacket): RxVerdict {
  const r = decodeAdvert(p.msg, { family, src: p.src, dst: p.dst, ttl: p.ttl, checkTtl: cfg.unicastPeers.length === 0 });
  if (!r.ok) return r;
  const a = r.advert;
  if (a.version !== cfg.version) return { ok: false, drop: 'version_mismatch' };
  if (a.version === 2) {
    const wantType = cfg.authPass !== null ? AUTH_PASS : AUTH_NONE;
    if (a.authType !== wantType) return { ok: false, drop: 'auth_mismatch' };
    if (cfg.authPass !== null && !same(a.authData, passAuthData(cfg.authPass))) return { ok: false, drop: 'auth_mismatch' };
    if (a.intervalCs !== cfg.intervalCs) return { ok: false, drop: 'interval_mismatch' };
  }
  return r;
}
