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
import { type SyncDaemonConf, SyncFollower, syncDaemonFromConf } from './sync/follow.js';

export interface LoadedConf {
  nodes: ConfNode[];
  lvs: LvsConfig;
  /** global_defs' lvs_sync_daemon, or null. */
  sync: SyncDaemonConf | null;
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
  /** Called on every instance's state change (lvs_sync_daemon follows its instance). */
  onTransition?(cb: (s: { name: string; state: string }) => void): void;
}

/** keepalived's message form: `(FILE: Line N) TEXT`. */
export function keepalivedMessage(m: ConfMessage): string {
  return `(${m.file}: Line ${m.line}) ${m.text}`;
}

export function loadConf(path: string, vrrp: VrrpPart | null): LoadedConf {
  const p = parseConfFile(path);
  const lvs = lvsFromConf(p.nodes);
  const sync = syncDaemonFromConf(p.nodes);
  const errors = [...p.errors, ...lvs.errors, ...sync.errors];
  const warnings = [...p.warnings, ...lvs.warnings];
  // ── VRRP: its keywords are checked by the VRRP part (ha-vrrp). ──
  if (vrrp) {
    const v = vrrp.check(p.nodes);
    errors.push(...v.errors);
    warnings.push(...v.warnings);
  }
  return { nodes: p.nodes, lvs: lvs.config, sync: sync.conf, errors, warnings };
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

  private ready = false;
  private readonly syncDaemons: SyncFollower;
  /** The lvs_sync_daemon the director's sync daemons follow now. */
  private syncConf: SyncDaemonConf | null = null;

  constructor(private readonly o: KeepalivedOptions) {
    this.lvs = new LvsManager(o.sink, o.log);
    this.syncDaemons = new SyncFollower(o.sink, (level, msg) => o.log(level, msg));
    o.vrrp?.onTransition?.((s) => {
      const c = this.syncConf;
      if (c && c.instance === s.name) void this.syncDaemons.follow(c, SyncFollower.wanted(s.state));
    });
  }

  /**
   * lvs_sync_daemon: the director's sync daemons as the instance's state wants them, and
   * nothing when the file has none. The VRRP process runs them, so not with -C.
   */
  private async followSync(c: SyncDaemonConf | null): Promise<void> {
    if (!this.o.vrrp) return;
    const old = this.syncConf;
    if (old && (!c || JSON.stringify({ ...old, line: 0 }) !== JSON.stringify({ ...c, line: 0 }))) await this.syncDaemons.stop(old);
    this.syncConf = c;
    if (!c) return;
    const st = c.instance
      ? ((this.o.vrrp.status() as { name: string; state: string }[]).find((x) => x.name === c.instance)?.state ?? 'BACKUP')
      : null;
    await this.syncDaemons.follow(c, SyncFollower.wanted(st));
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
    await this.followSync(c.sync);
    this.ready = true;
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
      await this.followSync(c.sync);
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
    // ── VRRP shutdown (ha-vrrp), after the sync daemons it ran. ──
    await this.followSync(null);
    if (this.o.vrrp) await this.o.vrrp.shutdown();
    if (this.o.checkers) await this.lvs.shutdown();
    this.o.log('info', 'stopped');
  }

  status(): KeepalivedStatus {
    return {
      pid: process.pid,
      conf: this.o.conf,
      startedAt: this.startedAt,
      ready: this.ready,
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
