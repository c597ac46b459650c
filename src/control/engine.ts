// What the daemon needs from a data plane. The control plane answers as the kernel would
// whatever the engine can serve; what an engine cannot serve shows up in status().

import type { Ipvs } from '../core/ipvs.js';
import type { Service } from '../core/service.js';
import { type Logger, stderrLogger } from './log.js';

export interface UnservedRule {
  /** The rule as `ipvsadm -S -n` would write it. */
  rule: string;
  reason: string;
}

export interface EngineStatus {
  engine: 'packet' | 'proxy';
  /** Interfaces (packet) or listening addresses (proxy) in use. */
  interfaces: string[];
  unserved: UnservedRule[];
  /** Drop counters by reason. */
  drops: Record<string, number>;
  /** Free-form notes for the operator (one line each). */
  notes?: string[];
}

export interface Engine {
  readonly name: 'packet' | 'proxy';
  /** `clock` is the daemon's: milliseconds, the `now` every core call takes. */
  start(ipvs: Ipvs, clock: () => number): Promise<void>;
  stop(): Promise<void>;
  status(): EngineStatus;
  /** Resolves once the data plane follows the latest rule change (e.g. kernel filters). */
  settle?(): Promise<void>;
  /** VIPs that VRRP owns (protocol.ts VrrpVipsRequest): never announced by the engine. */
  setVrrpVips?(addrs: string[]): void;
}

export type EngineName = Engine['name'];

/**
 * Stands in for an engine that is not built yet: rules are accepted and listed, and status()
 * says plainly that nothing is forwarded and why.
 */
export class NullEngine implements Engine {
  private ipvs: Ipvs | null = null;

  constructor(
    readonly name: EngineName,
    private readonly reason: string,
    private readonly log: Logger = stderrLogger,
  ) {}

  async start(ipvs: Ipvs): Promise<void> {
    this.ipvs = ipvs;
    // Once per change, as the real engines do: what is not served, and why.
    ipvs.rules.listeners.push({
      serviceAdded: (svc) => this.log(`${this.name} engine: ${label(svc)} not served: ${this.reason}`),
    });
  }

  async stop(): Promise<void> {
    this.ipvs = null;
  }

  status(): EngineStatus {
    const unserved: UnservedRule[] = [];
    for (const svc of this.ipvs?.rules.services() ?? []) {
      unserved.push({ rule: `-A ${label(svc)}`, reason: this.reason });
    }
    return { engine: this.name, interfaces: [], unserved, drops: {}, notes: [this.reason] };
  }
}

/** A service as `ipvsadm -S -n` names it. */
export function label(svc: Service): string {
  if (svc.fwmark) return `-f ${svc.fwmark}${svc.isIpv4 ? '' : ' -6'}`;
  const opt = svc.protocol === 17 ? '-u' : svc.protocol === 132 ? '--sctp-service' : '-t';
  return `${opt} ${svc.addr.isV6 ? `[${svc.addr}]` : svc.addr}:${svc.port}`;
}
