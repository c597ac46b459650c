// The registration point for what the director itself does not know: checker results per real
// server, VRRP state per instance, sync daemon counters, and any other metric family. A
// component (keepalived's checkers, VRRP, the sync daemon) registers a source on the daemon's
// `observers` once at start; /metrics, the JSON API and the dashboard ask every source at each
// scrape or poll. Sources answer from state they already hold: no I/O in these calls.
// docs/http-api.md ("Adding metrics") documents the contract.

import type { Exposition } from './exposition.js';

/** A checker's verdict on one real server of one virtual service. */
export interface DestHealth {
  /** The service as `ipvsadm -S -n` names it, e.g. `-t 192.0.2.10:80` or `-f 10`. */
  service: string;
  /** `ADDR:PORT` of the real server (`[v6]:port` for IPv6). */
  dest: string;
  /** Up means the checker let the dest take traffic. */
  up: boolean;
  /** The checker's name (`TCP_CHECK`, `HTTP_GET`, `MISC_CHECK`, ...). */
  checker: string;
  /** Last result in words, e.g. `connect timeout after 3 s`. */
  detail?: string;
  /** Checker transitions UP→DOWN and DOWN→UP since start. */
  transitions?: number;
  /** Failed checks since the checker started, retries included (tsvs_checker_failures_total). */
  failures?: number;
}

/** One VRRP instance as keepalived reports it. */
export interface VrrpInstance {
  name: string;
  state: 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';
  priority: number;
  /** Virtual router id. */
  vrid: number;
  interface: string;
  /** Times this instance became MASTER since start. */
  becameMaster?: number;
}

export interface HealthSource {
  destHealth(): DestHealth[];
}

export interface VrrpSource {
  vrrpInstances(): VrrpInstance[];
}

/** Writes its own families (e.g. `tsvs_sync_messages_sent_total`) into the scrape. */
export interface MetricsSource {
  collect(out: Exposition): void;
}

export class Observers {
  readonly health: HealthSource[] = [];
  readonly vrrp: VrrpSource[] = [];
  readonly metrics: MetricsSource[] = [];

  /** Each add returns a function that removes the source again. */
  addHealth(s: HealthSource): () => void {
    return add(this.health, s);
  }

  addVrrp(s: VrrpSource): () => void {
    return add(this.vrrp, s);
  }

  addMetrics(s: MetricsSource): () => void {
    return add(this.metrics, s);
  }

  destHealth(): DestHealth[] {
    return this.health.flatMap((s) => s.destHealth());
  }

  vrrpInstances(): VrrpInstance[] {
    return this.vrrp.flatMap((s) => s.vrrpInstances());
  }
}

function add<T>(list: T[], s: T): () => void {
  list.push(s);
  return () => {
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
  };
}
