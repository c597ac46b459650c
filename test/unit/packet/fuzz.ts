// A structure-aware fuzzer of the per-frame path, in process over the in-memory ports (issue
// #16, "Hostile input"): well-formed Ethernet/IPv4/IPv6/TCP/UDP/ICMP/ARP/NDP frames toward a
// director with every forwarding method, then mutated (bytes flipped, lengths changed, frames
// cut or extended, checksums sometimes made right again so that the mutation reaches the deeper
// code), plus random bytes. Invariants, checked per frame: no exception; every frame out has
// valid lengths and checksums (describe.ts); a frame the kernel filter would take either leaves
// (or waits for its next hop's MAC) or moves a named drop counter. At the end, the conn table
// empties once every timeout has passed (nothing leaks).
// `npm run fuzz [-- FRAMES [SEED]]` runs it long; fuzz.test.ts runs it short.

import { checksum, pseudo4, pseudo6, read16, write16 } from '../../../src/wire/csum.js';
import { Frame, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, PARSE_IP4, PARSE_IP6 } from '../../../src/wire/frame.js';
import { writeArp } from '../../../src/wire/arp.js';
import { writeNs } from '../../../src/wire/ndp.js';
import { frame4, frame6, icmp6Error, icmpError, ip, ip6, macs } from '../wire/build.js';
import { Director, mac } from './director.js';
import { mulberry32 } from '../fuzz/rng.js';

export const FUZZ_RULES = [
  '-A -t 10.0.0.100:80 -s rr',
  '-a -t 10.0.0.100:80 -r 10.1.0.11:80 -m',
  '-a -t 10.0.0.100:80 -r 10.1.0.12:80 -m',
  '-A -u 10.0.0.100:53 -s rr',
  '-a -u 10.0.0.100:53 -r 10.1.0.11:5353 -m',
  '-A -t 10.0.0.101:80 -s wrr',
  '-a -t 10.0.0.101:80 -r 10.1.0.11:80 -g',
  '-A -t 10.0.0.102:80 -s rr',
  '-a -t 10.0.0.102:80 -r 10.1.0.11:80 -i --tun-type gue --tun-port 6080',
  '-a -t 10.0.0.102:80 -r 10.1.0.12:80 -i --tun-type gre --tun-csum',
  '-A -t 10.0.0.103:80 -s rr --laddr 10.1.0.200',
  '-a -t 10.0.0.103:80 -r 10.1.0.11:8080 --fullnat --proxy-protocol v2',
  '-a -t 10.0.0.103:80 -r 10.1.0.12:8080 --fullnat',
  '-A -t [fd00::100]:80 -s rr',
  '-a -t [fd00::100]:80 -r [fd01::11]:80 -m',
  '-A -t [fd00::101]:80 -s rr',
  '-a -t [fd00::101]:80 -r [fd01::11]:80 -g',
  '-A -u [fd00::102]:53 -s rr',
  '-a -u [fd00::102]:53 -r [fd01::11]:53 -i',
  '-A -t [fd00::103]:80 -s rr --laddr fd01::200',
  '-a -t [fd00::103]:80 -r [fd01::11]:8080 --fullnat --proxy-protocol v1',
];

/** What the kernel filter takes, restated independently of takes.ts: [addr, port, proto]. */
const SERVICES4: [string, number, number][] = [
  ['10.0.0.100', 80, 6],
  ['10.0.0.100', 53, 17],
  ['10.0.0.101', 80, 6],
  ['10.0.0.102', 80, 6],
  ['10.0.0.103', 80, 6],
];
const REPLIES4: [string, number][] = [
  ['10.1.0.11', 80],
  ['10.1.0.12', 80],
  ['10.1.0.11', 5353],
  ['10.1.0.11', 8080],
  ['10.1.0.12', 8080],
];
const SERVICES6: [string, number, number][] = [
  ['fd00::100', 80, 6],
  ['fd00::101', 80, 6],
  ['fd00::102', 53, 17],
  ['fd00::103', 80, 6],
];
const REPLIES6: [string, number][] = [
  ['fd01::11', 80],
  ['fd01::11', 8080],
];
const OWN4 = new Set(['10.0.0.1', '10.1.0.1']);
const OWN6 = new Set(['fd00::1', 'fd01::1']);

