// The namespace's links, addresses, main-table unicast routes and neighbours as rtnetlink
// reports them (dumps and notifications, rtnl-codec.ts), kept so that the engine gets them in
// the shapes it used to read from `ip -j` (netinfo.ts): the forwarder's tables do not change.
// Pure: no system call, no clock.

import { Addr } from '../../core/inet.js';
import type { AddrInfo, AddrInfo6, LinkInfo, NeighInfo, NeighInfo6, NetInfo } from './netinfo.js';
import type { RouteSpec } from './routes.js';
import {
  decodeAddr,
  decodeLink,
  decodeNeigh,
  decodeRoute,
  FAMILY_INET,
  type NlMsg,
  NUD_FAILED,
  NUD_INCOMPLETE,
  NUD_NOARP,
  RT_TABLE_MAIN,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTN_UNICAST,
} from './rtnl-codec.js';

interface AddrRow {
  ifindex: number;
  addr: Addr;
  prefix: number;
}

interface RouteRow {
  v6: boolean;
  spec: RouteSpec;
}

/** Neighbour states whose lladdr is worth nothing (ip neigh hides NOARP; ours skip the unresolved). */
const NUD_USELESS = NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP;

export class RtnlState {
  private readonly links = new Map<number, LinkInfo>();
  private readonly addrs = new Map<string, AddrRow>();
  private readonly routes = new Map<string, RouteRow>();
  /** Links, addresses or routes changed since the engine last took netInfo(). */
  netChanged = false;
  /**
   * A link went down, came up or vanished: the kernel flushes IPv4 routes through a downed
   * device without a notification (fib_sync_down_dev), so the routes must be dumped again.
   */
  routesStale = false;
  /** Kernel neighbours with a usable MAC seen since the last takeNeighs(). */
  private neighs: NeighInfo[] = [];
  private neighs6: NeighInfo6[] = [];

  /** Forgets what a dump of `getType` (RTM_GET*) is about to report afresh. */
  clear(getType: number): void {
    if (getType === RTM_GETLINK) this.links.clear();
    else if (getType === RTM_GETADDR) this.addrs.clear();
    else if (getType === RTM_GETROUTE) this.routes.clear();
    else if (getType === RTM_GETNEIGH) {
      this.neighs = [];
      this.neighs6 = [];
    }
    if (getType !== RTM_GETNEIGH) this.netChanged = true;
  }

  /** Applies one dump entry or notification; other message types are ignored. */
  apply(buf: Uint8Array, m: NlMsg): void {
    switch (m.type) {
      case RTM_NEWLINK:
      case RTM_DELLINK:
        return this.link(buf, m);
      case RTM_NEWADDR:
      case RTM_DELADDR:
        return this.addr(buf, m);
      case RTM_NEWROUTE:
      case RTM_DELROUTE:
        return this.route(buf, m);
      case RTM_NEWNEIGH:
        return this.neigh(buf, m);
      case RTM_DELNEIGH:
        // The engine keeps what it learned: the kernel's garbage collection deletes entries that
        // are still right, and the engine resolves its own next hops (neigh.ts).
        return;
    }
  }

  private link(buf: Uint8Array, m: NlMsg): void {
    const l = decodeLink(buf, m);
    if (!l || l.ifindex <= 0) return;
    const before = this.links.get(l.ifindex);
    if (m.type === RTM_DELLINK) {
      if (!before) return;
      this.links.delete(l.ifindex);
      for (const [k, a] of this.addrs) if (a.ifindex === l.ifindex) this.addrs.delete(k);
      this.routesStale = true;
    } else {
      // A notification may omit attributes that did not change; keep what we knew.
      const next: LinkInfo = {
        name: l.name || before?.name || '',
        ifindex: l.ifindex,
        mac: l.mac || before?.mac || '',
        mtu: l.mtu || before?.mtu || 0,
        up: l.up,
        ether: l.ether,
      };
      if (before && before.up !== next.up) this.routesStale = true;
      if (before && sameLink(before, next)) return;
      this.links.set(l.ifindex, next);
    }
    this.netChanged = true;
  }

  private addr(buf: Uint8Array, m: NlMsg): void {
    const a = decodeAddr(buf, m);
    if (!a) return;
    const addr = Addr.fromBytes(a.addr);
    const key = `${a.ifindex} ${addr.toString()}/${a.prefix}`;
    if (m.type === RTM_DELADDR) {
      if (!this.addrs.delete(key)) return;
      this.routesStale = true;
    } else {
      if (this.addrs.has(key)) return;
      this.addrs.set(key, { ifindex: a.ifindex, addr, prefix: a.prefix });
    }
    this.netChanged = true;
  }

  private route(buf: Uint8Array, m: NlMsg): void {
    const r = decodeRoute(buf, m);
    // What `ip route show table main` listed and RouteTable takes: unicast, one next hop.
    if (!r || r.table !== RT_TABLE_MAIN || r.type !== RTN_UNICAST || r.multipath) return;
    const dst = r.dstLen === 0 ? 'default' : `${Addr.fromBytes(r.dst).toString()}/${r.dstLen}`;
    const key = `${r.family} ${dst} ${r.tos} ${r.priority}`;
    if (m.type === RTM_DELROUTE) {
      if (!this.routes.delete(key)) return;
    } else {
      const spec: RouteSpec = { dst, ifindex: r.oif };
      if (r.gateway) spec.gateway = Addr.fromBytes(r.gateway).toString();
      this.routes.set(key, { v6: r.family !== FAMILY_INET, spec });
    }
    this.netChanged = true;
  }

  private neigh(buf: Uint8Array, m: NlMsg): void {
    const n = decodeNeigh(buf, m);
    if (!n || !n.lladdr || (n.state & NUD_USELESS) !== 0 || n.ifindex <= 0) return;
    const addr = Addr.fromBytes(n.dst);
    if (n.family === FAMILY_INET) this.neighs.push({ addr: addr.w0, ifindex: n.ifindex, mac: n.lladdr });
    else this.neighs6.push({ addr, ifindex: n.ifindex, mac: n.lladdr });
  }

  /** Neighbour updates since the last call (to learn, in order), and forgets them. */
  takeNeighs(): { neighs: NeighInfo[]; neighs6: NeighInfo6[] } {
    const out = { neighs: this.neighs, neighs6: this.neighs6 };
    this.neighs = [];
    this.neighs6 = [];
    return out;
  }

  get pendingNeighs(): number {
    return this.neighs.length + this.neighs6.length;
  }

  /** The whole picture in netinfo.ts's shapes, with the neighbour updates since the last call. */
  netInfo(): NetInfo {
    this.netChanged = false;
    const addrs: AddrInfo[] = [];
    const addrs6: AddrInfo6[] = [];
    for (const a of this.addrs.values()) {
      if (a.addr.isV6) addrs6.push({ ifindex: a.ifindex, addr: a.addr, prefix: a.prefix });
      else addrs.push({ ifindex: a.ifindex, addr: a.addr.w0, prefix: a.prefix });
    }
    const routes: RouteSpec[] = [];
    const routes6: RouteSpec[] = [];
    for (const r of this.routes.values()) (r.v6 ? routes6 : routes).push(r.spec);
    const links = [...this.links.values()].sort((a, b) => a.ifindex - b.ifindex);
    return { links, addrs, routes, addrs6, routes6, ...this.takeNeighs() };
  }
}

function sameLink(a: LinkInfo, b: LinkInfo): boolean {
  return a.name === b.name && a.mac === b.mac && a.mtu === b.mtu && a.up === b.up && a.ether === b.ether;
}
