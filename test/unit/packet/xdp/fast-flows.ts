// The XDP fast path's cases, shared by the model test (fast-entry.test.ts, JavaScript) and the
// kernel test (test/integration/xdp-fast-prog.test.ts, BPF_PROG_TEST_RUN): an in-process
// director forwards each conn's opening frames through the slow path, which offers them to
// `fast`; then each case is a frame as it arrives, and whether the fast path must take it. A
// frame it takes must come out byte for byte as the slow path sends the same frame.

import type { FastOffer } from '../../../../src/engine/packet/forward.js';
import { fold, pseudo4, sum16, write16 } from '../../../../src/wire/csum.js';
import { Director, mac } from '../director.js';
import { frame4, frame6, ip, ip6, type Pkt, type Pkt6 } from '../../wire/build.js';

export const RULES = [
  '-A -t 10.0.0.100:80 -s rr',
  '-a -t 10.0.0.100:80 -r 10.1.0.11:8080 -m',
  '-A -u 10.0.0.101:53 -s rr',
  '-a -u 10.0.0.101:53 -r 10.1.0.12 -g',
  '-A -t 10.0.0.102:80 -s rr --laddr 10.1.0.200',
  '-a -t 10.0.0.102:80 -r 10.1.0.12:80 --fullnat',
  '-A -t [fd00::100]:80 -s rr',
  '-a -t [fd00::100]:80 -r [fd01::11]:8080 -m',
  '-A -u [fd00::101]:53 -s rr',
  '-a -u [fd00::101]:53 -r [fd01::11]:53 -g',
  '-A -t 10.0.0.103:80 -s rr',
  '-a -t 10.0.0.103:80 -r 10.1.0.12 -i',
  '-A -u 10.0.0.104:53 -s rr',
  '-a -u 10.0.0.104:53 -r 10.1.0.11 -i --tun-type gue --tun-port 6080',
  '-A -t [fd00::103]:80 -s rr',
  '-a -t [fd00::103]:80 -r [fd01::11]:80 -i',
  '-A -t 10.0.0.105:80 -s rr',
  '-a -t 10.0.0.105:80 -r 10.1.0.12 -i --tun-type gre --tun-nocsum',
  '-A -t 10.0.0.106:80 -s rr',
  '-a -t 10.0.0.106:80 -r 10.1.0.12 -i --tun-type gre --tun-csum',
  '-A -u 10.0.0.107:53 -s rr',
  '-a -u 10.0.0.107:53 -r 10.1.0.11 -i --tun-type gue --tun-port 6080 --tun-csum',
  '-A -t [fd00::105]:80 -s rr',
  '-a -t [fd00::105]:80 -r [fd01::11]:80 -i --tun-type gre',
  '-A -u [fd00::106]:53 -s rr',
  '-a -u [fd00::106]:53 -r [fd01::11]:53 -i --tun-type gue --tun-port 6080',
];
const CLIENT = ip('10.9.0.9');
const ACK = 0x10;
const PSH_ACK = 0x18;
/** eth1's MTU: a case sends a frame longer than it (above IPv6's 1280 plus a tunnel's 40). */
export const MTU_IN = 1400;

export interface FastCase {
  what: string;
  on: string;
  frame: Uint8Array;
  /** The fast path takes it (else the slow path must see it). */
  fast: boolean;
  /**
   * TUN (ipip, GRE, GUE): the frame grows by outer headers. Over IPv4 the fast path's outer ID is its own (the
   * entry's packet count), not the slow path's; IPv6 has none.
   */
  ipip?: boolean;
}

const pay = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function fromClient(vip: string, dport: number, p: Partial<Pkt>): Uint8Array {
  return frame4({ saddr: CLIENT, daddr: ip(vip), sport: 40000, dport, dmac: mac('eth0'), smac: mac('gw'), ...p });
}

