// Renders a frame the director sent as one line of text, tcpdump-like, after checking that it
// is well formed (lengths, IPv4 header checksum, L4 checksum, tunnel payloads recursively).
// Fixtures compare these lines: they say what matters of a frame and are read at a glance.
//
//   eth1 >rs1 ip 10.0.0.9:40000 > 10.1.0.11:80 tcp S ttl 63 len 0
//   eth1 >rs1 ip 10.1.0.1 > 10.1.0.11 ipip ttl 63 [ip 10.0.0.9:40000 > 10.0.0.100:80 tcp S ttl 63 len 0]
//   eth0 >gw ip 10.0.0.1 > 10.9.0.9 icmp 3/4 mtu 1480 ttl 64 [10.9.0.9:40000 > 10.0.0.100:80 tcp]

import { Addr } from '../../../src/core/inet.js';
import { checksum, read16, read32 } from '../../../src/wire/csum.js';
import { formatMac } from '../../../src/wire/eth.js';
import { Frame, PARSE_IP4, PARSE_IP6 } from '../../../src/wire/frame.js';

/** UDP ports whose payload is a GUE header (the fixtures' dests use them). */
export const GUE_PORTS = new Set([6080]);

const TCP_FLAGS = 'FSRPAUEC';

function flags(f: number): string {
  let s = '';
  for (let i = 0; i < 8; i++) if (f & (1 << i)) s += TCP_FLAGS[i];
  return s || '.';
}

function a6(b: Uint8Array, at: number): string {
  return Addr.v6(read32(b, at), read32(b, at + 4), read32(b, at + 8), read32(b, at + 12)).toString();
}