export interface FuzzResult {
  frames: number;
  sent: number;
  drops: Record<string, number>;
  conns: number;
}

export class FuzzFailure extends Error {
  constructor(
    msg: string,
    readonly frame: Uint8Array,
  ) {
    super(`${msg}\n  frame: ${Buffer.from(frame).toString('hex')}`);
  }
}

/** Recomputes the IPv4 header and L4 checksums of `b` where it can (so mutated fields go deeper). */
function fixChecksums(b: Uint8Array): void {
  const f = new Frame();
  const k = f.parse(b, 0, b.length, -1);
  if (k !== PARSE_IP4 && k !== PARSE_IP6) return;
  if (!f.v6) {
    write16(b, f.l3 + 10, 0);
    write16(b, f.l3 + 10, checksum(b, f.l3, f.ihl));
  }
  if (f.fragment) return;
  const l4 = f.l4;
  const n = f.l4Len;
  if (f.proto === IPPROTO_TCP || f.proto === IPPROTO_UDP) {
    const at = f.proto === IPPROTO_TCP ? l4 + 16 : l4 + 6;
    const len = f.proto === IPPROTO_UDP ? read16(b, l4 + 4) : n;
    if (at + 2 > b.length || len > n) return;
    write16(b, at, 0);
    const acc = f.v6 ? pseudo6(f.saddr6, f.daddr6, f.proto, len) : pseudo4(f.saddr, f.daddr, f.proto, len);
    let c = checksum(b, l4, len, acc);
    if (f.proto === IPPROTO_UDP && c === 0) c = 0xffff;
    write16(b, at, c);
  } else if (f.proto === IPPROTO_ICMP) {
    write16(b, l4 + 2, 0);
    write16(b, l4 + 2, checksum(b, l4, n));
  } else if (f.proto === IPPROTO_ICMPV6) {
    write16(b, l4 + 2, 0);
    write16(b, l4 + 2, checksum(b, l4, n, pseudo6(f.saddr6, f.daddr6, IPPROTO_ICMPV6, n)));
  }
}

function fmt4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Would the kernel filter take `b` (a TCP/UDP first fragment or whole packet)? */
function taken(b: Uint8Array): boolean {
  const f = new Frame();
  const k = f.parse(b, 0, b.length, -1);
  if ((k !== PARSE_IP4 && k !== PARSE_IP6) || f.fragment) return false;
  if (f.proto !== IPPROTO_TCP && f.proto !== IPPROTO_UDP) return false;
  if (!f.v6) {
    const d = fmt4(f.daddr);
    const s = fmt4(f.saddr);
    if (SERVICES4.some(([a, p, pr]) => a === d && p === f.dport && pr === f.proto)) return true;
    return !OWN4.has(d) && REPLIES4.some(([a, p]) => a === s && p === f.sport);
  }
  const text = (w: Uint32Array): string => {
    const g: string[] = [];
    for (let i = 0; i < 4; i++) g.push((w[i]! >>> 16).toString(16), (w[i]! & 0xffff).toString(16));
    return g.join(':');
  };
  const norm = (s: string): string => text(ip6(s));
  const d = text(f.daddr6);
  const s = text(f.saddr6);
  if (SERVICES6.some(([a, p, pr]) => norm(a) === d && p === f.dport && pr === f.proto)) return true;
  return ![...OWN6].some((a) => norm(a) === d) && REPLIES6.some(([a, p]) => norm(a) === s && p === f.sport);
}