function fromRs(rs: string, sport: number, daddr: number, dport: number, p: Partial<Pkt>): Uint8Array {
  return frame4({ saddr: ip(rs === 'rs1' ? '10.1.0.11' : '10.1.0.12'), daddr, sport, dport, dmac: mac('eth1'), smac: mac(rs), ...p });
}

/** A copy of `f` whose TCP/UDP checksum holds the pseudo-header's sum, as a local stack on veth sends it. */
function partial(f: Uint8Array): Uint8Array {
  const b = f.slice();
  if (b[12] === 0x86) {
    const proto = b[20]!;
    const l4len = (b[18]! << 8) | b[19]!;
    write16(b, 54 + (proto === 6 ? 16 : 6), fold(sum16(b, 22, 32, proto + l4len)));
    return b;
  }
  const proto = b[23]!;
  const l4len = ((b[16]! << 8) | b[17]!) - 20;
  write16(b, 34 + (proto === 6 ? 16 : 6), fold(sum16(b, 26, 8, proto + l4len)));
  return b;
}

const CLIENT6 = ip6('fd09::9');

function fromClient6(vip: string, dport: number, p: Partial<Pkt6>): Uint8Array {
  return frame6({ saddr: CLIENT6, daddr: ip6(vip), sport: 40000, dport, dmac: mac('eth0'), smac: mac('gw'), ...p });
}

function fromRs6(p: Partial<Pkt6>): Uint8Array {
  return frame6({ saddr: ip6('fd01::11'), daddr: CLIENT6, sport: 8080, dport: 40000, dmac: mac('eth1'), smac: mac('rs6'), ...p });
}

/** The slow path's output for `frame` arriving on `on`: the one frame it sent. */
export function slowPath(d: Director, on: string, frame: Uint8Array): Uint8Array {
  d.receive(on, [frame.slice()]);
  const out = d.sentRaw();
  if (out.length !== 1) throw new Error(`the slow path sent ${out.length} frames for one`);
  return out[0]!.frame.slice();
}

/**
 * A director with the rules, `fast` offered every frame it forwards. `xsk`: its interfaces
 * receive through AF_XDP sockets (a TUN request is then encapsulated in its UMEM headroom).
 */
export async function fastDirector(fast: (d: Director) => FastOffer, xsk = false): Promise<Director> {
  const d = new Director({ mtu: { eth1: MTU_IN }, xsk });
  d.fwd.fast = fast(d);
  await d.rules(RULES);
  return d;
}

