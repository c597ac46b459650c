// What the packet engine needs to know of its namespace's network, read from iproute2's JSON:
// interfaces (index, MAC, MTU), local IPv4 and IPv6 addresses, the main routing tables and the
// kernel's neighbour entries. Read at start and refreshed in the background; never on the per-packet path.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Addr } from '../../core/inet.js';
import type { RouteSpec } from './routes.js';

const run = promisify(execFile);

export interface LinkInfo {
  name: string;
  ifindex: number;
  mac: string;
  mtu: number;
  up: boolean;
  ether: boolean;
}

export interface AddrInfo {
  ifindex: number;
  addr: number;
  prefix: number;
}

export interface NeighInfo {
  addr: number;
  ifindex: number;
  mac: string;
}

export interface AddrInfo6 {
  ifindex: number;
  addr: Addr;
  prefix: number;
}

export interface NeighInfo6 {
  addr: Addr;
  ifindex: number;
  mac: string;
}

export interface NetInfo {
  links: LinkInfo[];
  addrs: AddrInfo[];
  routes: RouteSpec[];
  neighs: NeighInfo[];
  addrs6: AddrInfo6[];
  routes6: RouteSpec[];
  neighs6: NeighInfo6[];
}

async function ipJson<T>(args: string[]): Promise<T[]> {
  const { stdout } = await run('ip', ['-j', ...args], { maxBuffer: 64 << 20 });
  const t = stdout.trim();
  return t ? (JSON.parse(t) as T[]) : [];
}

interface RawLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  link_type?: string;
  address?: string;
}
interface RawAddr {
  ifindex: number;
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}
interface RawRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  type?: string;
}
interface RawNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
}

export async function readNetInfo(): Promise<NetInfo> {
  const [rawLinks, rawAddrs, rawRoutes, rawNeighs, rawAddrs6, rawRoutes6, rawNeighs6] = await Promise.all([
    ipJson<RawLink>(['link', 'show']),
    ipJson<RawAddr>(['-4', 'addr', 'show']),
    ipJson<RawRoute>(['-4', 'route', 'show', 'table', 'main']),
    ipJson<RawNeigh>(['-4', 'neigh', 'show']),
    ipJson<RawAddr>(['-6', 'addr', 'show']),
    ipJson<RawRoute>(['-6', 'route', 'show', 'table', 'main']),
    ipJson<RawNeigh>(['-6', 'neigh', 'show']),
  ]);
  const links = rawLinks.map((l) => ({
    name: l.ifname,
    ifindex: l.ifindex,
    mac: l.address ?? '',
    mtu: l.mtu,
    up: (l.flags ?? []).includes('UP'),
    ether: l.link_type === 'ether',
  }));
  const byName = new Map(links.map((l) => [l.name, l.ifindex]));
  const addrs: AddrInfo[] = [];
  for (const a of rawAddrs) {
    for (const i of a.addr_info ?? []) {
      const v = i.family === 'inet' && i.local ? Addr.parse4(i.local) : null;
      if (v) addrs.push({ ifindex: a.ifindex, addr: v.w0, prefix: i.prefixlen ?? 32 });
    }
  }
  const routes: RouteSpec[] = [];
  for (const r of rawRoutes) {
    if (r.type && r.type !== 'unicast') continue;
    const ifindex = r.dev ? (byName.get(r.dev) ?? 0) : 0;
    routes.push({ dst: r.dst, gateway: r.gateway, ifindex });
  }
  const neighs: NeighInfo[] = [];
  for (const n of rawNeighs) {
    const a = Addr.parse4(n.dst);
    const st = n.state ?? [];
    if (!a || !n.lladdr || st.includes('FAILED') || st.includes('INCOMPLETE')) continue;
    neighs.push({ addr: a.w0, ifindex: byName.get(n.dev) ?? 0, mac: n.lladdr });
  }
  const addrs6: AddrInfo6[] = [];
  for (const a of rawAddrs6) {
    for (const i of a.addr_info ?? []) {
      const v = i.family === 'inet6' && i.local ? Addr.parse6(i.local) : null;
      if (v) addrs6.push({ ifindex: a.ifindex, addr: v, prefix: i.prefixlen ?? 128 });
    }
  }
  const routes6: RouteSpec[] = [];
  for (const r of rawRoutes6) {
    if (r.type && r.type !== 'unicast') continue;
    const ifindex = r.dev ? (byName.get(r.dev) ?? 0) : 0;
    routes6.push({ dst: r.dst, gateway: r.gateway, ifindex });
  }
  const neighs6: NeighInfo6[] = [];
  for (const n of rawNeighs6) {
    const a = Addr.parse6(n.dst);
    const st = n.state ?? [];
    if (!a || !n.lladdr || st.includes('FAILED') || st.includes('INCOMPLETE')) continue;
    neighs6.push({ addr: a, ifindex: byName.get(n.dev) ?? 0, mac: n.lladdr });
  }
  return { links, addrs, routes, neighs, addrs6, routes6, neighs6 };
}
