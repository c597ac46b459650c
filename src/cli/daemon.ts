// `tsvs daemon [--engine packet|proxy] [--rules FILE] [--state-dir DIR] [--conn-mem-max MB]
// [--http [ADDR:]PORT] [--log-level L] [--log-file FILE] [--xdp auto|native|generic|off]
// [--xdp-fast on|off] [--core-thread on|off] [--detach]` and `tsvs daemon stop`. TSVS_HTTP stands
// for --http, TSVS_XDP for --xdp, TSVS_XDP_FAST for --xdp-fast (the packet engine reads them) and
// TSVS_CORE_THREAD for --core-thread.

import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONTROL_NICE, startDaemon } from '../control/daemon.js';
import type { EngineName } from '../control/engine.js';
import { createLog, isLogLevel, LOG_LEVELS, type LogLevel } from '../control/log.js';
import { parseHttpSpec } from '../http/endpoint.js';
import { isRoot, logPath, runDir, socketPath } from '../control/paths.js';
import { stateDir, stateFile } from '../control/state.js';
import { parseXdpFast, parseXdpMode } from '../engine/packet/xdp/path.js';
import { NoDaemon, request } from './client.js';
import { ENVIRONMENT, UsageError, wantsHelp } from './usage.js';

const USAGE =
  'usage: tsvs daemon [--engine packet|proxy] [--rules FILE] [--state-dir DIR] [--conn-mem-max MB]\n' +
  '                   [--http [ADDR:]PORT] [--log-level LEVEL] [--log-file FILE]\n' +
  '                   [--xdp auto|native|generic|off] [--xdp-fast on|off]\n' +
  '                   [--core-thread on|off] [--detach]\n' +
  '       tsvs daemon stop\n';

/** 64 GiB: beyond that the bound is no bound on a director. */
const MAX_CONN_MEM_MB = 65536;

function defaultEngine(): EngineName {
  const env = process.env.TSVS_ENGINE;
  if (env === 'packet' || env === 'proxy') return env;
  return process.platform === 'linux' && isRoot() ? 'packet' : 'proxy';
}