/** Opens the NAT, DR and FULLNAT conns through the slow path; the cases that follow. */
export function openConns(d: Director): FastCase[] {
  // NAT: handshake, then the server's first data.
  slowPath(d, 'eth0', fromClient('10.0.0.100', 80, { flags: 0x02 }));
  slowPath(d, 'eth1', fromRs('rs1', 8080, CLIENT, 40000, { flags: 0x12 }));
  slowPath(d, 'eth0', fromClient('10.0.0.100', 80, { flags: ACK }));
  slowPath(d, 'eth1', fromRs('rs1', 8080, CLIENT, 40000, { flags: PSH_ACK, payload: pay(10) }));
  // DR, UDP: the first datagram.
  slowPath(d, 'eth0', fromClient('10.0.0.101', 53, { proto: 17, payload: pay(20) }));
  // FULLNAT: the real server sees the local address and port the director chose.
  const syn = slowPath(d, 'eth0', fromClient('10.0.0.102', 80, { flags: 0x02 }));
  const laddr = ((syn[26]! << 24) | (syn[27]! << 16) | (syn[28]! << 8) | syn[29]!) >>> 0;
  const lport = (syn[34]! << 8) | syn[35]!;
  slowPath(d, 'eth1', fromRs('rs2', 80, laddr, lport, { flags: 0x12 }));
  slowPath(d, 'eth0', fromClient('10.0.0.102', 80, { flags: ACK }));
  slowPath(d, 'eth1', fromRs('rs2', 80, laddr, lport, { flags: PSH_ACK, payload: pay(10) }));

  // TUN: ipip and GRE (a handshake, as DR sees it: no replies), and GUE; GRE and GUE with
  // checksums, which the fast path leaves.
  for (const vip of ['10.0.0.103', '10.0.0.105', '10.0.0.106']) {
    slowPath(d, 'eth0', fromClient(vip, 80, { flags: 0x02 }));
    slowPath(d, 'eth0', fromClient(vip, 80, { flags: ACK }));
  }
  slowPath(d, 'eth0', fromClient('10.0.0.104', 53, { proto: 17, payload: pay(20) }));
  slowPath(d, 'eth0', fromClient('10.0.0.107', 53, { proto: 17, payload: pay(20) }));

  // IPv6: NAT (handshake, then data) and DR.
  slowPath(d, 'eth0', fromClient6('fd00::100', 80, { flags: 0x02 }));
  slowPath(d, 'eth1', fromRs6({ flags: 0x12 }));
  slowPath(d, 'eth0', fromClient6('fd00::100', 80, { flags: ACK }));
  slowPath(d, 'eth1', fromRs6({ flags: PSH_ACK, payload: pay(10) }));
  slowPath(d, 'eth0', fromClient6('fd00::101', 53, { proto: 17, payload: pay(20) }));
  // TUN over IPv6 (6in6, bare and GRE): a handshake; GUE, whose UDP checksum IPv6 requires.
  for (const vip of ['fd00::103', 'fd00::105']) {
    slowPath(d, 'eth0', fromClient6(vip, 80, { flags: 0x02 }));
    slowPath(d, 'eth0', fromClient6(vip, 80, { flags: ACK }));
  }
  slowPath(d, 'eth0', fromClient6('fd00::106', 53, { proto: 17, payload: pay(20) }));

  const natIn = (p: Partial<Pkt>) => fromClient('10.0.0.100', 80, p);
  const tunIn = (p: Partial<Pkt>) => fromClient('10.0.0.103', 80, p);
  const nat6In = (p: Partial<Pkt6>) => fromClient6('fd00::100', 80, p);
  const tun6In = (p: Partial<Pkt6>) => fromClient6('fd00::103', 80, p);
  return [
    { what: 'NAT6 in: data from the client', on: 'eth0', frame: nat6In({ flags: PSH_ACK, payload: pay(301, 11) }), fast: true },
    { what: 'NAT6 out: data from the real server', on: 'eth1', frame: fromRs6({ flags: PSH_ACK, payload: pay(800, 12) }), fast: true },
    { what: 'NAT6 in: hop limit 1', on: 'eth0', frame: nat6In({ flags: ACK, hop: 1 }), fast: false },
    { what: 'NAT6 in: longer than the out MTU', on: 'eth0', frame: nat6In({ flags: PSH_ACK, payload: pay(MTU_IN) }), fast: false },
    { what: 'NAT6 in: a partial checksum', on: 'eth0', frame: partial(nat6In({ flags: PSH_ACK, payload: pay(64) })), fast: false },
    { what: 'NAT6 in: FIN', on: 'eth0', frame: nat6In({ flags: 0x11 }), fast: false },
    {
      what: "NAT6 in: to another host's MAC",
      on: 'eth0',
      frame: nat6In({ flags: PSH_ACK, payload: pay(50), dmac: mac('client') }),
      fast: false,
    },
    { what: 'TUN6: data from the client', on: 'eth0', frame: tun6In({ flags: PSH_ACK, payload: pay(280, 18) }), fast: true, ipip: true },
    {
      what: 'TUN6 (gre): data from the client',
      on: 'eth0',
      frame: fromClient6('fd00::105', 80, { flags: PSH_ACK, payload: pay(260, 24), tclass: 0x5b }),
      fast: true,
      ipip: true,
    },
    {
      what: 'TUN6 (gre): as long as the out MTU less the outer headers',
      on: 'eth0',
      frame: fromClient6('fd00::105', 80, { flags: PSH_ACK, payload: pay(MTU_IN - 44 - 60) }),
      fast: true,
      ipip: true,
    },
    {
      what: 'TUN6 (gre): one byte longer',
      on: 'eth0',
      frame: fromClient6('fd00::105', 80, { flags: PSH_ACK, payload: pay(MTU_IN - 44 - 59) }),
      fast: false,
    },
    {
      what: 'TUN6 (gue): a datagram (its UDP checksum changes with every payload)',
      on: 'eth0',
      frame: fromClient6('fd00::106', 53, { proto: 17, payload: pay(50, 25) }),
      fast: false,
    },
    {
      what: 'TUN6: CE marked',
      on: 'eth0',
      frame: tun6In({ flags: PSH_ACK, payload: pay(31, 19), tclass: 0xb7 }),
      fast: true,
      ipip: true,
    },
    {
      what: 'TUN6: as long as the out MTU less the outer header',
      on: 'eth0',
      frame: tun6In({ flags: PSH_ACK, payload: pay(MTU_IN - 40 - 60) }),
      fast: true,
      ipip: true,
    },
    { what: 'TUN6: one byte longer', on: 'eth0', frame: tun6In({ flags: PSH_ACK, payload: pay(MTU_IN - 40 - 59) }), fast: false },
    { what: 'TUN6: hop limit 1', on: 'eth0', frame: tun6In({ flags: ACK, hop: 1 }), fast: false },
    { what: 'DR6: a datagram', on: 'eth0', frame: fromClient6('fd00::101', 53, { proto: 17, payload: pay(40, 13) }), fast: true },
    {
      what: 'DR6: a datagram with a partial checksum',
      on: 'eth0',
      frame: partial(fromClient6('fd00::101', 53, { proto: 17, payload: pay(40, 14) })),
      fast: false,
    },
    { what: 'NAT in: data from the client', on: 'eth0', frame: natIn({ flags: PSH_ACK, payload: pay(300, 2) }), fast: true },
    { what: 'NAT in: a bare ACK', on: 'eth0', frame: natIn({ flags: ACK, seq: 5000, ack: 7000 }), fast: true },
    { what: 'NAT in: odd-length data', on: 'eth0', frame: natIn({ flags: PSH_ACK, payload: pay(301, 3) }), fast: true },
    {
      what: 'NAT out: data from the real server',
      on: 'eth1',
      frame: fromRs('rs1', 8080, CLIENT, 40000, { flags: PSH_ACK, payload: pay(900, 4) }),
      fast: true,
    },
    { what: 'NAT in: TTL 1 (the slow path answers ICMP)', on: 'eth0', frame: natIn({ flags: ACK, ttl: 1 }), fast: false },
    { what: 'NAT in: longer than the out MTU', on: 'eth0', frame: natIn({ flags: PSH_ACK, payload: pay(MTU_IN) }), fast: false },
    { what: 'NAT in: a partial checksum', on: 'eth0', frame: partial(natIn({ flags: PSH_ACK, payload: pay(64) })), fast: false },
    {
      what: "NAT in: to another host's MAC (a switch flooding)",
      on: 'eth0',
      frame: natIn({ flags: PSH_ACK, payload: pay(50), dmac: mac('client') }),
      fast: false,
    },
    {
      what: "NAT in: to a MAC that differs from the interface's in its first four bytes only",
      on: 'eth0',
      frame: natIn({ flags: PSH_ACK, payload: pay(50), dmac: Uint8Array.of(0x02, 0x42, 0, 0, 0, 0x01) }),
      fast: false,
    },
    { what: 'NAT in: SYN', on: 'eth0', frame: natIn({ flags: 0x02 }), fast: false },
    { what: 'NAT in: FIN', on: 'eth0', frame: natIn({ flags: 0x11 }), fast: false },
    { what: 'NAT in: RST', on: 'eth0', frame: natIn({ flags: 0x04 }), fast: false },
    {
      what: 'NAT: another client (no entry)',
      on: 'eth0',
      frame: fromClient('10.0.0.100', 80, { sport: 40001, flags: ACK }),
      fast: false,
    },
    { what: 'DR: a datagram', on: 'eth0', frame: fromClient('10.0.0.101', 53, { proto: 17, payload: pay(40, 5) }), fast: true },
    {
      what: 'DR: a datagram without a checksum',
      on: 'eth0',
      frame: fromClient('10.0.0.101', 53, { proto: 17, payload: pay(41, 6), noUdpCsum: true }),
      fast: true,
    },
    {
      what: 'DR: a datagram with a partial checksum',
      on: 'eth0',
      frame: partial(fromClient('10.0.0.101', 53, { proto: 17, payload: pay(40, 7) })),
      fast: false,
    },
    { what: 'TUN: data from the client', on: 'eth0', frame: tunIn({ flags: PSH_ACK, payload: pay(300, 15) }), fast: true, ipip: true },
    { what: 'TUN: a bare ACK', on: 'eth0', frame: tunIn({ flags: ACK, seq: 9000 }), fast: true, ipip: true },
    {
      what: 'TUN: CE marked, without DF',
      on: 'eth0',
      frame: tunIn({ flags: PSH_ACK, payload: pay(33, 16), tos: 0x2b, noDf: true }),
      fast: true,
      ipip: true,
    },
    {
      what: 'TUN: as long as the out MTU less the outer header',
      on: 'eth0',
      frame: tunIn({ flags: PSH_ACK, payload: pay(MTU_IN - 20 - 40) }),
      fast: true,
      ipip: true,
    },
    { what: 'TUN: one byte longer', on: 'eth0', frame: tunIn({ flags: PSH_ACK, payload: pay(MTU_IN - 20 - 39) }), fast: false },
    { what: 'TUN: TTL 1', on: 'eth0', frame: tunIn({ flags: ACK, ttl: 1 }), fast: false },
    { what: 'TUN: FIN', on: 'eth0', frame: tunIn({ flags: 0x11 }), fast: false },
    { what: 'TUN: a partial checksum', on: 'eth0', frame: partial(tunIn({ flags: PSH_ACK, payload: pay(64) })), fast: false },
    {
      what: 'TUN (gue): a datagram',
      on: 'eth0',
      frame: fromClient('10.0.0.104', 53, { proto: 17, payload: pay(40, 17) }),
      fast: true,
      ipip: true,
    },
    {
      what: 'TUN (gue): as long as the out MTU less the outer headers',
      on: 'eth0',
      frame: fromClient('10.0.0.104', 53, { proto: 17, payload: pay(MTU_IN - 20 - 12 - 28) }),
      fast: true,
      ipip: true,
    },
    {
      what: 'TUN (gue): one byte longer',
      on: 'eth0',
      frame: fromClient('10.0.0.104', 53, { proto: 17, payload: pay(MTU_IN - 20 - 12 - 27) }),
      fast: false,
    },
    {
      what: 'TUN (gue with a checksum): a datagram',
      on: 'eth0',
      frame: fromClient('10.0.0.107', 53, { proto: 17, payload: pay(40, 21) }),
      fast: false,
    },
    {
      what: 'TUN (gre): data from the client',
      on: 'eth0',
      frame: fromClient('10.0.0.105', 80, { flags: PSH_ACK, payload: pay(120, 22), tos: 0x03 }),
      fast: true,
      ipip: true,
    },
    {
      what: 'TUN (gre): as long as the out MTU less the outer headers',
      on: 'eth0',
      frame: fromClient('10.0.0.105', 80, { flags: PSH_ACK, payload: pay(MTU_IN - 24 - 40) }),
      fast: true,
      ipip: true,
    },
    {
      what: 'TUN (gre): one byte longer',
      on: 'eth0',
      frame: fromClient('10.0.0.105', 80, { flags: PSH_ACK, payload: pay(MTU_IN - 24 - 39) }),
      fast: false,
    },
    {
      what: 'TUN (gre with a checksum): data',
      on: 'eth0',
      frame: fromClient('10.0.0.106', 80, { flags: PSH_ACK, payload: pay(60, 23) }),
      fast: false,
    },
    { what: 'FULLNAT in: data', on: 'eth0', frame: fromClient('10.0.0.102', 80, { flags: PSH_ACK, payload: pay(200, 8) }), fast: true },
    {
      what: 'FULLNAT out: data',
      on: 'eth1',
      frame: fromRs('rs2', 80, laddr, lport, { flags: PSH_ACK, payload: pay(700, 9) }),
      fast: true,
    },
  ];
}

