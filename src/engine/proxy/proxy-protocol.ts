// PROXY protocol headers (HAProxy's specification, versions 1 and 2) that tell a real server
// the client's address when the director terminates the client's connection.

import { isIPv6 } from 'node:net';
import { Addr } from '../../core/inet.js';

const V2_SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** "PROXY TCP4 src dst sport dport\r\n" (UNKNOWN when families differ). */
export function proxyV1(src: string, sport: number, dst: string, dport: number): Buffer {
  const s6 = isIPv6(src);
  if (s6 !== isIPv6(dst)) return Buffer.from('PROXY UNKNOWN\r\n');
  return Buffer.from(`PROXY ${s6 ? 'TCP6' : 'TCP4'} ${src} ${dst} ${sport} ${dport}\r\n`);
}

/** The binary v2 header: PROXY command, TCP or UDP over IPv4 or IPv6. */
export function proxyV2(src: string, sport: number, dst: string, dport: number, udp = false): Buffer {
  const a = Addr.parse(src.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'));
  const b = Addr.parse(dst.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'));
  if (!a || !b || a.af !== b.af) {
    const h = Buffer.alloc(16);
    V2_SIG.copy(h);
    h[12] = 0x20; // v2, LOCAL
    return h;
  }
  const alen = a.isV6 ? 16 : 4;
  const h = Buffer.alloc(16 + 2 * alen + 4);
  V2_SIG.copy(h);
  h[12] = 0x21; // v2, PROXY
  h[13] = (a.isV6 ? 0x20 : 0x10) | (udp ? 0x02 : 0x01);
  h.writeUInt16BE(2 * alen + 4, 14);
  Buffer.from(a.toBytes()).copy(h, 16);
  Buffer.from(b.toBytes()).copy(h, 16 + alen);
  h.writeUInt16BE(sport, 16 + 2 * alen);
  h.writeUInt16BE(dport, 18 + 2 * alen);
  return h;
}
