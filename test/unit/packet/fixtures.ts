// The packet path as data, in Katran's shape: rules, frames in, frames out (described one line
// each by describe.ts) or the named drop reason. packet.test.ts runs every case through the
// real Forwarder over in-memory ports. Adding a case is adding an entry here.

import type { DropReason } from '../../../src/wire/drops.js';
import { frame4, frame6, icmp6Error, icmpError, ip, ip6, macs } from '../wire/build.js';
import type { DirectorOptions } from './director.js';
import { mac } from './director.js';

export interface Step {
  /** Interface the frames arrive on (default eth0). */
  on?: string;
  /** Frames in (one ring block); none: only time passes (`at`), as the housekeeping timer. */
  in?: Uint8Array[];
  /** virtio_net_hdr per frame (GSO, partial checksum), zeros when missing. */
  vnet?: (Uint8Array | undefined)[];
  /** Time of the step in ms (default: the previous step's). */
  at?: number;
  /** Frames out, in order per interface (eth0's first). */
  out: string[];
  /** The drop counter this step adds one to (none: no drop counter moves). */
  drop?: DropReason;
  /** How many it adds (default 1). */
  drops?: number;
}

export interface PacketCase {
  description: string;
  rules: string[];
  director?: DirectorOptions;
  steps: Step[];
}

// Addresses: the client is behind the gateway, VIPs are on eth0's subnet (no interface holds
// them: the engine answers ARP/NDP), real servers on eth1's.
const CIP = ip('10.9.0.9');
const VIP = ip('10.0.0.100');
const VIP_LO = ip('10.0.0.200');
const RS1 = ip('10.1.0.11');
const LADDR = ip('10.1.0.200');
const DIR1 = ip('10.1.0.1');
const ROUTER = ip('10.9.0.1');
const C6 = ip6('fd09::9');
const V6 = ip6('fd00::100');
const RS6 = ip6('fd01::11');
const L6 = ip6('fd01::200');
const DIR6 = ip6('fd01::1');

const fromGw = { dmac: mac('eth0'), smac: mac('gw') };
const fromRs1 = { dmac: mac('eth1'), smac: mac('rs1') };
const fromRs6 = { dmac: mac('eth1'), smac: mac('rs6') };

const syn = (o: Partial<Parameters<typeof frame4>[0]> = {}): Uint8Array =>
  frame4({ saddr: CIP, daddr: VIP, sport: 40000, dport: 80, flags: 0x02, ...fromGw, ...o });
const synAck = (o: Partial<Parameters<typeof frame4>[0]> = {}): Uint8Array =>
  frame4({ saddr: RS1, daddr: CIP, sport: 80, dport: 40000, flags: 0x12, seq: 5000, ...fromRs1, ...o });
const syn6 = (o: Partial<Parameters<typeof frame6>[0]> = {}): Uint8Array =>
  frame6({ saddr: C6, daddr: V6, sport: 40000, dport: 80, flags: 0x02, ...fromGw, ...o });
const synAck6 = (o: Partial<Parameters<typeof frame6>[0]> = {}): Uint8Array =>
  frame6({ saddr: RS6, daddr: C6, sport: 80, dport: 40000, flags: 0x12, seq: 5000, ...fromRs6, ...o });
const big = (n: number): Uint8Array => new Uint8Array(n);
const withEth = (b: Uint8Array, o: { dmac: Uint8Array; smac: Uint8Array }): Uint8Array => macs(b, o.dmac, o.smac);

const NAT = ['-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.1.0.11:80 -m'];
const NAT6 = ['-A -t [fd00::100]:80 -s rr', '-a -t [fd00::100]:80 -r [fd01::11]:80 -m'];
const FNAT = ['-A -t 10.0.0.100:80 -s rr --laddr 10.1.0.200', '-a -t 10.0.0.100:80 -r 10.1.0.11:80 --fullnat'];
const FNAT6 = ['-A -t [fd00::100]:80 -s rr --laddr fd01::200', '-a -t [fd00::100]:80 -r [fd01::11]:80 --fullnat'];
const tun = (extra: string): string[] => ['-A -t 10.0.0.100:80 -s rr', `-a -t 10.0.0.100:80 -r 10.1.0.11:80 -i ${extra}`];

