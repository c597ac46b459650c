// The director daemon of one network namespace: the IPVS core, its clock, the control socket
// and the engine. `now` is performance.now() in ms; the core is ticked every second (the
// estimator needs its 2 s steps, expiry has 100 ms resolution).

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Ipvs } from '../core/ipvs.js';
import { type AdmRunner, loadAdmRunner } from './adm-runner.js';
import { type Engine, type EngineName, type EngineStatus, NullEngine } from './engine.js';
import { asLog, createLog, type Log, type Logger } from './log.js';
import { type HttpEndpoint, HttpServer, isLoopback, parseHttpSpec } from '../http/server.js';
import { Observers } from '../http/observers.js';
import { DirectorEvents } from './events.js';
import { netnsId, socketPath } from './paths.js';
import type { AdmReply, Request } from './protocol.js';
import { ControlServer, type Peer } from './server.js';
import { watchNetns } from './netns-watch.js';

export interface DaemonOptions {
  engine: EngineName;
  runDir: string;
  /** An `ipvsadm -S` file restored at start. */
  rulesFile?: string;
  /** A plain Logger logs everything at info; a Log (createLog) keeps levels and fields. */
  log?: Logger;
  /** Where `log` writes, for `tsvs status` (a file when detached). */
  logFile?: string;
  /** Serve /metrics, the JSON API and the dashboard here (`[ADDR:]PORT` or parsed). */
  http?: string | HttpEndpoint;
  /** Leave when the namespace's name disappears (default true). */
  watchNamespace?: boolean;
  onExit?: (code: number) => void;
}

export interface DaemonHandle {
  readonly ipvs: Ipvs;
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
  /** Where the daemon logs: a file path, or 'stderr'. */
  log?: string;
  /** The HTTP endpoint's URL when one is served. */
  http?: string;
}

async function createEngine(name: EngineName, log: Logger): Promise<Engine> {
  const path = name === 'proxy' ? '../engine/proxy/index.js' : '../engine/packet/index.js';
  const factory = name === 'proxy' ? 'createProxyEngine' : 'createPacketEngine';
  try {
    const m = (await import(new URL(path, import.meta.url).href)) as Record<string, (log: Logger) => Engine>;
    if (typeof m[factory] === 'function') return m[factory](log);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
  }
  return new NullEngine(
    name,
    `the ${name} engine is not built yet in this version: rules are kept but no traffic is forwarded`,
    log,
  );
}

/** Starts a daemon for this namespace and resolves once its socket listens. */
export async function startDaemon(o: DaemonOptions): Promise<DaemonHandle> {
  const log: Log = o.log ? asLog(o.log) : createLog();
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const ipvs = new Ipvs({ now: 0 });
  const runAdm: AdmRunner = await loadAdmRunner();
  const engine = await createEngine(o.engine, log);
  const id = netnsId();
  let syncNoted = false;
  const observers = new Observers();
  const events = new DirectorEvents(ipvs, log, () => engine.status().drops);

  const adm = async (argv: string[], argv0: string, stdin: string, peer?: Peer): Promise<AdmReply> => {
    // Before: what the engine's workers have not reported yet (conns they scheduled, bytes,
    // states) reaches the core, so that a listing is up to date. After: the engine follows the
    // new rules before tsvsadm returns.
    await engine.settle?.();
    const reply = await runAdm(argv, argv0, { ipvs, now: now(), stdin });
    await engine.settle?.();
    events.command(argv0, argv, peer?.uid ?? null, reply);
    if ((ipvs.rules.master || ipvs.rules.backup) && !syncNoted) {
      syncNoted = true;
      log.warn('sync daemon settings stored; the sync protocol is not implemented yet, so no sync daemon runs');
    } else if (!ipvs.rules.master && !ipvs.rules.backup) syncNoted = false;
    return reply;
  };

  if (o.rulesFile) {
    const text = readFileSync(o.rulesFile, 'utf8');
    const r = await adm(['-R'], 'ipvsadm', text);
    if (r.code !== 0) {
      throw new Error(`rules file ${o.rulesFile} was not restored (exit ${r.code}): ${r.stderr.trim()}`);
    }
    log.info(`restored ${ipvs.rules.serviceCount} service(s) from ${o.rulesFile}`);
  }

  await engine.start(ipvs, now);
  let http: HttpServer | null = null;
  const status = (): DaemonStatus => ({
    ...engine.status(),
    pid: process.pid,
    netns: id,
    services: ipvs.rules.serviceCount,
    conns: ipvs.connCount(),
    log: o.logFile ?? log.target,
    ...(http ? { http: http.url } : {}),
  });
  if (o.http !== undefined) {
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
      log.warn(
        `the HTTP endpoint ${http.url} is not on loopback: whoever reaches it reads the rules, real servers and traffic figures; bind it to 127.0.0.1 unless that is meant`,
      );
    }
  }
  const ticker = setInterval(() => ipvs.tick(now()), 1000);
  events.start();
  let stopping: Promise<void> | null = null;

  const handle = async (req: Request, peer: Peer): Promise<unknown> => {
    switch (req.op) {
      case 'adm':
        return adm(req.argv, req.argv0, req.stdin, peer);
      case 'status':
        return status();
      case 'ping':
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
  const started = engine.status();
  log.info(`director of netns ${id} started: engine ${engine.name}, control socket ${server.path}`, {
    netns: id,
    engine: engine.name,
    interfaces: started.interfaces,
    socket: server.path,
    http: http?.url ?? null,
    services: ipvs.rules.serviceCount,
  });

  const unwatch =
    o.watchNamespace === false
      ? () => {}
      : watchNetns(id, () => {
          log.warn(`network namespace ${id} is gone; exiting`);
          void stop().then(() => o.onExit?.(0));
        });

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      unwatch();
      clearInterval(ticker);
      events.stop();
      const last = engine.status();
      await http?.close();
      await server.close();
      await engine.stop();
      log.info(`director of netns ${id} stopped`, { netns: id, engine: engine.name, interfaces: last.interfaces, drops: last.drops });
    })();
    return stopping;
  };

  return { ipvs, socket: server.path, observers, httpUrl: http?.url ?? null, log, stop };
}
