// What the packet engine needs to know of its namespace's network: interfaces (index, MAC,
// MTU), local IPv4 and IPv6 addresses, the main routing tables and the kernel's neighbour
// entries. Followed through rtnetlink (rtnl.ts, rtnl-state.ts); never read on the per-packet path.

import type { Addr } from '../../core/inet.js';
import type { RouteSpec } from './routes.js';

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
  /** Kernel neighbours to learn (from rtnetlink: those that changed since the last NetInfo). */
  neighs: NeighInfo[];
  addrs6: AddrInfo6[];
  routes6: RouteSpec[];
  neighs6: NeighInfo6[];
}
