// One checker's life (docs/spec/ha.md §B.4): checks every delay_loop; success marks it up at once; a
// failure of an up checker is retried `retry` times, delay_before_retry apart, before it is
// marked down. So a dead server is out within
//   delay_loop + retry × delay_before_retry + (retry + 1) × connect_timeout.
import type { CheckerConf } from '../lvs/types.js';
import { dnsProbe } from './dns.js';
import { httpProbe } from './http.js';
import type { Limiter } from './limiter.js';
import { miscProbe } from './misc.js';
import type { ProbeResult } from './probe.js';
import { tcpProbe } from './tcp.js';

export interface CheckerStatus {
  kind: string;
  target: string;
  up: boolean;
  lastResult: string | null;
  lastCheckAt: number | null;
  consecutiveFailures: number;
  /** Checks done since this checker started. */
  checks: number;
  /** Failed checks since this checker started, retries included (tsvs_checker_failures_total). */
  failures: number;
}

export function runProbe(c: CheckerConf): Promise<ProbeResult> {
  switch (c.kind) {
    case 'TCP_CHECK':
      return tcpProbe(c);
    case 'HTTP_GET':
      return httpProbe(c, false);
    case 'SSL_GET':
      return httpProbe(c, true);
    case 'MISC_CHECK':
      return miscProbe(c);
    case 'DNS_CHECK':
      return dnsProbe(c);
  }
}

/** The worst time from a server's death to its checker going down (for docs and tests). */
export function detectionBoundMs(c: CheckerConf): number {
  return c.delayLoopMs + c.retry * c.delayBeforeRetryMs + (c.retry + 1) * c.connectTimeoutMs;
}

export class Checker {
  up: boolean;
  private failures = 0;
  private checks = 0;
  private failedChecks = 0;
  private retriesLeft: number;
  private lastResult: string | null = null;
  private lastCheckAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    readonly conf: CheckerConf,
    up: boolean,
    private readonly limiter: Limiter,
    private readonly now: () => number,
    /** Called when the verdict flips, and on every misc_dynamic weight. */
    private readonly onVerdict: (up: boolean, r: ProbeResult) => void,
  ) {
    this.up = up;
    this.retriesLeft = conf.retry;
  }

  start(firstInMs: number): void {
    this.schedule(firstInMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  status(): CheckerStatus {
    const c = this.conf;
    const target = c.connectIp.includes(':') ? `[${c.connectIp}]:${c.connectPort}` : `${c.connectIp}:${c.connectPort}`;
    return {
      kind: c.kind,
      target,
      up: this.up,
      lastResult: this.lastResult,
      lastCheckAt: this.lastCheckAt,
      consecutiveFailures: this.failures,
      checks: this.checks,
      failures: this.failedChecks,
    };
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check(), ms);
    this.timer.unref?.();
  }

  private async check(): Promise<void> {
    const r = await this.limiter.run(() => runProbe(this.conf));
    if (this.stopped) return;
    this.checks++;
    this.lastResult = r.detail;
    this.lastCheckAt = this.now();
    const c = this.conf;
    if (r.ok) {
      this.failures = 0;
      this.retriesLeft = c.retry;
      const flipped = !this.up;
      this.up = true;
      if (flipped || r.weight !== undefined) this.onVerdict(true, r);
      return this.schedule(c.delayLoopMs);
    }
    this.failures++;
    this.failedChecks++;
    if (this.up && this.retriesLeft > 0) {
      this.retriesLeft--;
      return this.schedule(c.delayBeforeRetryMs);
    }
    this.retriesLeft = c.retry;
    if (this.up) {
      this.up = false;
      this.onVerdict(false, r);
    }
    this.schedule(c.delayLoopMs);
  }
}
