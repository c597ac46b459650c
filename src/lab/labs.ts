// The seeds' lab topologies, with the seeds' own addresses and ipvsadm commands.
// A segment is one L2 network (a bridge); each host joins it with one interface.

export interface LabIface {
  host: string;
  dev: string;
  addrs: string[];
}

export interface LabDef {
  name: string;
  seed: string;
  description: string;
  segments: { name: string; members: LabIface[] }[];
  /** `ip route add ARGS` per host. */
  routes: { host: string; args: string[] }[];
  /** Hosts that forward (routers; the NAT director). */
  forwarders: string[];
  director: { host: string; vip: string; vipDev?: string; commands: string[][] };
  /**
   * Real servers run an HTTP server answering with their name; DR/TUN ones run the agent, and
   * TUN ones its user-space decapsulation (`tunnel`, with the GUE port where it applies).
   */
  realServers: { host: string; port: number; agentVip?: string; tunnel?: { kind: 'ipip' | 'gue' | 'gre'; port?: number } }[];
  client: { host: string; url: string };
  /** What the distribution of `run` should look like (weights per real server, or rr). */
  expect: { sched: string; weights: Record<string, number> };
}

export const LABS: LabDef[] = [
  {
    name: 'seed001-dr',
    seed: '001',
    description: 'DR, rr over two real servers; director, real servers and client on one LAN',
    segments: [
      {
        name: 'lan',
        members: [
          { host: 'director', dev: 'eth0', addrs: ['192.168.9.11/24'] },
          { host: 'rs1', dev: 'eth0', addrs: ['192.168.9.12/24'] },
          { host: 'rs2', dev: 'eth0', addrs: ['192.168.9.13/24'] },
          { host: 'client', dev: 'eth0', addrs: ['192.168.9.200/24'] },
        ],
      },
    ],
    routes: [],
    forwarders: ['director'],
    director: {
      host: 'director',
      vip: '192.168.9.100',
      vipDev: 'eth0',
      commands: [
        ['-A', '-t', '192.168.9.100:80', '-s', 'rr'],
        ['-a', '-t', '192.168.9.100:80', '-r', '192.168.9.12', '-g'],
        ['-a', '-t', '192.168.9.100:80', '-r', '192.168.9.13', '-g'],
      ],
    },
    realServers: [
      { host: 'rs1', port: 80, agentVip: '192.168.9.100' },
      { host: 'rs2', port: 80, agentVip: '192.168.9.100' },
    ],
    client: { host: 'client', url: 'http://192.168.9.100/' },
    expect: { sched: 'rr', weights: { rs1: 1, rs2: 1 } },
  },
  {
    name: 'seed002-nat',
    seed: '002',
    description: 'NAT: director between the client network and the web servers, which route back through it',
    segments: [
      {
        name: 'outside',
        members: [
          { host: 'director', dev: 'eth0', addrs: ['172.25.254.100/24'] },
          { host: 'client', dev: 'eth0', addrs: ['172.25.254.200/24'] },
        ],
      },
      {
        name: 'inside',
        members: [
          { host: 'director', dev: 'eth1', addrs: ['192.168.0.100/24'] },
          { host: 'web1', dev: 'eth0', addrs: ['192.168.0.10/24'] },
          { host: 'web2', dev: 'eth0', addrs: ['192.168.0.20/24'] },
        ],
      },
    ],
    routes: [
      { host: 'web1', args: ['default', 'via', '192.168.0.100'] },
      { host: 'web2', args: ['default', 'via', '192.168.0.100'] },
      { host: 'client', args: ['default', 'via', '172.25.254.100'] },
    ],
    forwarders: ['director'],
    director: {
      host: 'director',
      vip: '172.25.254.100',
      commands: [
        ['-A', '-t', '172.25.254.100:80', '-s', 'rr'],
        ['-a', '-t', '172.25.254.100:80', '-r', '192.168.0.10:80', '-m'],
        ['-a', '-t', '172.25.254.100:80', '-r', '192.168.0.20:80', '-m'],
      ],
    },
    realServers: [
      { host: 'web1', port: 80 },
      { host: 'web2', port: 80 },
    ],
    client: { host: 'client', url: 'http://172.25.254.100/' },
    expect: { sched: 'rr', weights: { web1: 1, web2: 1 } },
  },
  {
    name: 'seed002-dr',
    seed: '002',
    description: 'DR behind a router: VIP 192.168.0.200/32 on the director, client outside the router',
    segments: [
      {
        name: 'outside',
        members: [
          { host: 'router', dev: 'eth0', addrs: ['172.25.254.100/24'] },
          { host: 'client', dev: 'eth0', addrs: ['172.25.254.200/24'] },
        ],
      },
      {
        name: 'inside',
        members: [
          { host: 'router', dev: 'eth1', addrs: ['192.168.0.100/24'] },
          { host: 'director', dev: 'eth0', addrs: ['192.168.0.50/24'] },
          { host: 'web1', dev: 'eth0', addrs: ['192.168.0.10/24'] },
          { host: 'web2', dev: 'eth0', addrs: ['192.168.0.20/24'] },
        ],
      },
    ],
    routes: [
      { host: 'web1', args: ['default', 'via', '192.168.0.100'] },
      { host: 'web2', args: ['default', 'via', '192.168.0.100'] },
      { host: 'director', args: ['default', 'via', '192.168.0.100'] },
      { host: 'client', args: ['default', 'via', '172.25.254.100'] },
      { host: 'router', args: ['192.168.0.200/32', 'via', '192.168.0.50'] },
    ],
    forwarders: ['router'],
    director: {
      host: 'director',
      vip: '192.168.0.200',
      vipDev: 'lo',
      commands: [
        ['-A', '-t', '192.168.0.200:80', '-s', 'rr'],
        ['-a', '-t', '192.168.0.200:80', '-r', '192.168.0.10', '-g'],
        ['-a', '-t', '192.168.0.200:80', '-r', '192.168.0.20', '-g'],
      ],
    },
    realServers: [
      { host: 'web1', port: 80, agentVip: '192.168.0.200' },
      { host: 'web2', port: 80, agentVip: '192.168.0.200' },
    ],
    client: { host: 'client', url: 'http://192.168.0.200/' },
    expect: { sched: 'rr', weights: { web1: 1, web2: 1 } },
  },
  {
    name: 'seed003-nat',
    seed: '003',
    description: 'NAT with port mapping: VIP 172.16.100.9:80, real servers 192.168.20.7/.8 on :8080',
    segments: [
      {
        name: 'outside',
        members: [
          { host: 'director', dev: 'eth0', addrs: ['172.16.100.9/24'] },
          { host: 'client', dev: 'eth0', addrs: ['172.16.100.100/24'] },
        ],
      },
      {
        name: 'inside',
        members: [
          { host: 'director', dev: 'eth1', addrs: ['192.168.20.1/24'] },
          { host: 'rs1', dev: 'eth0', addrs: ['192.168.20.7/24'] },
          { host: 'rs2', dev: 'eth0', addrs: ['192.168.20.8/24'] },
        ],
      },
    ],
    routes: [
      { host: 'rs1', args: ['default', 'via', '192.168.20.1'] },
      { host: 'rs2', args: ['default', 'via', '192.168.20.1'] },
    ],
    forwarders: ['director'],
    director: {
      host: 'director',
      vip: '172.16.100.9',
      commands: [
        ['-A', '-t', '172.16.100.9:80', '-s', 'rr'],
        ['-a', '-t', '172.16.100.9:80', '-r', '192.168.20.7:8080', '-m'],
        ['-a', '-t', '172.16.100.9:80', '-r', '192.168.20.8:8080', '-m'],
      ],
    },
    realServers: [
      { host: 'rs1', port: 8080 },
      { host: 'rs2', port: 8080 },
    ],
    client: { host: 'client', url: 'http://172.16.100.9/' },
    expect: { sched: 'rr', weights: { rs1: 1, rs2: 1 } },
  },
  {
    name: 'seed004-dr',
    seed: '004',
    description: 'DR with VIP and RIP in different networks: wlc with weights 2 and 1',
    segments: [
      {
        name: 'public',
        members: [
          { host: 'router', dev: 'eth0', addrs: ['192.168.101.254/24'] },
          { host: 'director', dev: 'eth1', addrs: ['192.168.101.168/24'] },
          { host: 'client', dev: 'eth0', addrs: ['192.168.101.253/24'] },
        ],
      },
      {
        name: 'private',
        members: [
          { host: 'router', dev: 'eth1', addrs: ['10.10.10.1/24'] },
          { host: 'director', dev: 'eth0', addrs: ['10.10.10.10/24'] },
          { host: 'rs1', dev: 'eth0', addrs: ['10.10.10.11/24'] },
          { host: 'rs2', dev: 'eth0', addrs: ['10.10.10.12/24'] },
        ],
      },
    ],
    routes: [
      { host: 'rs1', args: ['default', 'via', '10.10.10.1'] },
      { host: 'rs2', args: ['default', 'via', '10.10.10.1'] },
    ],
    forwarders: ['router'],
    director: {
      host: 'director',
      vip: '192.168.101.168',
      commands: [
        ['-A', '-t', '192.168.101.168:80', '-s', 'wlc'],
        ['-a', '-t', '192.168.101.168:80', '-r', '10.10.10.11', '-g', '-w', '2'],
        ['-a', '-t', '192.168.101.168:80', '-r', '10.10.10.12', '-g', '-w', '1'],
      ],
    },
    realServers: [
      { host: 'rs1', port: 80, agentVip: '192.168.101.168' },
      { host: 'rs2', port: 80, agentVip: '192.168.101.168' },
    ],
    client: { host: 'client', url: 'http://192.168.101.168/' },
    expect: { sched: 'wlc', weights: { rs1: 2, rs2: 1 } },
  },
  {
    name: 'tun',
    seed: '002',
    description:
      'TUN (ipip): the director wraps each request in an outer IPv4 header to the real server, which decapsulates it and answers the client directly',
    segments: [
      {
        name: 'lan',
        members: [
          { host: 'director', dev: 'eth0', addrs: ['192.168.10.11/24'] },
          { host: 'rs1', dev: 'eth0', addrs: ['192.168.10.12/24'] },
          { host: 'rs2', dev: 'eth0', addrs: ['192.168.10.13/24'] },
          { host: 'client', dev: 'eth0', addrs: ['192.168.10.200/24'] },
        ],
      },
    ],
    routes: [],
    forwarders: [],
    director: {
      host: 'director',
      vip: '192.168.10.100',
      vipDev: 'eth0',
      commands: [
        ['-A', '-t', '192.168.10.100:80', '-s', 'rr'],
        ['-a', '-t', '192.168.10.100:80', '-r', '192.168.10.12', '-i'],
        ['-a', '-t', '192.168.10.100:80', '-r', '192.168.10.13', '-i'],
      ],
    },
    realServers: [
      { host: 'rs1', port: 80, agentVip: '192.168.10.100', tunnel: { kind: 'ipip' } },
      { host: 'rs2', port: 80, agentVip: '192.168.10.100', tunnel: { kind: 'ipip' } },
    ],
    client: { host: 'client', url: 'http://192.168.10.100/' },
    expect: { sched: 'rr', weights: { rs1: 1, rs2: 1 } },
  },
  {
    name: 'fullnat',
    seed: '002',
    description: 'FULLNAT: both addresses rewritten, so the real servers sit behind a router and route nothing back through the director',
    segments: [
      {
        name: 'outside',
        members: [
          { host: 'director', dev: 'eth0', addrs: ['172.16.0.1/24'] },
          { host: 'client', dev: 'eth0', addrs: ['172.16.0.200/24'] },
        ],
      },
      {
        name: 'transit',
        members: [
          { host: 'director', dev: 'eth1', addrs: ['10.0.2.1/24'] },
          { host: 'router', dev: 'eth0', addrs: ['10.0.2.254/24'] },
        ],
      },
      {
        name: 'servers',
        members: [
          { host: 'router', dev: 'eth1', addrs: ['10.0.3.254/24'] },
          { host: 'rs1', dev: 'eth0', addrs: ['10.0.3.11/24'] },
          { host: 'rs2', dev: 'eth0', addrs: ['10.0.3.12/24'] },
        ],
      },
    ],
    routes: [
      { host: 'director', args: ['10.0.3.0/24', 'via', '10.0.2.254'] },
      { host: 'rs1', args: ['default', 'via', '10.0.3.254'] },
      { host: 'rs2', args: ['default', 'via', '10.0.3.254'] },
    ],
    forwarders: ['router'],
    director: {
      host: 'director',
      vip: '172.16.0.100',
      vipDev: 'eth0',
      // The local address 10.0.2.100 is on no interface: the engine answers ARP for it.
      commands: [
        ['-A', '-t', '172.16.0.100:80', '-s', 'rr', '--laddr', '10.0.2.100'],
        ['-a', '-t', '172.16.0.100:80', '-r', '10.0.3.11:8080', '--fullnat'],
        ['-a', '-t', '172.16.0.100:80', '-r', '10.0.3.12:8080', '--fullnat'],
      ],
    },
    realServers: [
      { host: 'rs1', port: 8080 },
      { host: 'rs2', port: 8080 },
    ],
    client: { host: 'client', url: 'http://172.16.0.100/' },
    expect: { sched: 'rr', weights: { rs1: 1, rs2: 1 } },
  },
  {
    name: 'dr6',
    seed: '001',
    description: "IPv6 DR: seed 001's lab over IPv6, the VIP on the real servers' lo (/128)",
    segments: [
      {
        name: 'lan',
        members: [
          { host: 'director', dev: 'eth0', addrs: ['2001:db8:9::11/64'] },
          { host: 'rs1', dev: 'eth0', addrs: ['2001:db8:9::12/64'] },
          { host: 'rs2', dev: 'eth0', addrs: ['2001:db8:9::13/64'] },
          { host: 'client', dev: 'eth0', addrs: ['2001:db8:9::200/64'] },
        ],
      },
    ],
    routes: [],
    forwarders: [],
    director: {
      host: 'director',
      vip: '2001:db8:9::100',
      vipDev: 'eth0',
      commands: [
        ['-A', '-t', '[2001:db8:9::100]:80', '-s', 'rr'],
        ['-a', '-t', '[2001:db8:9::100]:80', '-r', '[2001:db8:9::12]:80', '-g'],
        ['-a', '-t', '[2001:db8:9::100]:80', '-r', '[2001:db8:9::13]:80', '-g'],
      ],
    },
    realServers: [
      { host: 'rs1', port: 80, agentVip: '2001:db8:9::100' },
      { host: 'rs2', port: 80, agentVip: '2001:db8:9::100' },
    ],
    client: { host: 'client', url: 'http://[2001:db8:9::100]/' },
    expect: { sched: 'rr', weights: { rs1: 1, rs2: 1 } },
  },
  {
    name: 'nat6',
    seed: '002',
    description: "IPv6 NAT: seed 002's NAT lab over IPv6, the web servers routing back through the director",
    segments: [
      {
        name: 'outside',
        members: [
          { host: 'director', dev: 'eth0', addrs: ['2001:db8:1::1/64'] },
          { host: 'client', dev: 'eth0', addrs: ['2001:db8:1::200/64'] },
        ],
      },
      {
        name: 'inside',
        members: [
          { host: 'director', dev: 'eth1', addrs: ['2001:db8:2::1/64'] },
          { host: 'web1', dev: 'eth0', addrs: ['2001:db8:2::10/64'] },
          { host: 'web2', dev: 'eth0', addrs: ['2001:db8:2::20/64'] },
        ],
      },
    ],
    routes: [
      { host: 'web1', args: ['default', 'via', '2001:db8:2::1'] },
      { host: 'web2', args: ['default', 'via', '2001:db8:2::1'] },
    ],
    forwarders: [],
    director: {
      host: 'director',
      vip: '2001:db8:1::1',
      commands: [
        ['-A', '-t', '[2001:db8:1::1]:80', '-s', 'rr'],
        ['-a', '-t', '[2001:db8:1::1]:80', '-r', '[2001:db8:2::10]:8080', '-m'],
        ['-a', '-t', '[2001:db8:1::1]:80', '-r', '[2001:db8:2::20]:8080', '-m'],
      ],
    },
    realServers: [
      { host: 'web1', port: 8080 },
      { host: 'web2', port: 8080 },
    ],
    client: { host: 'client', url: 'http://[2001:db8:1::1]/' },
    expect: { sched: 'rr', weights: { web1: 1, web2: 1 } },
  },
  {
    name: 'fullnat6',
    seed: '002',
    description: 'IPv6 FULLNAT: the fullnat lab over IPv6, real servers behind a router',
    segments: [
      {
        name: 'outside',
        members: [
          { host: 'director', dev: 'eth0', addrs: ['2001:db8:16::1/64'] },
          { host: 'client', dev: 'eth0', addrs: ['2001:db8:16::200/64'] },
        ],
      },
      {
        name: 'transit',
        members: [
          { host: 'director', dev: 'eth1', addrs: ['2001:db8:2a::1/64'] },
          { host: 'router', dev: 'eth0', addrs: ['2001:db8:2a::fe/64'] },
        ],
      },
      {
        name: 'servers',
        members: [
          { host: 'router', dev: 'eth1', addrs: ['2001:db8:3a::fe/64'] },
          { host: 'rs1', dev: 'eth0', addrs: ['2001:db8:3a::11/64'] },
          { host: 'rs2', dev: 'eth0', addrs: ['2001:db8:3a::12/64'] },
        ],
      },
    ],
    routes: [
      { host: 'director', args: ['2001:db8:3a::/64', 'via', '2001:db8:2a::fe'] },
      { host: 'rs1', args: ['default', 'via', '2001:db8:3a::fe'] },
      { host: 'rs2', args: ['default', 'via', '2001:db8:3a::fe'] },
    ],
    forwarders: ['router'],
    director: {
      host: 'director',
      vip: '2001:db8:16::100',
      vipDev: 'eth0',
      commands: [
        ['-A', '-t', '[2001:db8:16::100]:80', '-s', 'rr', '--laddr', '2001:db8:2a::100'],
        ['-a', '-t', '[2001:db8:16::100]:80', '-r', '[2001:db8:3a::11]:8080', '--fullnat'],
        ['-a', '-t', '[2001:db8:16::100]:80', '-r', '[2001:db8:3a::12]:8080', '--fullnat'],
      ],
    },
    realServers: [
      { host: 'rs1', port: 8080 },
      { host: 'rs2', port: 8080 },
    ],
    client: { host: 'client', url: 'http://[2001:db8:16::100]/' },
    expect: { sched: 'rr', weights: { rs1: 1, rs2: 1 } },
  },
  {
    name: 'tun6',
    seed: '002',
    description: 'IPv6 TUN (ip6ip6): the tun lab over IPv6; the hosts are dual-stack, so 4in6 and 6in4 can be tried too',
    segments: [
      {
        name: 'lan',
        members: [
          { host: 'director', dev: 'eth0', addrs: ['2001:db8:10::11/64', '192.168.10.11/24'] },
          { host: 'rs1', dev: 'eth0', addrs: ['2001:db8:10::12/64', '192.168.10.12/24'] },
          { host: 'rs2', dev: 'eth0', addrs: ['2001:db8:10::13/64', '192.168.10.13/24'] },
          { host: 'client', dev: 'eth0', addrs: ['2001:db8:10::200/64', '192.168.10.200/24'] },
        ],
      },
    ],
    routes: [],
    forwarders: [],
    director: {
      host: 'director',
      vip: '2001:db8:10::100',
      vipDev: 'eth0',
      commands: [
        ['-A', '-t', '[2001:db8:10::100]:80', '-s', 'rr'],
        ['-a', '-t', '[2001:db8:10::100]:80', '-r', '[2001:db8:10::12]:80', '-i'],
        ['-a', '-t', '[2001:db8:10::100]:80', '-r', '[2001:db8:10::13]:80', '-i'],
      ],
    },
    realServers: [
      { host: 'rs1', port: 80, agentVip: '2001:db8:10::100', tunnel: { kind: 'ipip' } },
      { host: 'rs2', port: 80, agentVip: '2001:db8:10::100', tunnel: { kind: 'ipip' } },
    ],
    client: { host: 'client', url: 'http://[2001:db8:10::100]/' },
    expect: { sched: 'rr', weights: { rs1: 1, rs2: 1 } },
  },
];