function a4(b: Uint8Array, at: number): string {
  const v = read32(b, at);
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function fail(what: string, line: string): never {
  throw new Error(`malformed frame out: ${what} (${line})`);
}

/** The quoted header of an ICMP error: addresses, ports and protocol only (the quote is short). */
function quote(b: Uint8Array, at: number, end: number): string {
  if (at >= end) return '[]';
  const v = b[at]! >>> 4;
  if (v === 4) {
    const ihl = (b[at]! & 15) * 4;
    const p = b[at + 9]!;
    const l4 = at + ihl;
    const name = p === 6 ? 'tcp' : p === 17 ? 'udp' : `proto ${p}`;
    const ports = (p === 6 || p === 17) && l4 + 4 <= end;
    return ports
      ? `[${a4(b, at + 12)}:${read16(b, l4)} > ${a4(b, at + 16)}:${read16(b, l4 + 2)} ${name}]`
      : `[${a4(b, at + 12)} > ${a4(b, at + 16)} ${name}]`;
  }
  const p = b[at + 6]!;
  const l4 = at + 40;
  const name = p === 6 ? 'tcp' : p === 17 ? 'udp' : `proto ${p}`;
  return (p === 6 || p === 17) && l4 + 4 <= end
    ? `[${a6(b, at + 8)}.${read16(b, l4)} > ${a6(b, at + 24)}.${read16(b, l4 + 2)} ${name}]`
    : `[${a6(b, at + 8)} > ${a6(b, at + 24)} ${name}]`;
}

/** Describes the IP packet `b[at, at+len)` (no Ethernet header), validating it. */
export function describeIp(b: Uint8Array, at: number, len: number): string {
  const v = b[at]! >>> 4;
  const e = new Uint8Array(14 + len);
  e[12] = v === 6 ? 0x86 : 0x08;
  e[13] = v === 6 ? 0xdd : 0x00;
  e.set(b.subarray(at, at + len), 14);
  return describeL3(e);
}

function describeL3(e: Uint8Array): string {
  const f = new Frame();
  const k = f.parse(e, 0, e.length, -1);
  const hex = Buffer.from(e.subarray(14, 14 + 60)).toString('hex');
  if (k !== PARSE_IP4 && k !== PARSE_IP6) fail(`does not parse as IP (kind ${k}, reason ${f.reason})`, hex);
  // Bytes after the IP packet are Ethernet padding: legal, and forwarded as they came.
  if (f.totLen > e.length - 14) fail(`IP length ${f.totLen} but ${e.length - 14} bytes`, hex);
  if (!f.v6 && checksum(e, 14, f.ihl) !== 0) fail('IPv4 header checksum', hex);
  if (!f.l4ChecksumOk()) fail(`L4 checksum (proto ${f.proto})`, hex);
  const s = f.v6 ? a6(e, 22) : a4(e, 26);
  const d = f.v6 ? a6(e, 38) : a4(e, 30);
  const sep = f.v6 ? '.' : ':';
  const fam = f.v6 ? 'ip6' : 'ip';
  const ttl = `${f.v6 ? 'hlim' : 'ttl'} ${f.ttl}`;
  const df = !f.v6 && (e[20]! & 0x40) === 0 ? ' nodf' : '';
  const l4 = f.l4;
  switch (f.proto) {
    case 6: {
      const pay = f.l4Len - (e[l4 + 12]! >>> 4) * 4;
      const ack = f.tcpFlags & 0x10 ? ` ack ${read32(e, l4 + 8)}` : '';
      return `${fam} ${s}${sep}${f.sport} > ${d}${sep}${f.dport} tcp ${flags(f.tcpFlags)} seq ${read32(e, l4 + 4)}${ack} ${ttl}${df} len ${pay}`;
    }
    case 17: {
      const pay = read16(e, l4 + 4) - 8;
      const head = `${fam} ${s}${sep}${f.sport} > ${d}${sep}${f.dport} udp ${ttl}${df}`;
      if (GUE_PORTS.has(f.dport)) {
        const g = l4 + 8;
        return `${head} gue ${e[g + 1]} [${describeIp(e, g + 4, pay - 4)}]`;
      }
      return `${head} len ${pay}`;
    }
    case 1:
    case 58: {
      const t = e[l4]!;
      const c = e[l4 + 1]!;
      const name = f.proto === 1 ? 'icmp' : 'icmp6';
      if (f.proto === 58 && (t === 135 || t === 136)) {
        return `${fam} ${s} > ${d} ${t === 135 ? 'ndp ns' : 'ndp na'} ${a6(e, l4 + 8)} ${ttl}`;
      }
      const mtu =
        f.proto === 1 && t === 3 && c === 4 ? ` mtu ${read16(e, l4 + 6)}` : f.proto === 58 && t === 2 ? ` mtu ${read32(e, l4 + 4)}` : '';
      return `${fam} ${s} > ${d} ${name} ${t}/${c}${mtu} ${ttl} ${quote(e, l4 + 8, e.length)}`;
    }
    case 4:
    case 41:
      return `${fam} ${s} > ${d} ${f.proto === 4 ? 'ipip' : 'ip6ip'} ${ttl}${df} [${describeIp(e, l4, f.l4Len)}]`;
    case 47: {
      const gf = read16(e, l4);
      const hl = gf & 0x8000 ? 8 : 4;
      if (gf & 0x8000 && checksum(e, l4, f.l4Len) !== 0) fail('GRE checksum', hex);
      return `${fam} ${s} > ${d} gre${gf & 0x8000 ? ' csum' : ''} ${ttl}${df} [${describeIp(e, l4 + hl, f.l4Len - hl)}]`;
    }
    default:
      return `${fam} ${s} > ${d} proto ${f.proto} ${ttl}`;
  }
}

/**
 * One line for a frame sent out of `on` (its MAC `ownMac`), Ethernet header first; `names`
 * maps MACs (formatMac) to short names.
 */
export function describe(on: string, ownMac: string, frame: Uint8Array, names: ReadonlyMap<string, string>): string {
  const dst = formatMac(frame, 0);
  const src = formatMac(frame, 6);
  const who = (m: string): string => names.get(m) ?? m;
  const from = src === ownMac ? '' : ` from ${who(src)}`;
  const head = `${on} >${who(dst)}${from}`;
  const type = read16(frame, 12);
  if (type === 0x0806) {
    const op = read16(frame, 20);
    const spa = a4(frame, 28);
    const tpa = a4(frame, 38);
    return op === 1 ? `${head} arp who-has ${tpa} tell ${spa}` : `${head} arp reply ${spa} is-at ${who(formatMac(frame, 22))} to ${tpa}`;
  }
  if (type !== 0x0800 && type !== 0x86dd) return `${head} ethertype 0x${type.toString(16)}`;
  return `${head} ${describeL3(frame)}`;
}
