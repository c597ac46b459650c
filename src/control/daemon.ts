// The director daemon of one network namespace: the IPVS core, its clock, the control socket
// and the engine. `now` is performance.now() in ms; the core is ticked every second (the
// estimator needs its 2 s steps, expiry has 100 ms resolution).

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Ipvs } from '../core/ipvs.js';
import { type AdmRunner, loadAdmRunner } from './adm-runner.js';
import { type Engine, type EngineName, type EngineStatus, NullEngine } from './engine.js';
import { type Logger, stderrLogger } from './log.js';
import { netnsId, socketPath } from './paths.js';
import type { AdmReply, Request } from './protocol.js';
import { ControlServer } from './server.js';
import { watchNetns } from './netns-watch.js';
import { SyncDaemons, type SyncDaemonStatus } from '../sync/control.js';

export interface DaemonOptions {
  engine: EngineName;
  runDir: string;
  /** An `ipvsadm -S` file restored at start. */
  rulesFile?: string;
  log?: Logger;
  /** Leave when the namespace's name disappears (default true). */
  watchNamespace?: boolean;
  onExit?: (code: number) => void;
}

export interface DaemonHandle {
  readonly ipvs: Ipvs;
  readonly socket: string;
  stop(): Promise<void>;
}

export interface DaemonStatus extends EngineStatus {
  pid: number;
  netns: string;
  services: number;
  conns: number;
  /** The sync daemons --start-daemon asked for, with their counters. */
  sync: SyncDaemonStatus[];
  /** Why synced conns cannot be taken over by this engine, when that is so. */
  syncNote?: string;
}

async function createEngine(name: EngineName, log: Logger): Promise<Engine> {
  const path = name === 'proxy' ? '../engine/proxy/index.js' : '../engine/packet/index.js';
  const factory = name === 'proxy' ? 'createProxyEngine' : 'createPacketEngine';
  try {
    const m = (await import(new URL(path, import.meta.url).href)) as Record<string, () => Engine>;
    if (typeof m[factory] === 'function') return m[factory]();
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
  const log = o.log ?? stderrLogger;
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const ipvs = new Ipvs({ now: 0 });
  const runAdm: AdmRunner = await loadAdmRunner();
  const engine = await createEngine(o.engine, log);
  const id = netnsId();
  const sync = new SyncDaemons(ipvs, now, log);

  const adm = async (argv: string[], argv0: string, stdin: string): Promise<AdmReply> => {
    // Before: what the engine's workers have not reported yet (conns they scheduled, bytes,
    // states) reaches the core, so that a listing is up to date. After: the engine follows the
    // new rules before tsvsadm returns.
    await engine.settle?.();
    const reply = await runAdm(argv, argv0, { ipvs, now: now(), stdin });
    await engine.settle?.();
    await sync.follow();
    return reply;
  };

  if (o.rulesFile) {
    const text = readFileSync(o.rulesFile, 'utf8');
    const r = await adm(['-R'], 'ipvsadm', text);
    if (r.code !== 0) {
      throw new Error(`rules file ${o.rulesFile} was not restored (exit ${r.code}): ${r.stderr.trim()}`);
    }
    log(`restored ${ipvs.rules.serviceCount} service(s) from ${o.rulesFile}`);
  }

  await engine.start(ipvs, now);
  const ticker = setInterval(() => ipvs.tick(now()), 1000);
  let stopping: Promise<void> | null = null;

  const status = (): DaemonStatus => ({
    ...engine.status(),
    pid: process.pid,
    netns: id,
    services: ipvs.rules.serviceCount,
    conns: ipvs.connCount(),
    sync: sync.status(),
    ...(engine.name === 'proxy' && (ipvs.rules.master || ipvs.rules.backup)
      ? {
          syncNote:
            'the proxy engine syncs its conn table, but a backup cannot take over proxied connections (their sockets die with this process); use the packet engine for failover without resets',
        }
      : {}),
  });

  const handle = async (req: Request): Promise<unknown> => {
    switch (req.op) {
      case 'adm':
        return adm(req.argv, req.argv0, req.stdin);
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
  log(`director of netns ${id} listening on ${server.path} (engine ${engine.name}, pid ${process.pid})`);

  const unwatch =
    o.watchNamespace === false
      ? () => {}
      : watchNetns(id, () => {
          log(`network namespace ${id} is gone; exiting`);
          void stop().then(() => o.onExit?.(0));
        });

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      unwatch();
      clearInterval(ticker);
      sync.stop();
      await server.close();
      await engine.stop();
      log('stopped');
    })();
    return stopping;
  };

  return { ipvs, socket: server.path, stop };
}
