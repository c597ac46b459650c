// One interface the packet engine runs on: its receive ring, its transmit queue, and what the
// data path needs of it (MAC, MTU, IPv4 addresses).

import type { RxRing } from './rxring.js';
import type { TxQueue } from './tx.js';

export class Iface {
  /** IPv4 addresses and prefix lengths configured on the interface. */
  addrs: number[] = [];
  prefixes: number[] = [];

  constructor(
    readonly name: string,
    readonly ifindex: number,
    readonly mac: Uint8Array,
    public mtu: number,
    readonly rx: RxRing,
    readonly tx: TxQueue,
  ) {}

  /** Index of the configured address whose subnet holds `addr`, or -1. */
  private subnetOf(addr: number): number {
    for (let i = 0; i < this.addrs.length; i++) {
      const p = this.prefixes[i]!;
      const m = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
      if (((addr & m) >>> 0) === ((this.addrs[i]! & m) >>> 0)) return i;
    }
    return -1;
  }

  /** The address to speak ARP from toward `target`: one in the same subnet, else the first. */
  sourceFor(target: number): number {
    const i = this.subnetOf(target);
    return i >= 0 ? this.addrs[i]! : (this.addrs[0] ?? 0);
  }

  /** True when `addr` is inside one of the interface's subnets. */
  onLink(addr: number): boolean {
    return this.subnetOf(addr) >= 0;
  }
}