export function findLab(name: string): LabDef | undefined {
  return LABS.find((l) => l.name === name);
}

/**
 * Seed 004's DR lab with a second director for VRRP (`tsvs keepalived` on both, MASTER 100 /
 * BACKUP 50): the VIP 192.168.101.168 floats, each director has its own addresses. Not in LABS:
 * the directors are configured by keepalived.conf, not by ipvsadm commands.
 */
export const SEED004_HA: LabDef = {
  name: 'seed004-ha',
  seed: '004',
  description: 'seed 004 DR with two directors running tsvs keepalived; the VIP moves by VRRP',
  segments: [
    {
      name: 'public',
      members: [
        { host: 'router', dev: 'eth0', addrs: ['192.168.101.254/24'] },
        { host: 'director1', dev: 'eth1', addrs: ['192.168.101.166/24'] },
        { host: 'director2', dev: 'eth1', addrs: ['192.168.101.167/24'] },
        { host: 'client', dev: 'eth0', addrs: ['192.168.101.253/24'] },
      ],
    },
    {
      name: 'private',
      members: [
        { host: 'router', dev: 'eth1', addrs: ['10.10.10.1/24'] },
        { host: 'director1', dev: 'eth0', addrs: ['10.10.10.10/24'] },
        { host: 'director2', dev: 'eth0', addrs: ['10.10.10.9/24'] },
        { host: 'rs1', dev: 'eth0', addrs: ['10.10.10.11/24'] },
        { host: 'rs2', dev: 'eth0', addrs: ['10.10.10.12/24'] },
      ],
    },
  ],
  routes: [
    { host: 'rs1', args: ['default', 'via', '10.10.10.1'] },
    { host: 'rs2', args: ['default', 'via', '10.10.10.1'] },
  ],
  forwarders: ['router'],
  director: { host: 'director1', vip: '192.168.101.168', commands: [] },
  realServers: [
    { host: 'rs1', port: 80, agentVip: '192.168.101.168' },
    { host: 'rs2', port: 80, agentVip: '192.168.101.168' },
  ],
  client: { host: 'client', url: 'http://192.168.101.168/' },
  expect: { sched: 'wlc', weights: { rs1: 2, rs2: 1 } },
};

/** keepalived.conf of a SEED004_HA director: VRRPv3 at 0.25 s for the VIP, the seed's DR service with TCP checks. */
export function seed004HaConf(state: 'MASTER' | 'BACKUP', priority: number): string {
  const VIP = SEED004_HA.director.vip;
  return `global_defs {
  router_id ${state.toLowerCase()}
  vrrp_garp_master_delay 1
}
vrrp_instance VI_1 {
  state ${state}
  interface eth1
  virtual_router_id 68
  priority ${priority}
  version 3
  advert_int 0.25
  virtual_ipaddress {
    ${VIP}/24 dev eth1
  }
}
virtual_server ${VIP} 80 {
  delay_loop 1
  lb_algo wlc
  lb_kind DR
  protocol TCP
  real_server 10.10.10.11 80 {
    weight 2
    TCP_CHECK {
      connect_timeout 1
    }
  }
  real_server 10.10.10.12 80 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`;
}
