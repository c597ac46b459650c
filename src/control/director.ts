// The director's core side: the IPVS core, its sysctls and defences, the engine, the sync
// daemons, the timers, and the tsvsadm commands that change or read them. It runs either on the
// daemon's thread (the proxy engine, tests, embedders) or on a thread of its own
// (core-thread.ts), where the packet engine's frame loop then never waits for the control
// socket, a scrape or the dashboard. daemon.ts is the shell around it: sockets, HTTP, VRRP.

import { hugePageAdvice } from '../sys/hugepages.js';
import { readFileSync, rmSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { TICK_MS } from '../core/conn/timer.js';
import { CONN_BYTES, DEFAULT_CONN_MEM_MAX, Defence, PAGE_SIZE } from '../core/defence.js';
import { directorCore } from '../core/director-core.js';
import { Addr } from '../core/inet.js';
import { Ipvs } from '../core/ipvs.js';
import { SYSCTL_DEFS, SysctlTable } from '../core/sysctl.js';
import { SyncDaemons, type SyncDaemonStatus } from '../sync/control.js';
import { type AdmRunner, loadAdmRunner } from './adm-runner.js';
import { type EngineName, type EngineStatus, loadEngine } from './engine.js';
import { DirectorEvents } from './events.js';
import type { Log } from './log.js';
import type { AdmReply } from './protocol.js';
import type { ReplyStream } from './server.js';
import { readState, StateFile, writeAtomic } from './state.js';
import { runSysctl } from './sysctl-cmd.js';

/**
 * How often the core's timers run (conn expiry, estimator, schedulers' upkeep) while the table
 * holds conns: every tick of the conn wheel, so that a conn expires within TICK_MS of its time,
 * and so that a second's expiries come in ten pieces. Once a second, 100 k conns expiring a
 * second at 10 M conns took 19-30 ms a tick, in which no frame was forwarded (2026-12-07, in
 * process); every 100 ms, 2.2 ms (at most 6).
 */
const CORE_TICK_MS = TICK_MS;
/** The same with no conn in the table: the estimator's 2 s period and the trash's 60 s need no more. */
const IDLE_TICK_MS = 1000;
/** The defences' period (drop_entry's scan, secure_tcp, the memory bound): the kernel's defense_work runs once a second. */
const DEFENCE_TICK_MS = 1000;

export interface DirectorOptions {
  engine: EngineName;
  /** An `ipvsadm -S` file restored at start (instead of the state file). */
  rulesFile?: string;
  /** The state file (state.ts): restored at start, rewritten after every change; none if absent. */
  stateFile?: string;
  log: Log;
  /** Bound of the conn table's memory in bytes (defence.ts); default DEFAULT_CONN_MEM_MAX. */
  connMemMax?: number;
}

/** What the core side knows of the director's status (the shell adds its sockets' part). */
export interface CoreStatus extends EngineStatus {
  services: number;
  conns: number;
  /** Most conns the conn table's memory bound allows. */
  maxConns: number;
  /** Bytes the conn table holds (typed arrays and index). */
  connTableBytes: number;
  /** The sync daemons --start-daemon asked for, with their counters. */
  sync?: SyncDaemonStatus[];
  /** Why synced conns cannot be taken over by this engine, when that is so. */
  syncNote?: string;
}

export class Director {
  readonly now: () => number;
  /** Rule events so far: a command that changed the rules moved it (core-thread.ts mirrors them). */
  ruleEvents = 0;
  private ticker: NodeJS.Timeout | null = null;
  private defenceTicker: NodeJS.Timeout | null = null;
  private changed = false;
  private stopping: Promise<EngineStatus> | null = null;
  private readonly sysctlFile: string | null;
  private readonly vrrpVipsFile: string | null;

  private constructor(
    readonly ipvs: Ipvs,
    readonly sysctls: SysctlTable,
    private readonly defence: Defence,
    private readonly engine: Awaited<ReturnType<typeof loadEngine>>['engine'],
    private readonly loadNotes: string[],
    private readonly runAdm: AdmRunner,
    private readonly events: DirectorEvents,
    readonly sync: SyncDaemons,
    private readonly state: StateFile | null,
    private readonly o: DirectorOptions,
    now: () => number,
  ) {
    this.now = now;
    const mark = () => {
      this.changed = true;
      this.ruleEvents++;
    };
    ipvs.rules.listeners.push({
      serviceAdded: mark,
      serviceEdited: mark,
      serviceDeleted: mark,
      destAdded: mark,
      destEdited: mark,
      destDeleted: mark,
    });
    // Sysctls changed from their boot values and the VIPs VRRP moves sit next to the rules.
    this.sysctlFile = o.stateFile ? o.stateFile.replace(/\.rules$/, '.sysctl') : null;
    this.vrrpVipsFile = o.stateFile ? o.stateFile.replace(/\.rules$/, '.vrrp-vips') : null;
  }

  /** Loads the engine and restores sysctls, VRRP VIPs and rules; nothing forwards until start(). */
  static async open(o: DirectorOptions): Promise<Director> {
    const log = o.log;
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const connMemMax = o.connMemMax ?? DEFAULT_CONN_MEM_MAX;
    // Storage for as many conns as the bound allows, reserved (not touched) at start: the table
    // then never stops the data path to copy itself (ConnTable's growth note).
    const { ipvs, sysctls, defence } = directorCore({
      reserve: Math.floor(connMemMax / CONN_BYTES),
      connMemMax,
      // sync_qlen_max defaults to the kernel's nr_free_buffer_pages() / 32.
      sysctlDefaults: { sync_qlen_max: [Math.floor(totalmem() / PAGE_SIZE / 32)] },
    });
    const runAdm = await loadAdmRunner();
    const { engine, notes } = await loadEngine(o.engine, log);
    // The packet engine's director may hold millions of conns: their storage in huge pages
    // (sys/hugepages.ts). The proxy engine does not load koffi for this.
    if (engine.name === 'packet') {
      const advice = hugePageAdvice((m) => log.warn(m));
      if (advice) ipvs.adviseConnStorage(advice);
    }
    const events = new DirectorEvents(ipvs, log, () => engine.status().drops);
    const sync = new SyncDaemons(ipvs, now, (m) => log.info(m));
    const state = o.stateFile ? new StateFile(o.stateFile) : null;
    const d = new Director(ipvs, sysctls, defence, engine, notes, runAdm, events, sync, state, o, now);
    await d.restore();
    return d;
  }

  private async restore(): Promise<void> {
    const { o, engine } = this;
    const log = o.log;
    const saved = this.sysctlFile ? readState(this.sysctlFile) : null;
    if (saved !== null) {
      const r = runSysctl(this.sysctls, ['-q', '-p', this.sysctlFile!], saved);
      if (r.code !== 0) log.warn(`sysctls from ${this.sysctlFile} partly restored: ${r.stderr.trim()}`);
    }
    // A director restarted while `tsvs keepalived` runs must not claim the VRRP VIPs on a
    // backup before keepalived tells it again.
    const savedVips = this.vrrpVipsFile ? readState(this.vrrpVipsFile) : null;
    if (savedVips !== null) {
      const lines = savedVips.split('\n').filter((l) => l.trim() !== '');
      const good = lines.filter((l) => Addr.parse(l.trim()) !== null).map((l) => l.trim());
      if (good.length < lines.length) {
        log.warn(
          `${this.vrrpVipsFile}: ${lines.length - good.length} line(s) are not IP addresses and were skipped; tsvs keepalived rewrites the file`,
        );
      }
      engine.setVrrpVips?.(good);
      log.info(`restored ${good.length} VRRP VIP(s) from ${this.vrrpVipsFile}: the engine leaves them to VRRP`);
    }
    const rules = o.rulesFile ? readFileSync(o.rulesFile, 'utf8') : o.stateFile ? readState(o.stateFile) : null;
    if (rules !== null) {
      const from = o.rulesFile ?? o.stateFile!;
      if (!o.rulesFile) this.state!.loaded(rules);
      const r = await this.adm(['-R'], 'ipvsadm', rules, null);
      if (r.code !== 0) {
        throw new Error(`rules file ${from} was not restored (exit ${r.code}): ${r.stderr.trim()}`);
      }
      log.info(`restored ${this.ipvs.rules.serviceCount} service(s) from ${from}`);
    }
  }

  get engineName(): EngineName {
    return this.engine.name;
  }

  /** Starts the engine and the timers. */
  async start(): Promise<void> {
    const { ipvs } = this;
    await this.engine.start(ipvs, this.now);
    // Every wheel tick while there are conns to expire; an empty table (an idle director) wakes
    // once a second: ten wake-ups a second doubled an idle director's CPU (0.20 -> 0.43 %).
    const tick = () => {
      ipvs.tick(this.now());
      this.ticker = setTimeout(tick, ipvs.connCount() > 0 ? CORE_TICK_MS : IDLE_TICK_MS);
    };
    this.ticker = setTimeout(tick, IDLE_TICK_MS);
    this.defenceTicker = setInterval(() => ipvs.defenceTick(freemem(), Math.random), DEFENCE_TICK_MS);
    this.events.start();
  }

  /** One tsvsadm command against the live state; `stream` takes a long listing in parts. */
  async adm(argv: string[], argv0: string, stdin: string, uid: number | null, stream?: ReplyStream): Promise<AdmReply> {
    const { engine, ipvs, o } = this;
    // Before: what the engine's workers have not reported yet (conns they scheduled, bytes,
    // states) reaches the core, so that a listing is up to date. After: the engine follows the
    // new rules before tsvsadm returns.
    await engine.settle?.();
    // A long -L -c goes out in parts, and the control server lets the next command start once
    // the first is sent (server.ts): a listing changes nothing, so none of the after-steps below.
    let streamed = false;
    const sink = stream
      ? (part: string) => {
          streamed = true;
          return stream(part);
        }
      : undefined;
    const { restoreFailures, ...reply } = await this.runAdm(argv, argv0, { ipvs, now: this.now(), clock: this.now, stdin, sink });
    if (streamed) {
      this.events.command(argv0, argv, uid, reply);
      return reply;
    }
    await engine.settle?.();
    // The client gets ipvsadm's bytes; the log says which line of a -R input failed.
    for (const f of restoreFailures ?? []) {
      o.log.warn(`${argv0} -R: input line ${f.line} failed (exit ${f.code}): ${JSON.stringify(f.text)}: ${f.message || 'no message'}`);
    }
    // Before the reply: a change tsvsadm reported done survives a crash that follows it.
    await this.saveState();
    this.events.command(argv0, argv, uid, reply);
    await this.sync.follow();
    return reply;
  }

  private async saveState(): Promise<void> {
    if (!this.state || !this.changed) return;
    this.changed = false;
    const r = await this.runAdm(['-S', '-n'], 'ipvsadm', { ipvs: this.ipvs, now: this.now(), stdin: '' });
    if (r.code !== 0) throw new Error(`the rules could not be listed for the state file: ${r.stderr.trim()}`);
    this.state.save(r.stdout);
  }

  /** `tsvs sysctl`; changed values are kept in sysctl.d form next to the rules. */
  sysctl(argv: string[], file?: string): AdmReply {
    const r = runSysctl(this.sysctls, argv, file);
    if (this.sysctlFile) {
      const lines = SYSCTL_DEFS.filter((d) => !this.sysctls.isDefault(d.name)).map(
        (d) => `net.ipv4.vs.${d.name} = ${this.sysctls.text(d.name).replace(/\t/g, ' ')}\n`,
      );
      writeAtomic(this.sysctlFile, lines.join(''));
    }
    return r;
  }

  setVrrpVips(addrs: string[]): void {
    this.engine.setVrrpVips?.(addrs);
    if (this.vrrpVipsFile) writeAtomic(this.vrrpVipsFile, addrs.map((a) => `${a}\n`).join(''));
  }

  /** Resolves once the engine's workers have reported what they hold (the proxy engine). */
  async settle(): Promise<void> {
    await this.engine.settle?.();
  }

  status(): CoreStatus {
    const { ipvs, sysctls, defence, engine } = this;
    const st = engine.status();
    const notes = [...this.loadNotes, ...(st.notes ?? [])];
    const idle: string[] = [];
    for (const d of SYSCTL_DEFS) {
      if (d.use !== 'none') continue;
      const v = sysctls.text(d.name);
      if (sysctls.isDefault(d.name)) idle.push(d.name);
      else notes.push(`net.ipv4.vs.${d.name} = ${v} is stored but not acted on: ${d.why ?? ''}`);
    }
    notes.push(`sysctls not acted on by this engine (at their defaults): ${idle.join(', ')}`);
    if (defence.nomem || defence.dropEntryActive || defence.secureTcpActive) {
      notes.push(
        `defence: ${defence.availPages} pages available (amemthresh ${sysctls.int('amemthresh')})` +
          `${defence.dropEntryActive ? ', drop_entry active' : ''}${defence.secureTcpActive ? ', secure_tcp active' : ''}`,
      );
    }
    const drops = { ...st.drops };
    for (const [k, v] of Object.entries(defence.counters)) if (v > 0) drops[`defence_${k}`] = v;
    return {
      ...st,
      notes,
      drops,
      services: ipvs.rules.serviceCount,
      conns: ipvs.connCount(),
      maxConns: defence.maxConns(),
      connTableBytes: ipvs.connTableBytes(),
      sync: this.sync.status(),
      ...(engine.name === 'proxy' && (ipvs.rules.master || ipvs.rules.backup)
        ? {
            syncNote:
              'the proxy engine syncs its conn table, but a backup cannot take over proxied connections (their sockets die with this process); use the packet engine for failover without resets',
          }
        : {}),
    };
  }

  /** The namespace is gone: the kernel's rules die with it, and so do ours. */
  forget(): void {
    for (const f of [this.o.stateFile, this.sysctlFile, this.vrrpVipsFile]) if (f) rmSync(f, { force: true });
  }

  /** Stops timers, sync and engine; resolves with the engine's last status, for the log. */
  stop(): Promise<EngineStatus> {
    this.stopping ??= (async () => {
      if (this.ticker) clearTimeout(this.ticker);
      if (this.defenceTicker) clearInterval(this.defenceTicker);
      this.events.stop();
      this.sync.stop();
      const last = this.engine.status();
      await this.engine.stop();
      return last;
    })();
    return this.stopping;
  }
}