export async function daemonMain(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(`${USAGE}\n${ENVIRONMENT}`);
    return 0;
  }
  const dir = runDir();
  const sock = socketPath(dir);
  if (argv[0] === 'stop') {
    try {
      await request(sock, { op: 'stop' }, 10_000);
      return 0;
    } catch (e) {
      if (e instanceof NoDaemon) {
        process.stderr.write(`tsvs: no director runs in this network namespace (${sock})\n`);
        return 1;
      }
      throw e;
    }
  }
  let engine = defaultEngine();
  let rulesFile: string | undefined;
  let detach = false;
  let stateOpt: string | undefined;
  let connMemMb: number | undefined;
  let http = process.env.TSVS_HTTP || undefined;
  let level: LogLevel = 'info';
  let logFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--engine') {
      const v = argv[++i];
      if (v !== 'packet' && v !== 'proxy') throw new UsageError(`--engine ${v ?? ''}: use packet or proxy\n${USAGE}`);
      engine = v;
    } else if (a === '--rules') {
      rulesFile = argv[++i];
      if (!rulesFile) throw new UsageError(`--rules needs a file\n${USAGE}`);
    } else if (a === '--state-dir') {
      stateOpt = argv[++i];
      if (!stateOpt) throw new UsageError(`--state-dir needs a directory\n${USAGE}`);
    } else if (a === '--conn-mem-max') {
      const v = argv[++i] ?? '';
      connMemMb = Number(v);
      if (!/^[1-9][0-9]*$/.test(v) || connMemMb > MAX_CONN_MEM_MB) {
        throw new UsageError(`--conn-mem-max ${v}: give megabytes, 1 to ${MAX_CONN_MEM_MB}\n${USAGE}`);
      }
    } else if (a === '--http') {
      http = argv[++i];
      if (!http) {
        process.stderr.write(`tsvs daemon: --http needs [ADDR:]PORT, e.g. 9100 or 127.0.0.1:9100\n${USAGE}`);
        return 2;
      }
    } else if (a === '--log-level') {
      const v = argv[++i] ?? '';
      if (!isLogLevel(v)) {
        process.stderr.write(`tsvs daemon: --log-level ${v}: use one of ${LOG_LEVELS.join(', ')}\n${USAGE}`);
        return 2;
      }
      level = v;
    } else if (a === '--log-file') {
      logFile = argv[++i];
      if (!logFile) {
        process.stderr.write(`tsvs daemon: --log-file needs a file\n${USAGE}`);
        return 2;
      }
    } else if (a === '--xdp') {
      const v = argv[++i] ?? '';
      try {
        parseXdpMode(v);
      } catch (e) {
        throw new UsageError(`${(e as Error).message}\n${USAGE}`);
      }
      // The packet engine reads TSVS_XDP; a --detach child inherits it.
      process.env.TSVS_XDP = v;
    } else if (a === '--xdp-fast') {
      const v = argv[++i] ?? '';
      try {
        parseXdpFast(v);
      } catch (e) {
        throw new UsageError(`${(e as Error).message}\n${USAGE}`);
      }
      process.env.TSVS_XDP_FAST = v;
    } else if (a === '--core-thread') {
      const v = argv[++i] ?? '';
      if (v !== 'on' && v !== 'off') throw new UsageError(`--core-thread ${v}: use on or off\n${USAGE}`);
      // Read below through the environment, which a --detach child inherits.
      process.env.TSVS_CORE_THREAD = v;
    } else if (a === '--detach') detach = true;
    else throw new UsageError(`unknown option ${a}\n${USAGE}`);
  }
  if (http !== undefined) {
    try {
      parseHttpSpec(http);
    } catch (e) {
      process.stderr.write(`tsvs daemon: ${(e as Error).message}\n`);
      return 2;
    }
  }
  try {
    await request(sock, { op: 'ping' }, 2000);
    process.stderr.write(`tsvs: a director already runs in this network namespace (${sock})\n`);
    return 1;
  } catch (e) {
    if (!(e instanceof NoDaemon)) throw e;
  }
  if (detach) {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const file = logFile ?? logPath(dir);
    // The child logs JSON lines to the file itself; its stdout and stderr go there too, so
    // that a crash's stack trace lands next to the last log line.
    const out = openSync(file, 'a');
    const bin = fileURLToPath(new URL('../../bin/tsvs', import.meta.url));
    const args = [bin, 'daemon', '--engine', engine, '--log-file', file, '--log-level', level];
    if (rulesFile) args.push('--rules', rulesFile);
    if (stateOpt) args.push('--state-dir', stateOpt);
    if (connMemMb) args.push('--conn-mem-max', String(connMemMb));
    if (http !== undefined) args.push('--http', http);
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out] });
    child.unref();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        await request(sock, { op: 'ping' }, 2000);
        return 0;
      } catch {
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    process.stderr.write(`tsvs: the director did not start (see ${file})\n`);
    return 1;
  }
  let exit: (code: number) => void = () => {};
  const exited = new Promise<number>((r) => {
    exit = r;
  });
  const log = createLog({ level, file: logFile });
  const state = stateFile(stateDir(stateOpt));
  const connMemMax = connMemMb ? connMemMb * 1048576 : undefined;
  const threadEnv = process.env.TSVS_CORE_THREAD;
  if (threadEnv !== undefined && threadEnv !== '' && threadEnv !== 'on' && threadEnv !== 'off') {
    process.stderr.write(`tsvs daemon: TSVS_CORE_THREAD=${threadEnv}: use on or off\n`);
    return 2;
  }
  // Off unless asked for: the second thread costs an idle director about 13 MB of RSS (72 MB
  // against 59, docs/multiqueue.md), over the 60 MB an idle director is held to.
  const coreThread = threadEnv === 'on';
  const d = await startDaemon({
    engine,
    runDir: dir,
    rulesFile,
    stateFile: state,
    connMemMax,
    onExit: exit,
    log,
    logFile,
    http,
    coreThread,
    controlNice: CONTROL_NICE,
  }).catch((e: Error) => {
    log.error(`start failed: ${e.message}`);
    if (logFile) process.stderr.write(`tsvs daemon: ${e.message}\n`);
    return null;
  });
  if (!d) return 1;
  const onSignal = () => void d.stop().then(() => exit(0));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return exited;
}
