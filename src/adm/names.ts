// addrport_to_anyname: "addr:port" for listings, numeric with -n, otherwise host and port
// names through the resolver (falling back to numbers); IPv6 bracketed; at most 59 characters
// (ipvsadm formats into a 60-byte buffer). Spec: docs/spec/ipvsadm.md §7.1.

import type { Addr } from '../core/inet.js';
import { protoName } from './addrport.js';
import type { Resolver } from './resolve.js';

/** Size of ipvsadm's buffer less the NUL. */
const ADDRPORT_MAX = 59;

export class Namer {
  private readonly hosts = new Map<string, string>();
  private readonly ports = new Map<string, string>();

  constructor(
    private readonly resolver: Resolver,
    readonly numeric: boolean,
  ) {}

  /** `addr:port` as ipvsadm prints it; `protocol` picks the port-name table (0: numbers). */
  async addrPort(addr: Addr, port: number, protocol: number): Promise<string> {
    const host = this.numeric ? addr.toString() : await this.host(addr);
    const p = this.numeric ? String(port) : await this.port(port, protocol);
    const s = addr.isV6 ? `[${host}]:${p}` : `${host}:${p}`;
    return s.length > ADDRPORT_MAX ? s.slice(0, ADDRPORT_MAX) : s;
  }

  private async host(addr: Addr): Promise<string> {
    const k = addr.key();
    let h = this.hosts.get(k);
    if (h === undefined) {
      h = (await this.resolver.hostByAddr(addr)) ?? addr.toString();
      this.hosts.set(k, h);
    }
    return h;
  }

  private async port(port: number, protocol: number): Promise<string> {
    const proto = protoName(protocol);
    if (!proto) return String(port);
    const k = `${port}/${proto}`;
    let p = this.ports.get(k);
    if (p === undefined) {
      p = (await this.resolver.nameByPort(port, proto)) ?? String(port);
      this.ports.set(k, p);
    }
    return p;
  }
}
