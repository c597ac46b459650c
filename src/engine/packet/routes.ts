// The kernel's IPv4 routes (main table), copied into a longest-prefix-match table the data path
// can consult per packet without a system call. Reloaded from rtnetlink (rtnl-state.ts) on change.

import { Addr } from '../../core/inet.js';

export interface RouteSpec {
  /** "default", "a.b.c.d" or "a.b.c.d/len". */
  dst: string;
  gateway?: string;
  ifindex: number;
}

export class RouteTable {
  private net = new Uint32Array(0);
  private mask = new Uint32Array(0);
  private gw = new Uint32Array(0);
  private dev = new Int32Array(0);
  /** Gateway of the last lookup (0: the destination is on-link). */
  gateway = 0;

  /** Replaces the table; unparseable entries (blackhole, multipath) are skipped. */
  load(routes: RouteSpec[]): void {
    const rows: { net: number; len: number; gw: number; dev: number }[] = [];
    for (const r of routes) {
      let net = 0;
      let len = 0;
      if (r.dst !== 'default') {
        const [a, l] = r.dst.split('/');
        const addr = Addr.parse4(a!);
        if (!addr) continue;
        len = l === undefined ? 32 : Number(l);
        if (!(len >= 0 && len <= 32)) continue;
        net = addr.w0;
      }
      const gw = r.gateway ? (Addr.parse4(r.gateway)?.w0 ?? -1) : 0;
      if (gw < 0 || r.ifindex <= 0) continue;
      rows.push({ net: (net & maskOf(len)) >>> 0, len, gw, dev: r.ifindex });
    }
    rows.sort((a, b) => b.len - a.len);
    this.net = Uint32Array.from(rows, (r) => r.net);
    this.mask = Uint32Array.from(rows, (r) => maskOf(r.len));
    this.gw = Uint32Array.from(rows, (r) => r.gw);
    this.dev = Int32Array.from(rows, (r) => r.dev);
  }

  /** The output ifindex for `addr` (and sets `gateway`), or -1 when no route matches. */
  lookup(addr: number): number {
    const n = this.net.length;
    for (let i = 0; i < n; i++) {
      if ((addr & this.mask[i]!) >>> 0 === this.net[i]) {
        this.gateway = this.gw[i]!;
        return this.dev[i]!;
      }
    }
    this.gateway = 0;
    return -1;
  }

  get size(): number {
    return this.net.length;
  }
}

function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/**
 * The kernel's IPv6 routes (main table) as a longest-prefix-match table over four-word
 * addresses. A gateway is usually a link-local address, resolved like any next hop.
 */
export class RouteTable6 {
  private net = new Uint32Array(0);
  private mask = new Uint32Array(0);
  private gw = new Uint32Array(0);
  private hasGw = new Uint8Array(0);
  private dev = new Int32Array(0);
  /** Gateway of the last lookup, valid when `viaGateway`. */
  readonly gateway = new Uint32Array(4);
  viaGateway = false;

  load(routes: RouteSpec[]): void {
    const rows: { net: Addr; len: number; gw: Addr | null; dev: number }[] = [];
    for (const r of routes) {
      let net = Addr.parse6('::')!;
      let len = 0;
      if (r.dst !== 'default') {
        const [a, l] = r.dst.split('/');
        const addr = Addr.parse6(a!);
        if (!addr) continue;
        len = l === undefined ? 128 : Number(l);
        if (!(len >= 0 && len <= 128)) continue;
        net = addr;
      }
      const gw = r.gateway ? Addr.parse6(r.gateway) : null;
      if ((r.gateway && !gw) || r.ifindex <= 0) continue;
      rows.push({ net, len, gw, dev: r.ifindex });
    }
    rows.sort((a, b) => b.len - a.len);
    const n = rows.length;
    this.net = new Uint32Array(4 * n);
    this.mask = new Uint32Array(4 * n);
    this.gw = new Uint32Array(4 * n);
    this.hasGw = new Uint8Array(n);
    this.dev = new Int32Array(n);
    rows.forEach((r, i) => {
      for (let k = 0; k < 4; k++) {
        const m = maskOf(Math.max(0, Math.min(32, r.len - 32 * k)));
        this.mask[4 * i + k] = m;
        this.net[4 * i + k] = (r.net.word(k) & m) >>> 0;
        this.gw[4 * i + k] = r.gw ? r.gw.word(k) : 0;
      }
      this.hasGw[i] = r.gw ? 1 : 0;
      this.dev[i] = r.dev;
    });
  }

  /** The output ifindex for `a` (four words), setting `gateway`/`viaGateway`; -1 when none. */
  lookup(a: ArrayLike<number>): number {
    const n = this.dev.length;
    for (let i = 0; i < n; i++) {
      const b = 4 * i;
      if (
        (a[0]! & this.mask[b]!) >>> 0 === this.net[b] &&
        (a[1]! & this.mask[b + 1]!) >>> 0 === this.net[b + 1] &&
        (a[2]! & this.mask[b + 2]!) >>> 0 === this.net[b + 2] &&
        (a[3]! & this.mask[b + 3]!) >>> 0 === this.net[b + 3]
      ) {
        this.viaGateway = this.hasGw[i] === 1;
        for (let k = 0; k < 4; k++) this.gateway[k] = this.gw[b + k]!;
        return this.dev[i]!;
      }
    }
    this.viaGateway = false;
    return -1;
  }

  get size(): number {
    return this.dev.length;
  }
}
