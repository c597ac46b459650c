// A virtual service (ip_vs_service). Spec: docs/spec/ipvs-kernel.md §0.1, §2.2, §2.9; docs/spec/ipvsadm.md §5.

import { AF_INET, type Af, IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IPPROTO_TCP, IPPROTO_UDP } from './constants.js';
import type { Dest } from './dest.js';
import type { Addr } from './inet.js';
import type { Scheduler } from './sched/types.js';
import { Stats } from './stats.js';

/** How a service is addressed: <af, protocol, addr, port> or <af, fwmark>. */
export interface ServiceKey {
  af: Af;
  protocol: number;
  addr: Addr;
  port: number;
  /** Non-zero for fwmark services; then protocol is TCP and addr/port are zero. */
  fwmark: number;
}

/** What `-A`/`-E` carry; `-E` replaces every field. */
export interface ServiceSpec extends ServiceKey {
  schedName: string;
  /** PERSISTENT | ONEPACKET | SCHED1..3 */
  flags: number;
  /** Persistence timeout in seconds. */
  timeout: number;
  /** IPv4: mask as a host-order 32-bit number; IPv6: prefix length. */
  netmask: number;
  /** Persistence engine name ('' for none). */
  peName: string;
  /** tsvs extension: local addresses for FULLNAT. */
  laddrs?: Addr[];
}

export function serviceKeyString(k: ServiceKey): string {
  return k.fwmark !== 0 ? `f${k.af}:${k.fwmark}` : `s${k.protocol}:${k.addr.key()}:${k.port}`;
}

export class Service implements ServiceKey {
  readonly af: Af;
  readonly protocol: number;
  readonly addr: Addr;
  readonly port: number;
  readonly fwmark: number;
  readonly id: number;
  schedName = '';
  sched: Scheduler | null = null;
  flags = 0;
  timeout = 0;
  netmask = 0;
  peName = '';
  laddrs: Addr[] = [];
  /** Kernel list order: new dests at the head. */
  readonly dests: Dest[] = [];
  readonly stats = new Stats();

  constructor(id: number, key: ServiceKey) {
    this.id = id;
    this.af = key.af;
    this.protocol = key.fwmark !== 0 ? IPPROTO_TCP : key.protocol;
    this.addr = key.addr;
    this.port = key.port;
    this.fwmark = key.fwmark;
  }

  get key(): string {
    return serviceKeyString(this);
  }

  get persistent(): boolean {
    return (this.flags & IP_VS_SVC_F_PERSISTENT) !== 0;
  }

  /** One-packet scheduling applies to UDP only, whatever the flag says (§2.3). */
  get onePacket(): boolean {
    return (this.flags & IP_VS_SVC_F_ONEPACKET) !== 0;
  }

  get isIpv4(): boolean {
    return this.af === AF_INET;
  }

  isUdp(): boolean {
    return this.protocol === IPPROTO_UDP;
  }

  findDest(addr: Addr, port: number): Dest | undefined {
    for (const d of this.dests) if (d.matches(addr, port)) return d;
    return undefined;
  }
}
