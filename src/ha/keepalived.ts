// The keepalived process: reads the file, refuses it whole on any error, drives the
// director's rules through LvsManager, reloads on demand keeping the running configuration
// when the new file is bad, and shuts down as keepalived does (§B.5).
import { parseConfFile } from './conf/parse.js';
import type { ConfMessage, ConfNode } from './conf/node.js';
import type { HaLog } from './log.js';
import { lvsFromConf } from './lvs/config.js';
import { type AdmSink, LvsManager } from './lvs/manager.js';
import type { LvsConfig } from './lvs/types.js';
import type { KeepalivedStatus } from './status.js';

export interface LoadedConf {
  nodes: ConfNode[];
  lvs: LvsConfig;
  errors: ConfMessage[];
  warnings: ConfMessage[];
}

/**
 * The VRRP part (src/ha/vrrp, the ha-vrrp helper's) plugs in here: `check` adds its errors and
 * warnings to a load, the rest follow the process's life. Absent, or skipped with -C.
 */
export interface VrrpPart {
  check(nodes: ConfNode[]): { errors: ConfMessage[]; warnings: ConfMessage[] };
  start(nodes: ConfNode[]): Promise<void>;
  reload(nodes: ConfNode[]): Promise<void>;
  shutdown(): Promise<void>;
  status(): unknown[];
}

/** keepalived's message form: `(FILE: Line N) TEXT`. */
export function keepalivedMessage(m: ConfMessage): string {
  return `(${m.file}: Line ${m.line}) ${m.text}`;
}

export function loadConf(path: string, vrrp: VrrpPart | null): LoadedConf {
  const p = parseConfFile(path);
  const lvs = lvsFromConf(p.nodes);
  const errors = [...p.errors, ...lvs.errors];
  const warnings = [...p.warnings, ...lvs.warnings];
  // ── VRRP: its keywords are checked by the VRRP part (ha-vrrp). ──
  if (vrrp) {
    const v = vrrp.check(p.nodes);
    errors.push(...v.errors);
    warnings.push(...v.warnings);
  }
  return { nodes: p.nodes, lvs: lvs.config, errors, warnings };
}

export interface KeepalivedOptions {
  conf: string;
  checkers: boolean; // false with -P
  vrrp: VrrpPart | null; // null with -C, or until ha-vrrp wires it
  sink: AdmSink;
  log: HaLog;
}

export class Keepalived {
  private readonly lvs: LvsManager;
  private readonly startedAt = Date.now();
  private lastReload: KeepalivedStatus['lastReload'] = null;
  private warnings = 0;
  private current: LoadedConf | null = null;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: KeepalivedOptions) {
    this.lvs = new LvsManager(o.sink, o.log);
  }

  /** First load: a file with errors is refused (returns them) and nothing is applied. */
  async start(): Promise<ConfMessage[]> {
    const c = loadConf(this.o.conf, this.o.vrrp);
    this.report(c);
    if (c.errors.length) return c.errors;
    this.current = c;
    if (this.o.checkers) await this.lvs.apply(c.lvs);
    // ── VRRP start (ha-vrrp): after the virtual servers exist, as keepalived starts it. ──
    if (this.o.vrrp) await this.o.vrrp.start(c.nodes);
    this.o.log('info', `started with ${this.o.conf}: ${c.lvs.virtualServers.length} virtual server(s)`);
    return [];
  }

  /** SIGHUP: a bad file keeps the running configuration, and the log says why. */
  reload(): Promise<void> {
    const run = async (): Promise<void> => {
      const c = loadConf(this.o.conf, this.o.vrrp);
      this.report(c);
      if (c.errors.length) {
        const why = `${c.errors.length} error(s), first: ${keepalivedMessage(c.errors[0] as ConfMessage)}`;
        this.o.log('error', `reload refused, the running configuration stays: ${why}`);
        this.lastReload = { at: Date.now(), ok: false, why };
        return;
      }
      this.current = c;
      if (this.o.checkers) await this.lvs.apply(c.lvs);
      // ── VRRP reload (ha-vrrp). ──
      if (this.o.vrrp) await this.o.vrrp.reload(c.nodes);
      this.lastReload = { at: Date.now(), ok: true, why: 'reloaded' };
      this.o.log('info', `reloaded ${this.o.conf}: ${c.lvs.virtualServers.length} virtual server(s)`);
    };
    const p = this.busy.then(run, run);
    this.busy = p;
    return p;
  }

  /** SIGTERM: VRRP first (priority 0, VIPs removed), then the virtual servers it created. */
  async shutdown(): Promise<void> {
    await this.busy.catch(() => {});
    // ── VRRP shutdown (ha-vrrp). ──
    if (this.o.vrrp) await this.o.vrrp.shutdown();
    if (this.o.checkers) await this.lvs.shutdown();
    this.o.log('info', 'stopped');
  }

  status(): KeepalivedStatus {
    return {
      pid: process.pid,
      conf: this.o.conf,
      startedAt: this.startedAt,
      checkers: this.o.checkers,
      vrrp: this.o.vrrp !== null,
      lastReload: this.lastReload,
      warnings: this.warnings,
      virtualServers: this.lvs.status(),
      vrrpInstances: this.o.vrrp ? this.o.vrrp.status() : [],
    };
  }

  settled(): Promise<void> {
    return this.lvs.settled();
  }

  private report(c: LoadedConf): void {
    this.warnings = c.warnings.length;
    for (const w of c.warnings) this.o.log('warn', keepalivedMessage(w));
    for (const e of c.errors) this.o.log('error', keepalivedMessage(e));
  }
}
