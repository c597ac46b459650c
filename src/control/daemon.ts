// The director daemon of one network namespace: the IPVS core, its clock, the control socket
// and the engine. `now` is performance.now() in ms; the core is ticked every second (the
// estimator needs its 2 s steps, expiry has 100 ms resolution).

import { readFileSync, rmSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { TICK_MS } from '../core/conn/timer.js';
import { CONN_BYTES, DEFAULT_CONN_MEM_MAX, Defence, PAGE_SIZE } from '../core/defence.js';
import { Addr } from '../core/inet.js';
import { Ipvs } from '../core/ipvs.js';
import { SYSCTL_DEFS, SysctlTable } from '../core/sysctl.js';
import { bindSysctls } from '../core/sysctl-bind.js';
import { type AdmRunner, loadAdmRunner } from './adm-runner.js';
import { type EngineName, type EngineStatus, loadEngine } from './engine.js';
import { asLog, createLog, type Log, type Logger } from './log.js';
import { type HttpEndpoint, isLoopback, notLoopbackWarning, parseHttpSpec } from '../http/endpoint.js';
import type { HttpServer } from '../http/server.js';
import { Observers } from '../http/observers.js';
import { DirectorEvents } from './events.js';
import { keepalivedSocket } from '../ha/director.js';
import { KeepalivedFollow } from './keepalived-follow.js';
import { netnsId, socketPath } from './paths.js';
import type { AdmReply, Request } from './protocol.js';
import { ControlServer, type Peer, type ReplyStream } from './server.js';
import { readState, StateFile, writeAtomic } from './state.js';
import { runSysctl } from './sysctl-cmd.js';
import { watchNetns } from './netns-watch.js';
import { SyncDaemons, type SyncDaemonStatus } from '../sync/control.js';
import { syncMetrics } from '../sync/metrics.js';

/**
 * How often the daemon runs the core's timers (conn expiry, estimator, schedulers' upkeep) while
 * the table holds conns: every tick of the conn wheel, so that a conn expires within TICK_MS of
 * its time, and so that a second's expiries come in ten pieces. Once a second, 100 k conns
 * expiring a second at 10 M conns took 19-30 ms a tick, in which no frame was forwarded
 * (2026-12-07, in process); every 100 ms, 2.2 ms (at most 6).
 */
const CORE_TICK_MS = TICK_MS;
/** The same with no conn in the table: the estimator's 2 s period and the trash's 60 s need no more. */
const IDLE_TICK_MS = 1000;
/** The defences' period (drop_entry's scan, secure_tcp, the memory bound): the kernel's defense_work runs once a second. */
const DEFENCE_TICK_MS = 1000;

export interface DaemonOptions {
  engine: EngineName;
  runDir: string;
  /** An `ipvsadm -S` file restored at start (instead of the state file). */
  rulesFile?: string;
  /** The state file (state.ts): restored at start, rewritten after every change; none if absent. */
  stateFile?: string;
  /** A plain Logger logs everything at info; a Log (createLog) keeps levels and fields. */
  log?: Logger;
  /** Where `log` writes, for `tsvs status` (a file when detached). */
  logFile?: string;
  /** Serve /metrics, the JSON API and the dashboard here (`[ADDR:]PORT` or parsed). */
  http?: string | HttpEndpoint;
  /** Leave when the namespace's name disappears (default true). */
  watchNamespace?: boolean;
  onExit?: (code: number) => void;
  /** Bound of the conn table's memory in bytes (defence.ts); default DEFAULT_CONN_MEM_MAX. */
  connMemMax?: number;
}

export interface DaemonHandle {
  readonly ipvs: Ipvs;
  /** The daemon's clock, ms since it started: the `now` its core and engine are given. */
  readonly now: () => number;
  readonly socket: string;
  /** Where checkers, VRRP and the sync daemon register what /metrics and the API show. */
  readonly observers: Observers;
  /** The dashboard's URL, or null without --http. */
  readonly httpUrl: string | null;
  readonly log: Log;
  stop(): Promise<void>;
}

export interface DaemonStatus extends EngineStatus {
  pid: number;
  netns: string;
  services: number;
  conns: number;
  /** Most conns the conn table's memory bound allows. */
  maxConns: number;
  /** Where the daemon logs: a file path, or 'stderr'. */
  log?: string;
  /** The HTTP endpoint's URL when one is served. */
  http?: string;
  /** The sync daemons --start-daemon asked for, with their counters. */
  sync?: SyncDaemonStatus[];
  /** Why synced conns cannot be taken over by this engine, when that is so. */
  syncNote?: string;
}

/** Starts a daemon for this namespace and resolves once its socket listens. */
export async function startDaemon(o: DaemonOptions): Promise<DaemonHandle> {
  const log: Log = o.log ? asLog(o.log) : createLog();
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const connMemMax = o.connMemMax ?? DEFAULT_CONN_MEM_MAX;
  // Storage for as many conns as the bound allows, reserved (not touched) at start: the table
  // then never stops the data path to copy itself (ConnTable's growth note).
  const ipvs = new Ipvs({ now: 0, reserve: Math.floor(connMemMax / CONN_BYTES) });
  // sync_qlen_max defaults to the kernel's nr_free_buffer_pages() / 32.
  const sysctls = new SysctlTable({ sync_qlen_max: [Math.floor(totalmem() / PAGE_SIZE / 32)] });
  bindSysctls(ipvs, sysctls);
  const defence = new Defence(sysctls, connMemMax);
  ipvs.defence = defence;
  const runAdm: AdmRunner = await loadAdmRunner();
  const { engine, notes: loadNotes } = await loadEngine(o.engine, log);
  const id = netnsId();
  const state = o.stateFile ? new StateFile(o.stateFile) : null;
  // Any rule event marks the rules changed; the file is rewritten once per command.
  let changed = false;
  const mark = () => {
    changed = true;
  };
  ipvs.rules.listeners.push({
    serviceAdded: mark,
    serviceEdited: mark,
    serviceDeleted: mark,
    destAdded: mark,
    destEdited: mark,
    destDeleted: mark,
  });
  const saveState = async () => {
    if (!state || !changed) return;
    changed = false;
    const r = await runAdm(['-S', '-n'], 'ipvsadm', { ipvs, now: now(), stdin: '' });
    if (r.code !== 0) throw new Error(`the rules could not be listed for the state file: ${r.stderr.trim()}`);
    state.save(r.stdout);
  };
  const observers = new Observers();
  const events = new DirectorEvents(ipvs, log, () => engine.status().drops);
  const sync = new SyncDaemons(ipvs, now, (m) => log.info(m));
  observers.addMetrics({ collect: (x) => syncMetrics(x, sync.status()) });
  const keepalived = new KeepalivedFollow(keepalivedSocket(socketPath(o.runDir, id)), observers);

  const adm = async (argv: string[], argv0: string, stdin: string, peer?: Peer, stream?: ReplyStream): Promise<AdmReply> => {
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
    const { restoreFailures, ...reply } = await runAdm(argv, argv0, { ipvs, now: now(), clock: now, stdin, sink });
    if (streamed) {
      events.command(argv0, argv, peer?.uid ?? null, reply);
      return reply;
    }
    await engine.settle?.();
    // The client gets ipvsadm's bytes; the log says which line of a -R input failed.
    for (const f of restoreFailures ?? []) {
      log.warn(`${argv0} -R: input line ${f.line} failed (exit ${f.code}): ${JSON.stringify(f.text)}: ${f.message || 'no message'}`);
    }
    // Before the reply: a change tsvsadm reported done survives a crash that follows it.
    await saveState();
    events.command(argv0, argv, peer?.uid ?? null, reply);
    await sync.follow();
    return reply;
  };

  // Sysctls changed from their boot values, kept next to the rules in sysctl.d form.
  const sysctlFile = o.stateFile ? o.stateFile.replace(/\.rules$/, '.sysctl') : null;
  const savedSysctls = sysctlFile ? readState(sysctlFile) : null;
  if (savedSysctls !== null) {
    const r = runSysctl(sysctls, ['-q', '-p', sysctlFile!], savedSysctls);
    if (r.code !== 0) log.warn(`sysctls from ${sysctlFile} partly restored: ${r.stderr.trim()}`);
  }
  const saveSysctls = () => {
    if (!sysctlFile) return;
    const lines = SYSCTL_DEFS.filter((d) => !sysctls.isDefault(d.name)).map(
      (d) => `net.ipv4.vs.${d.name} = ${sysctls.text(d.name).replace(/\t/g, ' ')}\n`,
    );
    writeAtomic(sysctlFile, lines.join(''));
  };

  // The VIPs VRRP moves (vrrp-vips), kept next to the rules: a director restarted while
  // `tsvs keepalived` runs must not claim them on a backup before keepalived tells it again.
  const vrrpVipsFile = o.stateFile ? o.stateFile.replace(/\.rules$/, '.vrrp-vips') : null;
  const savedVips = vrrpVipsFile ? readState(vrrpVipsFile) : null;
  if (savedVips !== null) {
    const lines = savedVips.split('\n').filter((l) => l.trim() !== '');
    const good = lines.filter((l) => Addr.parse(l.trim()) !== null).map((l) => l.trim());
    if (good.length < lines.length) {
      log.warn(
        `${vrrpVipsFile}: ${lines.length - good.length} line(s) are not IP addresses and were skipped; tsvs keepalived rewrites the file`,
      );
    }
    engine.setVrrpVips?.(good);
    log.info(`restored ${good.length} VRRP VIP(s) from ${vrrpVipsFile}: the engine leaves them to VRRP`);
  }

  const saved = o.rulesFile ? readFileSync(o.rulesFile, 'utf8') : o.stateFile ? readState(o.stateFile) : null;
  if (saved !== null) {
    const from = o.rulesFile ?? o.stateFile!;
    if (!o.rulesFile) state!.loaded(saved);
    const r = await adm(['-R'], 'ipvsadm', saved);
    if (r.code !== 0) {
      throw new Error(`rules file ${from} was not restored (exit ${r.code}): ${r.stderr.trim()}`);
    }
    log.info(`restored ${ipvs.rules.serviceCount} service(s) from ${from}`);
  }

  await engine.start(ipvs, now);
  let http: HttpServer | null = null;
  let control: ControlServer | null = null;
  const status = (): DaemonStatus => {
    const st = engine.status();
    const notes = [...loadNotes, ...(st.notes ?? [])];
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
    for (const [k, v] of Object.entries(control?.drops ?? {})) if (v > 0) drops[`control_${k}`] = v;
    return {
      ...st,
      notes,
      drops,
      pid: process.pid,
      netns: id,
      services: ipvs.rules.serviceCount,
      conns: ipvs.connCount(),
      maxConns: defence.maxConns(),
      sync: sync.status(),
      ...(engine.name === 'proxy' && (ipvs.rules.master || ipvs.rules.backup)
        ? {
            syncNote:
              'the proxy engine syncs its conn table, but a backup cannot take over proxied connections (their sockets die with this process); use the packet engine for failover without resets',
          }
        : {}),
      log: o.logFile ?? log.target,
      ...(http ? { http: http.url } : {}),
    };
  };
  if (o.http !== undefined) {
    // Loaded only when asked for: a director without --http never loads node:http.
    const { HttpServer } = await import('../http/server.js');
    const ep = typeof o.http === 'string' ? parseHttpSpec(o.http) : o.http;
    http = new HttpServer({
      ...ep,
      director: { ipvs, now, status, observers, settle: engine.settle ? () => engine.settle!() : undefined },
      log,
    });
    try {
      await http.listen();
    } catch (e) {
      await engine.stop();
      throw e;
    }
    if (!isLoopback(ep.host)) {
      log.warn(notLoopbackWarning(http.url));
    }
  }
  // Every wheel tick while there are conns to expire; an empty table (an idle director) wakes
  // the daemon once a second, as before: ten wake-ups a second doubled its idle CPU (0.20 -> 0.43 %).
  let ticker: NodeJS.Timeout;
  const tick = () => {
    ipvs.tick(now());
    ticker = setTimeout(tick, ipvs.connCount() > 0 ? CORE_TICK_MS : IDLE_TICK_MS);
  };
  ticker = setTimeout(tick, IDLE_TICK_MS);
  const defenceTicker = setInterval(() => ipvs.defenceTick(freemem(), Math.random), DEFENCE_TICK_MS);
  events.start();
  let stopping: Promise<void> | null = null;

  const handle = async (req: Request, peer: Peer, stream: ReplyStream): Promise<unknown> => {
    switch (req.op) {
      case 'adm':
        return adm(req.argv, req.argv0, req.stdin, peer, stream);
      case 'status':
        return status();
      case 'sysctl': {
        const r = runSysctl(sysctls, req.argv, req.file);
        saveSysctls();
        return r;
      }
      case 'ping':
        return { ok: true, pid: process.pid };
      case 'vrrp-vips':
        engine.setVrrpVips?.(req.addrs);
        if (vrrpVipsFile) writeAtomic(vrrpVipsFile, req.addrs.map((a) => `${a}\n`).join(''));
        return { ok: true, pid: process.pid };
      case 'stop':
        setImmediate(() => {
          void stop().then(() => o.onExit?.(0));
        });
        return { ok: true };
    }
  };

  const server = new ControlServer(socketPath(o.runDir, id), handle, log);
  await server.listen();
  control = server;
  keepalived.start();
  const started = engine.status();
  log.info(
    `director of netns ${id} started: engine ${engine.name}${started.loadError ? ' (NOT LOADED)' : ''}, control socket ${server.path}, pid ${process.pid}`,
    {
      netns: id,
      engine: engine.name,
      interfaces: started.interfaces,
      socket: server.path,
      http: http?.url ?? null,
      services: ipvs.rules.serviceCount,
    },
  );

  const unwatch =
    o.watchNamespace === false
      ? () => {}
      : watchNetns(id, () => {
          log.warn(`network namespace ${id} is gone; exiting`);
          // The kernel's rules die with their namespace; so do ours.
          if (o.stateFile) rmSync(o.stateFile, { force: true });
          if (sysctlFile) rmSync(sysctlFile, { force: true });
          if (vrrpVipsFile) rmSync(vrrpVipsFile, { force: true });
          void stop().then(() => o.onExit?.(0));
        });

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      unwatch();
      clearTimeout(ticker);
      clearInterval(defenceTicker);
      keepalived.stop();
      events.stop();
      sync.stop();
      const last = engine.status();
      await http?.close();
      await server.close();
      await engine.stop();
      log.info(`director of netns ${id} stopped`, { netns: id, engine: engine.name, interfaces: last.interfaces, drops: last.drops });
    })();
    return stopping;
  };

  return { ipvs, now, socket: server.path, observers, httpUrl: http?.url ?? null, log, stop };
}
