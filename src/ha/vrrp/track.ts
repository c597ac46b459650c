// Tracked objects of VRRP instances: vrrp_script results with fall/rise (docs/spec/ha.md A.6,
// keepalived's vrrp_script) and interface link state. Each yields "up" or "down"; what that does to
// an instance's priority or state is weightEffect's.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { VrrpScriptConfig } from './config.js';

/** One vrrp_script's running state. keepalived starts a script as good until it has failed `fall` times. */
export class ScriptTracker {
  up = true;
  private okRun = 0;
  private failRun = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  lastExit: number | null = null;

  constructor(
    readonly cfg: VrrpScriptConfig,
    private onChange: () => void,
  ) {}

  start(): void {
    this.runOnce();
    this.timer = setInterval(() => this.runOnce(), this.cfg.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Feeds one result (exit code 0 = success); public for the unit tests of fall/rise. */
  result(ok: boolean): void {
    if (ok) {
      this.okRun++;
      this.failRun = 0;
      if (!this.up && this.okRun >= this.cfg.rise) {
        this.up = true;
        this.onChange();
      }
    } else {
      this.failRun++;
      this.okRun = 0;
      if (this.up && this.failRun >= this.cfg.fall) {
        this.up = false;
        this.onChange();
      }
    }
  }

  private runOnce(): void {
    if (this.running) return; // a slow script is not started twice; its timeout ends it
    this.running = true;
    const [prog, ...args] = this.cfg.script;
    execFile(prog!, args, { timeout: this.cfg.timeoutMs, killSignal: 'SIGKILL' }, (err) => {
      this.running = false;
      if (!this.timer) return;
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      this.lastExit = code;
      this.result(code === 0);
    });
  }
}

/** Whether an interface is usable: present and not operationally down. */
export function linkUp(iface: string): boolean {
  try {
    const st = readFileSync(`/sys/class/net/${iface}/operstate`, 'utf8').trim();
    return st === 'up' || st === 'unknown';
  } catch {
    return false;
  }
}

/**
 * keepalived's weight rule: weight > 0 is added while the object is up, weight < 0 while it is
 * down; weight 0 puts the instance in FAULT while the object is down.
 */
export function weightEffect(up: boolean, weight: number): { delta: number; fault: boolean } {
  if (weight === 0) return { delta: 0, fault: !up };
  if (weight > 0) return { delta: up ? weight : 0, fault: false };
  return { delta: up ? 0 : weight, fault: false };
}
