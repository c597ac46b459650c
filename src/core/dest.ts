// A real server (ip_vs_dest). Spec: docs/spec/ipvs-kernel.md §0.2, §2.4, §2.9.

import {
  type Af,
  type FwdMethod,
  IP_VS_CONN_F_DEST_MASK,
  IP_VS_CONN_F_FWD_MASK,
  IP_VS_CONN_F_INACTIVE,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_FULLNAT,
  IP_VS_CONN_F_NOOUTPUT,
  IP_VS_DEST_F_AVAILABLE,
  IP_VS_DEST_F_OVERLOAD,
  IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM,
  type TunType,
} from './constants.js';
import type { Addr } from './inet.js';
import type { Service } from './service.js';
import { Stats } from './stats.js';

/** What `-a`/`-e` carry for a dest; `-e` replaces every field. */
export interface DestSpec {
  addr: Addr;
  port: number;
  fwd: FwdMethod;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  tunType: TunType;
  tunPort: number;
  tunFlags: number;
  /** tsvs extension: PROXY protocol version sent to this dest (0 = off). */
  proxyProtocol: 0 | 1 | 2;
}

export function defaultDestSpec(addr: Addr, port: number): DestSpec {
  return {
    addr,
    port,
    fwd: 3, // IP_VS_CONN_F_DROUTE: ipvsadm's default
    weight: 1,
    uThreshold: 0,
    lThreshold: 0,
    tunType: 0,
    tunPort: 0,
    tunFlags: IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM,
    proxyProtocol: 0,
  };
}

export class Dest {
  readonly af: Af;
  readonly addr: Addr;
  readonly port: number;
  /** Slot in the dest registry; the connection table refers to dests by this id. */
  readonly id: number;
  fwd: FwdMethod = 3;
  weight = 1;
  /** Latest non-zero weight (mh builds its table from it, §2.9). */
  lastWeight = 1;
  uThreshold = 0;
  lThreshold = 0;
  flags = 0;
  /** fwd | INACTIVE | NOOUTPUT (non-NAT): flags every new conn to this dest starts with. */
  connFlags = 0;
  tunType: TunType = 0;
  tunPort = 0;
  tunFlags = 0;
  proxyProtocol: 0 | 1 | 2 = 0;
  activeConns = 0;
  inactConns = 0;
  persistConns = 0;
  /** Conns and templates bound to this dest: a deleted dest is freed only at 0. */
  refcnt = 0;
  readonly stats = new Stats();
  /** The service this dest belongs (or, in the trash, belonged) to. */
  svc: Service;
  /** When the dest entered the trash (ms); -1 while linked. */
  trashedAt = -1;

  constructor(id: number, svc: Service, spec: DestSpec) {
    this.id = id;
    this.svc = svc;
    this.af = spec.addr.af;
    this.addr = spec.addr;
    this.port = spec.port;
    this.update(spec, true);
  }

  /** Applies `-a`/`-e` settings as __ip_vs_update_dest does. */
  update(spec: DestSpec, adding: boolean): void {
    let connFlags = (spec.fwd & IP_VS_CONN_F_DEST_MASK) | IP_VS_CONN_F_INACTIVE;
    // NAT and FULLNAT see both directions; the others see only requests (NOOUTPUT).
    const fwd = spec.fwd & IP_VS_CONN_F_FWD_MASK;
    if (fwd !== IP_VS_CONN_F_MASQ && fwd !== IP_VS_CONN_F_FULLNAT) connFlags |= IP_VS_CONN_F_NOOUTPUT;
    this.connFlags = connFlags;
    this.fwd = spec.fwd;
    this.tunType = spec.tunType;
    this.tunPort = spec.tunPort;
    this.tunFlags = spec.tunFlags;
    this.proxyProtocol = spec.proxyProtocol;
    this.weight = spec.weight;
    if (adding || spec.weight > 0) this.lastWeight = spec.weight;
    // The overload flag is cleared when the threshold goes away or grows.
    if (spec.uThreshold === 0 || spec.uThreshold > this.uThreshold) {
      this.flags &= ~IP_VS_DEST_F_OVERLOAD;
    }
    this.uThreshold = spec.uThreshold;
    this.lThreshold = spec.lThreshold;
  }

  get available(): boolean {
    return (this.flags & IP_VS_DEST_F_AVAILABLE) !== 0;
  }

  get overloaded(): boolean {
    return (this.flags & IP_VS_DEST_F_OVERLOAD) !== 0;
  }

  /** ip_vs_dest_conn_overhead: (activeconns << 8) + inactconns. */
  overhead(): number {
    return this.activeConns * 256 + this.inactConns;
  }

  /** Identity inside a service: family, address, port. */
  matches(addr: Addr, port: number): boolean {
    return this.port === port && this.addr.equals(addr);
  }

  /** After binding a conn: set OVERLOAD when the upper threshold is reached (§2.4). */
  checkUpperThreshold(): void {
    if (this.uThreshold !== 0 && this.activeConns + this.inactConns >= this.uThreshold) {
      this.flags |= IP_VS_DEST_F_OVERLOAD;
    }
  }

  /** After unbinding a conn: clear OVERLOAD by the lower-threshold rule (§2.4). */
  checkLowerThreshold(): void {
    const n = this.activeConns + this.inactConns;
    if (this.lThreshold !== 0) {
      if (n < this.lThreshold) this.flags &= ~IP_VS_DEST_F_OVERLOAD;
    } else if (this.uThreshold !== 0) {
      if (n * 4 < this.uThreshold * 3) this.flags &= ~IP_VS_DEST_F_OVERLOAD;
    } else {
      this.flags &= ~IP_VS_DEST_F_OVERLOAD;
    }
  }
}
