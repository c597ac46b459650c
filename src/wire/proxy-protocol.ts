// PROXY protocol headers (HAProxy's specification, versions 1 and 2) that tell a real server the
// client's address when the director terminates the client's connection (proxy engine) or
// rewrites its source (FULLNAT, xmit/proxy-insert.ts). One encoder for both.

import { Addr } from '../core/inet.js';

/** The v2 signature: "\r\n\r\n\0\r\nQUIT\n". */
const V2_SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
/** v2 header length before the addresses: signature, version/command, family, length. */
const V2_FIXED = 16;
const V2_LOCAL = 0x20;
const V2_PROXY = 0x21;
const V2_INET = 0x10;
const V2_INET6 = 0x20;
const V2_STREAM = 0x01;
const V2_DGRAM = 0x02;

const V1_UNKNOWN = 'PROXY UNKNOWN\r\n';

const text = new TextEncoder();

/**
 * The header of `version` (1 or 2) for a connection from src:sport to dst:dport (the address the
 * client reached). Addresses of different families give v1's UNKNOWN and v2's LOCAL command, as
 * the specification says for a connection the sender cannot describe.
 */
export function proxyHeader(version: number, src: Addr, sport: number, dst: Addr, dport: number, udp = false): Uint8Array {
  return version === 1 ? encodeV1(src, sport, dst, dport) : encodeV2(src, sport, dst, dport, udp);
}

function encodeV1(src: Addr, sport: number, dst: Addr, dport: number): Uint8Array {
  if (src.isV6 !== dst.isV6) return text.encode(V1_UNKNOWN);
  return text.encode(`PROXY ${src.isV6 ? 'TCP6' : 'TCP4'} ${src.toString()} ${dst.toString()} ${sport} ${dport}\r\n`);
}

/** v2 with the LOCAL command and no addresses: the receiver uses the connection's own. */
function v2Local(): Uint8Array {
  const h = new Uint8Array(V2_FIXED);
  h.set(V2_SIG);
  h[12] = V2_LOCAL;
  return h;
}

function encodeV2(src: Addr, sport: number, dst: Addr, dport: number, udp: boolean): Uint8Array {
  if (src.isV6 !== dst.isV6) return v2Local();
  const alen = src.isV6 ? 16 : 4;
  const h = new Uint8Array(V2_FIXED + 2 * alen + 4);
  const v = new DataView(h.buffer);
  h.set(V2_SIG);
  h[12] = V2_PROXY;
  h[13] = (src.isV6 ? V2_INET6 : V2_INET) | (udp ? V2_DGRAM : V2_STREAM);
  v.setUint16(14, 2 * alen + 4, false);
  h.set(src.toBytes(), V2_FIXED);
  h.set(dst.toBytes(), V2_FIXED + alen);
  v.setUint16(V2_FIXED + 2 * alen, sport, false);
  v.setUint16(V2_FIXED + 2 * alen + 2, dport, false);
  return h;
}

/** An address as text, an IPv4-mapped IPv6 one as IPv4 (as Node reports dual-stack peers). */
function parse(s: string): Addr | null {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  return Addr.parse(m ? m[1]! : s);
}

/** proxyHeader() for addresses as text; an address that does not parse is described as unknown. */
export function proxyHeaderText(version: number, src: string, sport: number, dst: string, dport: number, udp = false): Uint8Array {
  const a = parse(src);
  const b = parse(dst);
  if (!a || !b) return version === 1 ? text.encode(V1_UNKNOWN) : v2Local();
  return proxyHeader(version, a, sport, b, dport, udp);
}

/** v1 header from addresses as text (FULLNAT's xmit). */
export function proxyV1(src: string, sport: number, dst: string, dport: number): Uint8Array {
  return proxyHeaderText(1, src, sport, dst, dport);
}

/** v2 header from addresses as text (FULLNAT's xmit). */
export function proxyV2(src: string, sport: number, dst: string, dport: number, udp = false): Uint8Array {
  return proxyHeaderText(2, src, sport, dst, dport, udp);
}