export async function runFuzz(frames: number, seed = 1): Promise<FuzzResult> {
  const r = mulberry32(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const int = (n: number): number => Math.floor(r() * n);
  const d = new Director();
  await d.rules(FUZZ_RULES);
  const fromGw = { dmac: mac('eth0'), smac: mac('gw') };
  const fromRs = { dmac: mac('eth1'), smac: mac('rs1') };
  const flagsOf = (): number => pick([0x02, 0x02, 0x10, 0x18, 0x11, 0x04, 0x12, int(256)]);
  const payload = (): Uint8Array => {
    const n = pick([0, 0, 10, 100, 1000, 1460, 1500, int(2000)]);
    const p = new Uint8Array(n);
    for (let i = 0; i < Math.min(n, 16); i++) p[i] = int(256);
    return p;
  };
  const client4 = (): number => ip(`10.9.${int(4)}.${1 + int(50)}`);
  const client6 = (): Uint32Array => ip6(`fd09::${(1 + int(50)).toString(16)}`);
  const gen = (): { on: string; b: Uint8Array } => {
    switch (int(10)) {
      case 0:
      case 1: {
        const [a, p, pr] = pick(SERVICES4);
        return {
          on: 'eth0',
          b: frame4({
            saddr: client4(),
            daddr: ip(a),
            sport: 1024 + int(200),
            dport: p,
            proto: pr as 6 | 17,
            flags: flagsOf(),
            payload: payload(),
            ttl: pick([64, 1, 2]),
            noDf: r() < 0.2,
            ...fromGw,
          }),
        };
      }
      case 2: {
        const [a, p] = pick(REPLIES4);
        const to = r() < 0.2 ? ip('10.1.0.1') : r() < 0.5 ? ip('10.1.0.200') : client4();
        return {
          on: 'eth1',
          b: frame4({ saddr: ip(a), daddr: to, sport: p, dport: 1024 + int(200), flags: flagsOf(), payload: payload(), ...fromRs }),
        };
      }
      case 3: {
        const [a, p, pr] = pick(SERVICES6);
        return {
          on: 'eth0',
          b: frame6({
            saddr: client6(),
            daddr: ip6(a),
            sport: 1024 + int(200),
            dport: p,
            proto: pr as 6 | 17,
            flags: flagsOf(),
            payload: payload(),
            hop: pick([64, 1]),
            ext: r() < 0.2 ? [pick(['hbh', 'frag', 'frag-later'] as const)] : [],
            ...fromGw,
          }),
        };
      }
      case 4: {
        const [a, p] = pick(REPLIES6);
        const to = r() < 0.3 ? ip6('fd01::200') : client6();
        return {
          on: 'eth1',
          b: frame6({ saddr: ip6(a), daddr: to, sport: p, dport: 1024 + int(200), flags: flagsOf(), payload: payload(), ...fromRs }),
        };
      }
      case 5: {
        const [a, p] = pick(SERVICES4);
        const q = frame4({ saddr: ip(a), daddr: client4(), sport: p, dport: 1024 + int(200) });
        if (r() < 0.5)
          return { on: 'eth0', b: macs(icmpError(ip('10.9.0.1'), ip(a), pick([3, 11, 12, 8]), int(16), q), fromGw.dmac, fromGw.smac) };
        const [s, sp] = pick(REPLIES4);
        const q2 = frame4({ saddr: client4(), daddr: ip(s), sport: 1024 + int(200), dport: sp });
        return { on: 'eth1', b: macs(icmpError(ip(s), client4(), 3, int(16), q2), fromRs.dmac, fromRs.smac) };
      }
      case 6: {
        const [a, p] = pick(SERVICES6);
        const q = frame6({ saddr: ip6(a), daddr: client6(), sport: p, dport: 1024 + int(200) });
        if (r() < 0.5)
          return {
            on: 'eth0',
            b: macs(icmp6Error(ip6('fd09::1'), ip6(a), pick([1, 2, 3, 4, 128]), int(8), q, 1280), fromGw.dmac, fromGw.smac),
          };
        const q2 = frame6({ saddr: client6(), daddr: ip6('fd01::11'), sport: 1024 + int(200), dport: 80 });
        return { on: 'eth1', b: macs(icmp6Error(ip6('fd01::11'), client6(), 1, int(8), q2), fromRs.dmac, fromRs.smac) };
      }
      case 7: {
        const b = new Uint8Array(r() < 0.5 ? 42 : 86);
        if (b.length === 42)
          writeArp(
            b,
            0,
            1 + int(2),
            mac('gw'),
            ip('10.0.0.254'),
            r() < 0.5 ? null : mac('eth0'),
            pick([ip('10.0.0.100'), ip('10.0.0.103'), ip('10.1.0.200'), client4()]),
          );
        else writeNs(b, 0, mac('gw'), ip6('fd00::fe'), pick([ip6('fd00::100'), ip6('fd01::200'), client6()]));
        return { on: pick(['eth0', 'eth1']), b };
      }
      case 8: {
        const b = new Uint8Array(int(200));
        for (let i = 0; i < b.length; i++) b[i] = int(256);
        if (b.length > 14 && r() < 0.7) {
          b[12] = r() < 0.5 ? 0x08 : 0x86;
          b[13] = b[12] === 0x08 ? 0x00 : 0xdd;
          b[14] = b[12] === 0x08 ? 0x45 : 0x60;
        }
        return { on: 'eth0', b };
      }
      default: {
        const [a, p] = pick(SERVICES4);
        return {
          on: 'eth0',
          b: frame4({ saddr: client4(), daddr: ip(a), sport: 1024 + int(200), dport: p, flags: 0x10, payload: payload(), ...fromGw }),
        };
      }
    }
  };
  const mutate = (b: Uint8Array): Uint8Array => {
    let out = b;
    const m = int(6);
    if (m === 0 || r() < 0.3) return out;
    if (m === 1 || m === 2)
      for (let i = 0, n = 1 + int(4); i < n; i++) out[14 + int(Math.max(1, Math.min(out.length - 14, 80)))] = int(256);
    else if (m === 3) out = out.slice(0, int(out.length + 1));
    else if (m === 4) {
      const e = new Uint8Array(out.length + 1 + int(40));
      e.set(out);
      out = e;
    } else {
      // a length field: IPv4 total length / IPv6 payload length, or the UDP length
      const at = out[12] === 0x86 ? 18 : pick([16, 38]);
      if (at + 2 <= out.length) write16(out, at, int(65536));
    }
    if (r() < 0.6 && out.length > 14) fixChecksums(out);
    return out;
  };
  let sent = 0;
  let now = 0;
  const pending = (): number => {
    let n = 0;
    for (const e of d.fwd.neigh.values()) n += e.pending.length;
    for (const e of d.fwd.v6.neigh.values()) n += e.pending.length;
    return n;
  };
  for (let i = 0; i < frames; i++) {
    now += 1;
    d.fwd.now = now;
    const { on, b } = gen();
    const input = mutate(b);
    const isTaken = taken(input);
    const dropsBefore = d.fwd.drops.total();
    const pendBefore = pending();
    try {
      d.receive(on, [input]);
      if (i % 1000 === 999) {
        d.ipvs.tick(now);
        d.housekeep(now);
      }
    } catch (e) {
      throw new FuzzFailure(`frame ${i} (seed ${seed}) threw: ${(e as Error).stack}`, input);
    }
    let out: string[];
    try {
      out = d.sent();
    } catch (e) {
      throw new FuzzFailure(`frame ${i} (seed ${seed}): ${(e as Error).message}`, input);
    }
    sent += out.length;
    if (isTaken && out.length === 0 && d.fwd.drops.total() === dropsBefore && pending() <= pendBefore) {
      throw new FuzzFailure(`frame ${i} (seed ${seed}) was taken and neither sent nor counted as a drop`, input);
    }
  }
  // Every timeout over (two days): nothing may stay in the conn table.
  d.ipvs.tick(now + 2 * 86_400_000);
  const conns = d.ipvs.connCount();
  if (conns !== 0) throw new FuzzFailure(`${conns} conns left after every timeout`, new Uint8Array(0));
  return { frames, sent, drops: d.fwd.drops.toRecord(), conns };
}