/** A data frame from the client to `vip` (IPv4 or IPv6): TCP with PSH/ACK, or UDP. */
export function clientData(vip: string, dport: number, udp: boolean): Uint8Array {
  const p = udp ? { proto: 17 as const, payload: pay(30, 26) } : { flags: PSH_ACK, payload: pay(30, 26) };
  return vip.includes(':') ? fromClient6(vip, dport, p) : fromClient(vip, dport, p);
}

/** The NAT conn's FIN from the client, and a data frame after it. */
export function natFin(): { fin: Uint8Array; after: Uint8Array } {
  return {
    fin: fromClient('10.0.0.100', 80, { flags: 0x11 }),
    after: fromClient('10.0.0.100', 80, { flags: PSH_ACK, payload: pay(30, 10) }),
  };
}

/** Whether `b` carries a valid IPv4 header checksum and TCP/UDP checksum (a zero UDP checksum is none in IPv4). */
export function checksumsOk(b: Uint8Array): boolean {
  // ipip, GRE and GUE (to port 6080, no checksum): the outer header's checksum, then the
  // request's as if it were the frame.
  const outer4 = b[12] === 0x08 ? (b[23] === 4 ? 0 : b[23] === 47 ? 4 : b[23] === 17 && b[36] === 0x17 && b[37] === 0xc0 ? 12 : -1) : -1;
  if (outer4 >= 0) {
    if (fold(sum16(b, 14, 20)) !== 0xffff) return false;
    const inner = new Uint8Array(b.length - 20 - outer4);
    inner.set(b.subarray(0, 14));
    inner.set(b.subarray(34 + outer4), 14);
    return checksumsOk(inner);
  }
  const outer6 = b[12] === 0x86 ? (b[20] === 41 ? 0 : b[20] === 47 ? 4 : -1) : -1;
  if (outer6 >= 0) {
    // 6in6, bare or GRE: the request's checksums, as if it were the frame.
    const inner = new Uint8Array(b.length - 40 - outer6);
    inner.set(b.subarray(0, 14));
    inner.set(b.subarray(54 + outer6), 14);
    return checksumsOk(inner);
  }
  if (b[12] === 0x86) {
    const proto = b[20]!;
    const l4len = (b[18]! << 8) | b[19]!;
    return fold(sum16(b, 54, l4len, sum16(b, 22, 32, proto + l4len))) === 0xffff;
  }
  if (fold(sum16(b, 14, 20)) !== 0xffff) return false;
  const proto = b[23]!;
  const l4len = ((b[16]! << 8) | b[17]!) - 20;
  if (proto === 17 && b[40] === 0 && b[41] === 0) return true;
  const saddr = ((b[26]! << 24) | (b[27]! << 16) | (b[28]! << 8) | b[29]!) >>> 0;
  const daddr = ((b[30]! << 24) | (b[31]! << 16) | (b[32]! << 8) | b[33]!) >>> 0;
  return fold(sum16(b, 34, l4len, pseudo4(saddr, daddr, proto, l4len))) === 0xffff;
}

/** An ipip frame with its outer ID and header checksum zeroed: what the slow and the fast path share. */
export function outerIdAside(b: Uint8Array): Uint8Array {
  const c = b.slice();
  c.fill(0, 18, 20);
  c.fill(0, 24, 26);
  return c;
}
