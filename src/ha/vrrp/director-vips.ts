// The director must know which VIPs VRRP moves (protocol.ts VrrpVipsRequest), or its packet
// engine answers ARP/NDP for them on a backup. The director is a process and can die: the
// kernel's IPVS, which keepalived drives, cannot. So the keepalived process watches the
// director it told: a director that is gone is started again (it restores its rules and the
// VIP set from its state dir), and a director with a new pid is told the VIPs again.

import { NoDaemon, request, startDetached } from '../../cli/client.js';
import { DIRECTOR_REPLY_MS, DIRECTOR_WATCH_MS } from './constants.js';
import type { VrrpLogLevel } from './vrrp.js';

export interface DirectorVipsOptions {
  /** The director's control socket; null: none is reachable, nothing is told. */
  sock: string | null;
  log: (level: VrrpLogLevel, msg: string) => void;
  /** Starts the director of `sock` (tests pass their own); default `startDetached`. */
  startDirector?: (sock: string) => Promise<void>;
  watchMs?: number;
}

export class DirectorVips {
  /** The VIP set last wanted, null until VRRP starts. */
  private addrs: string[] | null = null;
  /** The pid of the director that holds `addrs`, null when none was told. */
  private pid: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  /** The last failure logged, so that a director down for long is not logged every second. */
  private lastFailure = '';

  constructor(private readonly o: DirectorVipsOptions) {}

  /** Tells the director `addrs` (NoDaemon: none runs, nothing to tell); throws on other failures. */
  tell(addrs: string[]): Promise<void> {
    this.addrs = addrs;
    const run = this.busy.then(() => this.send());
    this.busy = run.catch(() => undefined);
    this.watch();
    return run;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look at the director (what the timer runs), exposed for tests. */
  check(): Promise<void> {
    const run = this.busy.then(() => this.checkOnce());
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** Only while there are VIPs to keep: a file without VRRP instances never restarts a director. */
  private watch(): void {
    if (this.addrs?.length === 0) return this.stop();
    if (this.timer || !this.o.sock) return;
    this.timer = setInterval(() => void this.check(), this.o.watchMs ?? DIRECTOR_WATCH_MS);
    this.timer.unref();
  }

  private async send(): Promise<void> {
    const sock = this.o.sock;
    if (!sock || this.addrs === null) return;
    try {
      const r = await request<{ ok?: boolean; pid?: number }>(sock, { op: 'vrrp-vips', addrs: this.addrs }, DIRECTOR_REPLY_MS);
      if (r.ok !== true) throw new Error(`the director refused the VIP list: ${JSON.stringify(r).slice(0, 200)}`);
      this.pid = typeof r.pid === 'number' ? r.pid : null;
      this.lastFailure = '';
    } catch (e) {
      if (!(e instanceof NoDaemon)) throw e;
      this.pid = null;
    }
  }

  private async checkOnce(): Promise<void> {
    const sock = this.o.sock;
    if (!sock || this.addrs === null || this.addrs.length === 0) return;
    try {
      let pid: number | null = null;
      try {
        const r = await request<{ pid?: number }>(sock, { op: 'ping' }, DIRECTOR_REPLY_MS);
        pid = typeof r.pid === 'number' ? r.pid : null;
      } catch (e) {
        if (!(e instanceof NoDaemon)) throw e;
        if (this.pid === null) return; // none was ever told: not ours to start
        this.o.log('warn', `VRRP: the director (pid ${this.pid}, ${sock}) is gone; starting it again (it restores its rules)`);
        await (this.o.startDirector ?? startDetached)(sock);
      }
      if (pid !== null && pid === this.pid) return;
      const was = this.pid;
      await this.send();
      if (this.pid !== null) {
        this.o.log(
          'info',
          `VRRP: director pid ${this.pid}${was !== null ? ` (was ${was})` : ''} told the ${this.addrs.length} VIP(s) VRRP moves`,
        );
      }
    } catch (e) {
      const why = (e as Error).message;
      if (why !== this.lastFailure) this.o.log('error', `VRRP: cannot reach the director at ${sock} to tell it the VIPs: ${why}`);
      this.lastFailure = why;
    }
  }
}
