// The director daemon of one network namespace: the shell around the director's core
// (director.ts) with the control socket, the HTTP endpoint and keepalived's notifications. The
// core runs on the daemon's thread, or with `coreThread` on a thread of its own (core-thread.ts).

import { setPriority } from 'node:os';
import type { Ipvs } from '../core/ipvs.js';
import type { ConnsJson } from '../http/api.js';
import { type Log, asLog, createLog, type Logger } from './log.js';
import { type HttpEndpoint, isLoopback, notLoopbackWarning, parseHttpSpec } from '../http/endpoint.js';
import type { HttpServer } from '../http/server.js';
import { Observers } from '../http/observers.js';
import { keepalivedSocket } from '../ha/director.js';
import { CoreThread } from './core-thread.js';
import { type CoreStatus, Director } from './director.js';
import type { EngineName, EngineStatus } from './engine.js';
import { KeepalivedFollow } from './keepalived-follow.js';
import { netnsId, socketPath } from './paths.js';
import type { AdmReply, Request } from './protocol.js';
import { ControlServer, type Peer, type ReplyStream } from './server.js';
import { watchNetns } from './netns-watch.js';
import { syncMetrics } from '../sync/metrics.js';

/**
 * The daemon's thread's nice value once the core has a thread of its own, which keeps the
 * process's (Linux keeps a nice value per thread). Where the two share a core, the scheduler
 * then runs the frame loop ahead of a scrape's formatting, as the kernel runs IPVS in softirq
 * ahead of ipvsadm: at 10 the control plane has about a tenth of a core that the loop saturates
 * (CFS weights 110 against 1024), and all of it when the loop is idle.
 */
export const CONTROL_NICE = 10;

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
  /**
   * Run the core and the engine's frame loop on a thread of their own (core-thread.ts); the
   * handle's `ipvs` is then the daemon thread's copy of the rules, without conns. Default false.
   */
  coreThread?: boolean;
  /**
   * With coreThread, the nice value the daemon's thread (the calling thread) takes once the core
   * thread runs; `tsvs daemon` gives CONTROL_NICE. Unset: the caller's thread is left as it is.
   */
  controlNice?: number;
}

export interface DaemonHandle {
  /** The core, or with coreThread the copy of its rules (counters as of the last settle). */
  readonly ipvs: Ipvs;
  /** The daemon's clock, ms since it started: the `now` its core and engine are given. */
  readonly now: () => number;
  readonly socket: string;
  /** Where checkers, VRRP and the sync daemon register what /metrics and the API show. */
  readonly observers: Observers;
  /** The dashboard's URL, or null without --http. */
  readonly httpUrl: string | null;
  readonly log: Log;
  /** Brings the handle's `ipvs` up to date with a core on its own thread (a no-op otherwise). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export interface DaemonStatus extends CoreStatus {
  pid: number;
  netns: string;
  /** Where the daemon logs: a file path, or 'stderr'. */
  log?: string;
  /** The HTTP endpoint's URL when one is served. */
  http?: string;
  /** Whether the core and the frame loop run on a thread of their own. */
  coreThread: boolean;
}

/** What the shell needs of the core, on this thread (Director) or another (CoreThread). */
interface CorePlane {
  readonly ipvs: Ipvs;
  readonly now: () => number;
  readonly engineName: EngineName;
  adm(argv: string[], argv0: string, stdin: string, uid: number | null, stream?: ReplyStream): Promise<AdmReply>;
  sysctl(argv: string[], file?: string): AdmReply | Promise<AdmReply>;
  setVrrpVips(addrs: string[]): void | Promise<void>;
  settle(): Promise<void>;
  status(): CoreStatus;
  conns?(limit: number): Promise<ConnsJson>;
  forget(): void | Promise<void>;
  stop(): Promise<EngineStatus>;
}