const IN_SYN = 'eth1 >rs1 ip 10.9.0.9:40000 > 10.1.0.11:80 tcp S seq 1000 ttl 63 len 0';
const IN_SYN6 = 'eth1 >rs6 ip6 fd09::9.40000 > fd01::11.80 tcp S seq 1000 hlim 63 len 0';

export const CASES: PacketCase[] = [
  // --- NAT (-m) -------------------------------------------------------------------------------
  {
    description: 'NAT in: a SYN to the VIP goes to the real server with its destination rewritten',
    rules: NAT,
    steps: [{ in: [syn()], out: [IN_SYN] }],
  },
  {
    description: 'NAT out: the real server’s reply leaves from the VIP toward the client’s gateway',
    rules: NAT,
    steps: [
      { in: [syn()], out: [IN_SYN] },
      { on: 'eth1', in: [synAck()], out: ['eth0 >gw ip 10.0.0.100:80 > 10.9.0.9:40000 tcp SA seq 5000 ack 0 ttl 63 len 0'] },
    ],
  },
  {
    description: 'NAT out: a reply from RIP:rport that matches no conn is dropped',
    rules: NAT,
    steps: [{ on: 'eth1', in: [synAck()], out: [], drop: 'out_no_conn' }],
  },
  {
    description: 'NAT out (#14): a reply from RIP:rport to the director itself is the kernel’s (its own conn to a dest)',
    rules: NAT,
    steps: [{ on: 'eth1', in: [synAck({ daddr: DIR1, dport: 50000 })], out: [] }],
  },
  {
    description: 'NAT in: several frames in one ring block each go their way',
    rules: NAT,
    steps: [
      {
        in: [syn(), syn({ sport: 40001 }), syn({ sport: 40002, ttl: 1 })],
        out: [IN_SYN, 'eth1 >rs1 ip 10.9.0.9:40001 > 10.1.0.11:80 tcp S seq 1000 ttl 63 len 0'],
        drop: 'ttl_exceeded',
      },
    ],
  },
  {
    description: 'NAT in: a UDP datagram keeps its payload and a valid checksum',
    rules: ['-A -u 10.0.0.100:53 -s rr', '-a -u 10.0.0.100:53 -r 10.1.0.11:5353 -m'],
    steps: [
      {
        in: [frame4({ saddr: CIP, daddr: VIP, sport: 40000, dport: 53, proto: 17, payload: big(30), ...fromGw })],
        out: ['eth1 >rs1 ip 10.9.0.9:40000 > 10.1.0.11:5353 udp ttl 63 len 30'],
      },
    ],
  },
  // --- DR (-g) ----------------------------------------------------------------------------------
  {
    description: 'DR: only the MACs change (and the TTL)',
    rules: ['-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.1.0.11:80 -g'],
    steps: [{ in: [syn()], out: ['eth1 >rs1 ip 10.9.0.9:40000 > 10.0.0.100:80 tcp S seq 1000 ttl 63 len 0'] }],
  },
  {
    description: 'DR: a dest behind a gateway is not on-link: dropped',
    rules: ['-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.5.0.5:80 -g'],
    steps: [{ in: [syn()], out: [], drop: 'dr_not_onlink' }],
  },
  // --- TUN (-i) ---------------------------------------------------------------------------------
  {
    description: 'TUN ipip: the request inside an outer header from the director to the real server',
    rules: tun(''),
    steps: [
      {
        in: [syn()],
        out: ['eth1 >rs1 ip 10.1.0.1 > 10.1.0.11 ipip ttl 63 [ip 10.9.0.9:40000 > 10.0.0.100:80 tcp S seq 1000 ttl 63 len 0]'],
      },
    ],
  },
  {
    description: 'TUN gue: UDP to the dest’s tunnel port, then a GUE header',
    rules: tun('--tun-type gue --tun-port 6080'),
    steps: [
      {
        in: [syn()],
        out: [
          /^eth1 >rs1 ip 10\.1\.0\.1:\d+ > 10\.1\.0\.11:6080 udp ttl 63 gue 4 \[ip 10\.9\.0\.9:40000 > 10\.0\.0\.100:80 tcp S seq 1000 ttl 63 len 0\]$/
            .source,
        ],
      },
    ],
  },
  {
    description: 'TUN gre with --tun-csum: a GRE header with a checksum',
    rules: tun('--tun-type gre --tun-csum'),
    steps: [
      {
        in: [syn()],
        out: ['eth1 >rs1 ip 10.1.0.1 > 10.1.0.11 gre csum ttl 63 [ip 10.9.0.9:40000 > 10.0.0.100:80 tcp S seq 1000 ttl 63 len 0]'],
      },
    ],
  },
  {
    description: 'TUN PMTU: a request that does not fit the tunnel (1500 less 20) gets "fragmentation needed" with 1480',
    rules: tun(''),
    steps: [
      {
        in: [syn()],
        out: ['eth1 >rs1 ip 10.1.0.1 > 10.1.0.11 ipip ttl 63 [ip 10.9.0.9:40000 > 10.0.0.100:80 tcp S seq 1000 ttl 63 len 0]'],
      },
      {
        in: [syn({ flags: 0x10, payload: big(1450) })],
        out: ['eth0 >gw ip 10.0.0.100 > 10.9.0.9 icmp 3/4 mtu 1480 ttl 64 [10.9.0.9:40000 > 10.0.0.100:80 tcp]'],
        drop: 'mtu_exceeded',
      },
    ],
  },
  {
    description: 'TUN 4in6: an IPv4 service tunnelled to an IPv6 real server',
    rules: ['-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r [fd01::11]:80 -i'],
    steps: [
      {
        in: [syn()],
        out: ['eth1 >rs6 ip6 fd01::1 > fd01::11 ipip hlim 63 [ip 10.9.0.9:40000 > 10.0.0.100:80 tcp S seq 1000 ttl 63 len 0]'],
      },
    ],
  },
  // --- FULLNAT ----------------------------------------------------------------------------------
  {
    description: 'FULLNAT in and out: the client becomes the local address on the way in, and back on the way out',
    rules: FNAT,
    steps: [
      { in: [syn()], out: ['eth1 >rs1 ip 10.1.0.200:1025 > 10.1.0.11:80 tcp S seq 1000 ttl 63 len 0'] },
      {
        on: 'eth1',
        in: [synAck({ daddr: LADDR, dport: 1025 })],
        out: ['eth0 >gw ip 10.0.0.100:80 > 10.9.0.9:40000 tcp SA seq 5000 ack 0 ttl 63 len 0'],
      },
    ],
  },
  {
    description: 'PROXY insertion: the header goes in front of the first data, and the real server’s acks are moved back by its length',
    rules: ['-A -t 10.0.0.100:80 -s rr --laddr 10.1.0.200', '-a -t 10.0.0.100:80 -r 10.1.0.11:80 --fullnat --proxy-protocol v1'],
    steps: [
      { in: [syn()], out: ['eth1 >rs1 ip 10.1.0.200:1025 > 10.1.0.11:80 tcp S seq 1000 ttl 63 len 0'] },
      {
        on: 'eth1',
        in: [synAck({ daddr: LADDR, dport: 1025, ack: 1001 })],
        out: ['eth0 >gw ip 10.0.0.100:80 > 10.9.0.9:40000 tcp SA seq 5000 ack 1001 ttl 63 len 0'],
      },
      {
        // "PROXY TCP4 10.9.0.9 10.0.0.100 40000 80\r\n" is 41 bytes, then the client's 5.
        in: [syn({ flags: 0x18, seq: 1001, ack: 5001, payload: new TextEncoder().encode('hello') })],
        out: ['eth1 >rs1 ip 10.1.0.200:1025 > 10.1.0.11:80 tcp PA seq 1001 ack 5001 ttl 63 len 46'],
      },
      {
        on: 'eth1',
        in: [synAck({ daddr: LADDR, dport: 1025, flags: 0x10, seq: 5001, ack: 1047 })],
        out: ['eth0 >gw ip 10.0.0.100:80 > 10.9.0.9:40000 tcp A seq 5001 ack 1006 ttl 63 len 0'],
      },
    ],
  },
  {
    description: 'FULLNAT without --laddr: the dest cannot be served, its conns are dropped',
    rules: ['-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.1.0.11:80 --fullnat'],
    steps: [{ in: [syn()], out: [], drop: 'fwd_unsupported' }],
  },
  // --- PMTU, TTL, malformed -------------------------------------------------------------------
  {
    description: 'PMTU: NAT toward a 1400-byte link, DF set: the client gets "fragmentation needed" with 1400',
    rules: NAT,
    director: { mtu: { eth1: 1400 } },
    steps: [
      { in: [syn()], out: [IN_SYN] },
      {
        in: [syn({ flags: 0x10, payload: big(1400) })],
        out: ['eth0 >gw ip 10.0.0.100 > 10.9.0.9 icmp 3/4 mtu 1400 ttl 64 [10.9.0.9:40000 > 10.0.0.100:80 tcp]'],
        drop: 'mtu_exceeded',
      },
    ],
  },
  {
    description: 'PMTU: too big without DF: dropped, no ICMP (the engine does not fragment)',
    rules: NAT,
    director: { mtu: { eth1: 1400 } },
    steps: [
      { in: [syn()], out: [IN_SYN] },
      { in: [syn({ flags: 0x10, payload: big(1400), noDf: true })], out: [], drop: 'mtu_exceeded' },
    ],
  },
  {
    description: 'A service without dests: the SYN is dropped as no_dest',
    rules: ['-A -t 10.0.0.100:80 -s rr'],
    steps: [{ in: [syn()], out: [], drop: 'no_dest' }],
  },
  {
    description: 'A TCP segment to the VIP that matches no conn and starts none (not a SYN): dropped',
    rules: NAT,
    steps: [{ in: [syn({ flags: 0x10 })], out: [], drop: 'in_no_conn' }],
  },
  {
    description: 'A TCP checksum that is wrong: dropped',
    rules: NAT,
    steps: [
      {
        in: [((b) => ((b[50] = b[50]! ^ 0xff), b))(syn())],
        out: [],
        drop: 'bad_l4_checksum',
      },
    ],
  },
  {
    description: 'A frame shorter than its IP header says: dropped',
    rules: NAT,
    steps: [{ in: [syn().subarray(0, 40)], out: [], drop: 'bad_length' }],
  },
  {
    description: 'A fragment to the VIP: dropped (the engine does not reassemble)',
    rules: NAT,
    steps: [{ in: [syn({ mf: true })], out: [], drop: 'fragment' }],
  },
  {
    description: 'Traffic to an address that is no VIP is the kernel’s: untouched, not counted',
    rules: NAT,
    steps: [{ in: [syn({ daddr: ip('10.0.0.77') })], out: [] }],
  },
  // --- ICMP errors ------------------------------------------------------------------------------
  {
    description: 'ICMP from the client side about a NAT reply goes on to the real server, quote translated',
    rules: NAT,
    steps: [
      { in: [syn()], out: [IN_SYN] },
      {
        in: [withEth(icmpError(ROUTER, VIP, 3, 4, frame4({ saddr: VIP, daddr: CIP, sport: 80, dport: 40000 })), fromGw)],
        out: ['eth1 >rs1 ip 10.9.0.1 > 10.1.0.11 icmp 3/4 mtu 0 ttl 63 [10.1.0.11:80 > 10.9.0.9:40000 tcp]'],
      },
    ],
  },
  {
    description: 'ICMP from a NAT real server about a request goes back to the client from the VIP',
    rules: NAT,
    steps: [
      { in: [syn()], out: [IN_SYN] },
      {
        on: 'eth1',
        in: [withEth(icmpError(RS1, CIP, 3, 3, frame4({ saddr: CIP, daddr: RS1, sport: 40000, dport: 80 })), fromRs1)],
        out: ['eth0 >gw ip 10.0.0.100 > 10.9.0.9 icmp 3/3 ttl 63 [10.9.0.9:40000 > 10.0.0.100:80 tcp]'],
      },
    ],
  },
  {
    description: 'ICMP to the VIP about no conn of ours: counted, left to the kernel',
    rules: NAT,
    steps: [
      {
        in: [withEth(icmpError(ROUTER, VIP, 3, 4, frame4({ saddr: VIP, daddr: CIP, sport: 80, dport: 40000 })), fromGw)],
        out: [],
        drop: 'icmp_no_conn',
      },
    ],
  },
  {
    description: 'ICMP to the VIP whose checksum is wrong: dropped',
    rules: NAT,
    steps: [
      { in: [syn()], out: [IN_SYN] },
      {
        in: [
          ((b) => ((b[36] = b[36]! ^ 0xff), b))(
            withEth(icmpError(ROUTER, VIP, 3, 4, frame4({ saddr: VIP, daddr: CIP, sport: 80, dport: 40000 })), fromGw),
          ),
        ],
        out: [],
        drop: 'bad_l4_checksum',
      },
    ],
  },
  // --- ARP ------------------------------------------------------------------------------------
  {
    description: 'ARP: the engine answers for a VIP that no interface holds',
    rules: NAT,
    steps: [{ in: [arpRequest('gw', ip('10.0.0.254'), VIP)], out: ['eth0 >gw arp reply 10.0.0.100 is-at eth0 to 10.0.0.254'] }],
  },
  {
    description: 'ARP: not for a VIP the kernel holds (on lo)',
    rules: ['-A -t 10.0.0.200:80 -s rr', '-a -t 10.0.0.200:80 -r 10.1.0.11:80 -m'],
    director: { local: { '10.0.0.200': 'lo' } },
    steps: [{ in: [arpRequest('gw', ip('10.0.0.254'), VIP_LO)], out: [] }],
  },
  {
    description: 'ARP: a frame for an unresolved real server waits for its MAC, then goes',
    rules: NAT,
    director: { unknown: ['10.1.0.11'] },
    steps: [
      { in: [syn()], out: ['eth1 >bcast arp who-has 10.1.0.11 tell 10.1.0.1'] },
      { on: 'eth1', in: [arpReply('rs1', RS1, 'eth1', DIR1)], out: [IN_SYN] },
    ],
  },
  {
    description: 'ARP: frames for a real server that never answers are dropped, counted, after four tries',
    rules: NAT,
    director: { unknown: ['10.1.0.11'] },
    steps: [
      { in: [syn()], out: ['eth1 >bcast arp who-has 10.1.0.11 tell 10.1.0.1'] },
      { at: 300, out: ['eth1 >bcast arp who-has 10.1.0.11 tell 10.1.0.1'] },
      { at: 600, out: ['eth1 >bcast arp who-has 10.1.0.11 tell 10.1.0.1'] },
      { at: 900, out: ['eth1 >bcast arp who-has 10.1.0.11 tell 10.1.0.1'] },
      { at: 1200, out: [], drop: 'neigh_unresolved' },
    ],
  },
  // --- IPv6 -------------------------------------------------------------------------------------
  {
    description: 'NAT6 in and out',
    rules: NAT6,
    steps: [
      { in: [syn6()], out: [IN_SYN6] },
      { on: 'eth1', in: [synAck6()], out: ['eth0 >gw ip6 fd00::100.80 > fd09::9.40000 tcp SA seq 5000 ack 0 hlim 63 len 0'] },
    ],
  },
  {
    description: 'NAT6 out (#14): a reply to the director itself is the kernel’s',
    rules: NAT6,
    steps: [{ on: 'eth1', in: [synAck6({ daddr: DIR6, dport: 50000 })], out: [] }],
  },
  {
    description: 'NAT6 out: a reply that matches no conn is dropped',
    rules: NAT6,
    steps: [{ on: 'eth1', in: [synAck6()], out: [], drop: 'out_no_conn' }],
  },
  {
    description: 'DR6: only the MACs change (and the hop limit)',
    rules: ['-A -t [fd00::100]:80 -s rr', '-a -t [fd00::100]:80 -r [fd01::11]:80 -g'],
    steps: [{ in: [syn6()], out: ['eth1 >rs6 ip6 fd09::9.40000 > fd00::100.80 tcp S seq 1000 hlim 63 len 0'] }],
  },
  {
    description: 'TUN 6in6: the request inside an outer IPv6 header',
    rules: ['-A -t [fd00::100]:80 -s rr', '-a -t [fd00::100]:80 -r [fd01::11]:80 -i'],
    steps: [
      {
        in: [syn6()],
        out: ['eth1 >rs6 ip6 fd01::1 > fd01::11 ip6ip hlim 63 [ip6 fd09::9.40000 > fd00::100.80 tcp S seq 1000 hlim 63 len 0]'],
      },
    ],
  },
  {
    description: 'FULLNAT6 in: the client becomes the local address',
    rules: FNAT6,
    steps: [{ in: [syn6()], out: [/^eth1 >rs6 ip6 fd01::200\.\d+ > fd01::11\.80 tcp S seq 1000 hlim 63 len 0$/.source] }],
  },
  {
    description: 'PMTU6: a packet too big for a 1400-byte link gets "packet too big" with 1400',
    rules: NAT6,
    director: { mtu: { eth1: 1400 } },
    steps: [
      { in: [syn6()], out: [IN_SYN6] },
      {
        in: [syn6({ flags: 0x10, payload: big(1400) })],
        out: ['eth0 >gw ip6 fd00::100 > fd09::9 icmp6 2/0 mtu 1400 hlim 64 [fd09::9.40000 > fd00::100.80 tcp]'],
        drop: 'mtu_exceeded',
      },
    ],
  },
  {
    description: 'ICMPv6 from a NAT real server about a request goes back to the client from the VIP',
    rules: NAT6,
    steps: [
      { in: [syn6()], out: [IN_SYN6] },
      {
        on: 'eth1',
        in: [withEth(icmp6Error(RS6, C6, 1, 4, frame6({ saddr: C6, daddr: RS6, sport: 40000, dport: 80 })), fromRs6)],
        out: ['eth0 >gw ip6 fd00::100 > fd09::9 icmp6 1/4 hlim 63 [fd09::9.40000 > fd00::100.80 tcp]'],
      },
    ],
  },
  {
    description: 'ICMPv6 to the VIP about no conn of ours: counted, left to the kernel',
    rules: NAT6,
    steps: [
      {
        in: [withEth(icmp6Error(ip6('fd09::1'), V6, 2, 0, frame6({ saddr: V6, daddr: C6, sport: 80, dport: 40000 }), 1280), fromGw)],
        out: [],
        drop: 'icmp_no_conn',
      },
    ],
  },
  {
    description: 'NDP: the engine answers a solicitation for a VIP that no interface holds',
    rules: NAT6,
    steps: [{ in: [neighborSolicit('gw', ip6('fd00::fe'), V6)], out: ['eth0 >gw ip6 fd00::100 > fd00::fe ndp na fd00::100 hlim 255'] }],
  },
  {
    description: 'A service without dests (IPv6): dropped as no_dest',
    rules: ['-A -t [fd00::100]:80 -s rr'],
    steps: [{ in: [syn6()], out: [], drop: 'no_dest' }],
  },
  {
    description: 'FULLNAT6 local address: the engine answers NDP for it on the server side',
    rules: FNAT6,
    steps: [{ on: 'eth1', in: [neighborSolicit('rs6', RS6, L6)], out: ['eth1 >rs6 ip6 fd01::200 > fd01::11 ndp na fd01::200 hlim 255'] }],
  },
  {
    description: 'FULLNAT local address: the engine answers ARP for it on the server side',
    rules: FNAT,
    steps: [{ on: 'eth1', in: [arpRequest('rs1', RS1, LADDR)], out: ['eth1 >rs1 arp reply 10.1.0.200 is-at eth1 to 10.1.0.11'] }],
  },
];

import { writeArp } from '../../../src/wire/arp.js';
import { writeNs } from '../../../src/wire/ndp.js';

function arpRequest(from: string, spa: number, tpa: number): Uint8Array {
  const b = new Uint8Array(42);
  writeArp(b, 0, 1, mac(from), spa, null, tpa);
  return b;
}

function arpReply(from: string, spa: number, to: string, tpa: number): Uint8Array {
  const b = new Uint8Array(42);
  writeArp(b, 0, 2, mac(from), spa, mac(to), tpa);
  return b;
}

function neighborSolicit(from: string, src: Uint32Array, target: Uint32Array): Uint8Array {
  const b = new Uint8Array(14 + 40 + 32);
  const n = writeNs(b, 0, mac(from), src, target);
  return b.subarray(0, n);
}
