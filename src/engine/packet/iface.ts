// One interface the packet engine runs on: its receive port, its transmit port, and what the
// data path needs of it (MAC, MTU, IPv4 addresses).

import type { RxPort, TxPort } from './port.js';

export class Iface {
  /** IPv4 addresses and prefix lengths configured on the interface. */
  addrs: number[] = [];
  prefixes: number[] = [];
  /** IPv6 addresses (four words each) and prefix lengths, link-local included. */
  addrs6: Uint32Array[] = [];
  prefixes6: number[] = [];

  constructor(
    readonly name: string,
    readonly ifindex: number,
    readonly mac: Uint8Array,
    public mtu: number,
    readonly rx: RxPort,
    readonly tx: TxPort,
  ) {}

  /** Index of the configured address whose subnet holds `addr`, or -1. */
  private subnetOf(addr: number): number {
    for (let i = 0; i < this.addrs.length; i++) {
      const p = this.prefixes[i]!;
      const m = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
      if ((addr & m) >>> 0 === (this.addrs[i]! & m) >>> 0) return i;
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

  /** Index of the IPv6 address whose prefix holds `a`, or -1. */
  private subnetOf6(a: ArrayLike<number>): number {
    for (let i = 0; i < this.addrs6.length; i++) {
      const w = this.addrs6[i]!;
      let left = this.prefixes6[i]!;
      let k = 0;
      for (; k < 4 && left > 0; k++, left -= 32) {
        const m = left >= 32 ? 0xffffffff : (0xffffffff << (32 - left)) >>> 0;
        if ((a[k]! & m) >>> 0 !== (w[k]! & m) >>> 0) break;
      }
      if (left <= 0 || k === 4) return i;
    }
    return -1;
  }

  /** The address to speak NDP and ICMPv6 from toward `target`: same prefix, else any; or null. */
  sourceFor6(target: ArrayLike<number>): Uint32Array | null {
    const i = this.subnetOf6(target);
    if (i >= 0) return this.addrs6[i]!;
    return this.addrs6.find((w) => w[0]! >>> 22 !== 0x3fa) ?? this.addrs6[0] ?? null;
  }

  /** True when `a` is inside one of the interface's IPv6 prefixes. */
  onLink6(a: ArrayLike<number>): boolean {
    return this.subnetOf6(a) >= 0;
  }
}