/** Starts a daemon for this namespace and resolves once its socket listens. */
export async function startDaemon(o: DaemonOptions): Promise<DaemonHandle> {
  const log: Log = o.log ? asLog(o.log) : createLog();
  const id = netnsId();
  let stop: () => Promise<void> = async () => {};
  const core: CorePlane = o.coreThread
    ? await CoreThread.start(
        {
          engine: o.engine,
          logLevel: log.level,
          ...(o.rulesFile !== undefined ? { rulesFile: o.rulesFile } : {}),
          ...(o.stateFile !== undefined ? { stateFile: o.stateFile } : {}),
          ...(o.connMemMax !== undefined ? { connMemMax: o.connMemMax } : {}),
        },
        log,
        (why) => {
          // The data plane is gone: say so and leave, so that a supervisor starts a whole
          // director again from the state file instead of one that accepts rules and forwards nothing.
          log.error(`${why}; the director stops`);
          void stop().then(() => o.onExit?.(1));
        },
      )
    : await Director.open({
        engine: o.engine,
        log,
        ...(o.rulesFile !== undefined ? { rulesFile: o.rulesFile } : {}),
        ...(o.stateFile !== undefined ? { stateFile: o.stateFile } : {}),
        ...(o.connMemMax !== undefined ? { connMemMax: o.connMemMax } : {}),
      }).then(async (d) => {
        await d.start();
        return d;
      });
  if (o.coreThread && o.controlNice !== undefined) {
    try {
      // The calling thread only: the core thread, started above, keeps its nice value.
      setPriority(0, o.controlNice);
    } catch (e) {
      log.warn(
        `the daemon's thread could not lower its priority to nice ${o.controlNice} (${(e as Error).message}); a scrape then competes with the frame loop as an equal`,
      );
    }
  }
  const observers = new Observers();
  observers.addMetrics({ collect: (x) => syncMetrics(x, core.status().sync ?? []) });
  const keepalived = new KeepalivedFollow(keepalivedSocket(socketPath(o.runDir, id)), observers);

  let http: HttpServer | null = null;
  let control: ControlServer | null = null;
  const status = (): DaemonStatus => {
    const st = core.status();
    const drops = { ...st.drops };
    for (const [k, v] of Object.entries(control?.drops ?? {})) if (v > 0) drops[`control_${k}`] = v;
    return {
      ...st,
      drops,
      pid: process.pid,
      netns: id,
      coreThread: o.coreThread === true,
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
      director: {
        ipvs: core.ipvs,
        now: core.now,
        status,
        observers,
        settle: () => core.settle(),
        ...(core.conns ? { conns: (limit: number) => core.conns!(limit) } : {}),
      },
      log,
    });
    try {
      await http.listen();
    } catch (e) {
      await core.stop();
      throw e;
    }
    if (!isLoopback(ep.host)) {
      log.warn(notLoopbackWarning(http.url));
    }
  }

  const handle = async (req: Request, peer: Peer, stream: ReplyStream): Promise<unknown> => {
    switch (req.op) {
      case 'adm':
        return core.adm(req.argv, req.argv0, req.stdin, peer.uid ?? null, stream);
      case 'status':
        if (o.coreThread) await core.settle();
        return status();
      case 'sysctl':
        return core.sysctl(req.argv, req.file);
      case 'ping':
        return { ok: true, pid: process.pid };
      case 'vrrp-vips':
        await core.setVrrpVips(req.addrs);
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
  const started = status();
  log.info(
    `director of netns ${id} started: engine ${core.engineName}${started.loadError ? ' (NOT LOADED)' : ''}${o.coreThread ? ' on a core thread' : ''}, control socket ${server.path}, pid ${process.pid}`,
    {
      netns: id,
      engine: core.engineName,
      interfaces: started.interfaces,
      socket: server.path,
      http: http?.url ?? null,
      services: started.services,
      coreThread: o.coreThread === true,
    },
  );

  const unwatch =
    o.watchNamespace === false
      ? () => {}
      : watchNetns(id, () => {
          log.warn(`network namespace ${id} is gone; exiting`);
          // The kernel's rules die with their namespace; so do ours.
          void Promise.resolve(core.forget())
            .catch(() => {})
            .then(() => stop())
            .then(() => o.onExit?.(0));
        });

  let stopping: Promise<void> | null = null;
  stop = (): Promise<void> => {
    stopping ??= (async () => {
      unwatch();
      keepalived.stop();
      await http?.close();
      await server.close();
      const last = await core.stop().catch((): EngineStatus | null => null);
      log.info(`director of netns ${id} stopped`, {
        netns: id,
        engine: core.engineName,
        interfaces: last?.interfaces ?? [],
        drops: last?.drops ?? {},
      });
    })();
    return stopping;
  };

  return {
    ipvs: core.ipvs,
    now: core.now,
    socket: server.path,
    observers,
    httpUrl: http?.url ?? null,
    log,
    settle: () => (o.coreThread ? core.settle() : Promise.resolve()),
    stop,
  };
}
