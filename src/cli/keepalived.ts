// `tsvs keepalived [-f FILE] [-n] [-l] [-D] [-t] [-P | -C] [-p PIDFILE] [--http [ADDR:]PORT] [-h] [-v]`:
// keepalived's command line with its meanings, driving this namespace's director
// (docs/keepalived.md); --http (or TSVS_HTTP) serves this process's checker and VRRP metrics.
// A `keepalived` link to bin/tsvs (tsvs shim install) runs this.
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRoot, netnsId, runDir } from '../control/paths.js';
import { directorSink, keepalivedSocket } from '../ha/director.js';
import { makeVrrpPart } from '../ha/vrrp/part.js';
import { Keepalived, keepalivedMessage, loadConf, type VrrpPart } from '../ha/keepalived.js';
import type { HaLevel } from '../ha/log.js';
import { KeepalivedHttp } from '../ha/http.js';
import { serveStatus } from '../ha/status-server.js';
import { isLoopback, notLoopbackWarning, parseHttpSpec } from '../http/bounded.js';
import { request } from './client.js';

const USAGE = `Usage: tsvs keepalived [OPTION...]
  -f, --use-file=FILE          Use the specified configuration file
                               (default /etc/keepalived/keepalived.conf)
  -P, --vrrp                   Only run with VRRP subsystem
  -C, --check                  Only run with Health-checker subsystem
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -n, --dont-fork              Don't fork the daemon process
  -t, --config-test            Check the configuration file for obvious errors
  -p, --pid=FILE               Use specified pidfile for parent process
      --http=[ADDR:]PORT       Serve this process's checker and VRRP metrics
                               (/metrics) and status (/api/v1/status) over HTTP,
                               read-only, on 127.0.0.1 unless ADDR is given
                               (or TSVS_HTTP; the director's own: tsvs daemon --http)
  -v, --version                Display the version number
  -h, --help                   Display this help message
`;

const DEFAULT_CONF = '/etc/keepalived/keepalived.conf';
/** How long the parent waits for a forked keepalived to serve its status socket. */
const FORK_READY_MS = 15_000;

interface Opts {
  conf: string;
  foreground: boolean;
  console: boolean;
  detail: boolean;
  test: boolean;
  vrrp: boolean;
  checkers: boolean;
  pidFile: string;
  /** --http or TSVS_HTTP: [ADDR:]PORT of the metrics endpoint, or null. */
  http: string | null;
}

function parseArgs(argv: string[]): Opts | number {
  const o: Opts = {
    conf: DEFAULT_CONF,
    foreground: false,
    console: false,
    detail: false,
    test: false,
    vrrp: true,
    checkers: true,
    pidFile: isRoot() ? '/run/keepalived.pid' : join(runDir(), 'keepalived.pid'),
    http: process.env.TSVS_HTTP || null,
  };
  let onlyVrrp = false;
  let onlyCheck = false;
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string;
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const a = eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string | null => (eq > 0 ? raw.slice(eq + 1) : (argv[++i] ?? null));
    switch (a) {
      case '-f':
      case '--use-file': {
        const v = value();
        if (!v) return usageError(`${a} needs a file name`);
        o.conf = v;
        break;
      }
      case '-p':
      case '--pid': {
        const v = value();
        if (!v) return usageError(`${a} needs a file name`);
        o.pidFile = v;
        break;
      }
      case '--http': {
        const v = value();
        if (!v) return usageError(`${a} needs [ADDR:]PORT, e.g. 9101 or 127.0.0.1:9101`);
        o.http = v;
        break;
      }
      case '-n':
      case '--dont-fork':
        o.foreground = true;
        break;
      case '-l':
      case '--log-console':
        o.console = true;
        break;
      case '-D':
      case '--log-detail':
        o.detail = true;
        break;
      case '-t':
      case '--config-test':
        o.test = true;
        break;
      case '-P':
      case '--vrrp':
        onlyVrrp = true;
        break;
      case '-C':
      case '--check':
        onlyCheck = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        return 0;
      case '-v':
      case '--version':
        process.stdout.write('Keepalived v2.2.7 (tsvs keepalived: checkers and LVS; see docs/keepalived.md)\n');
        return 0;
      default:
        return usageError(`unknown option '${raw}'`);
    }
  }
  if (onlyVrrp && onlyCheck) return usageError('-P and -C exclude each other');
  if (o.http !== null) {
    try {
      parseHttpSpec(o.http);
    } catch (e) {
      return usageError((e as Error).message);
    }
  }
  if (onlyVrrp) o.checkers = false;
  if (onlyCheck) o.vrrp = false;
  return o;
}

function usageError(msg: string): number {
  process.stderr.write(`tsvs keepalived: ${msg}\n${USAGE}`);
  return 2;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function keepalivedMain(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  if (typeof o === 'number') return o;
  // TSVS_HTTP is this process's: a director it starts must not inherit it and take the same port.
  delete process.env.TSVS_HTTP;
  // ── VRRP part (ha-vrrp): built when o.vrrp, else null (-C). It logs through `log` below. ──
  let logTo: (level: HaLevel, msg: string) => void = (level, msg) => process.stderr.write(`${level}: ${msg}\n`);
  const vrrp: VrrpPart | null = o.vrrp ? makeVrrpPart((level, msg) => logTo(level, msg)) : null;

  if (o.test) {
    const c = loadConf(o.conf, vrrp);
    for (const w of c.warnings) process.stderr.write(`${keepalivedMessage(w)}\n`);
    for (const e of c.errors) process.stderr.write(`${keepalivedMessage(e)}\n`);
    return c.errors.length ? 1 : 0;
  }

  try {
    const pid = Number(readFileSync(o.pidFile, 'utf8').trim());
    if (pid > 0 && pid !== process.pid && alive(pid)) {
      process.stderr.write(`tsvs keepalived: daemon is already running (pid ${pid}, ${o.pidFile})\n`);
      return 1;
    }
  } catch {
    // no pid file
  }

  if (!o.foreground) return fork(argv, o);

  const detailed = o.detail;
  const log = (level: HaLevel, msg: string): void => {
    if (level === 'debug' && !detailed) return;
    process.stderr.write(`${new Date().toISOString()} Keepalived[${process.pid}] ${level}: ${msg}\n`);
  };
  logTo = log;
  const k = new Keepalived({ conf: o.conf, checkers: o.checkers, vrrp, sink: directorSink(), log });
  // As keepalived, the pid file (and here the status socket) exist before the configuration
  // is applied: whoever sees the rules appear can already ask who made them.
  writeFileSync(o.pidFile, `${process.pid}\n`);
  const sockPath = keepalivedSocket();
  let http: KeepalivedHttp | null = null;
  const status = () => ({ ...k.status(), ...(http ? { http: http.url } : {}) });
  const server = await serveStatus(sockPath, status);
  if (o.http !== null) {
    const ep = parseHttpSpec(o.http);
    http = new KeepalivedHttp({ ...ep, status, onError: (msg) => log('error', msg) });
    vrrp?.onTransition?.((s) => http?.transition(s));
    try {
      await http.listen();
    } catch (e) {
      log('error', (e as Error).message);
      server.close();
      rmSync(o.pidFile, { force: true });
      rmSync(sockPath, { force: true });
      return 1;
    }
    log('info', `metrics and status on ${http.url}metrics`);
    if (!isLoopback(ep.host)) log('warn', notLoopbackWarning(http.url));
  }
  const errors = await k.start();
  if (errors.length) {
    log('error', `configuration ${o.conf} refused (${errors.length} error(s)); nothing was applied`);
    await http?.close();
    server.close();
    rmSync(o.pidFile, { force: true });
    rmSync(sockPath, { force: true });
    return 1;
  }
  process.on('SIGHUP', () => {
    log('info', 'SIGHUP: reloading');
    void k.reload();
  });
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      log('info', `${sig}: shutting down`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await k.shutdown();
  await http?.close();
  server.close();
  for (const f of [sockPath, o.pidFile]) {
    try {
      unlinkSync(f);
    } catch {
      // already gone
    }
  }
  return 0;
}

/** Without -n keepalived forks: start ourselves with -n in the background, wait until ready. */
async function fork(argv: string[], o: Opts): Promise<number> {
  const bin = fileURLToPath(new URL('../../bin/tsvs', import.meta.url));
  const logFile = join(dirname(keepalivedSocket()), `${netnsId()}.keepalived.log`);
  const out = o.console ? 'inherit' : openSync(logFile, 'a');
  const http = o.http !== null && !argv.some((a) => a === '--http' || a.startsWith('--http=')) ? ['--http', o.http] : [];
  const child = spawn(process.execPath, [bin, 'keepalived', ...argv, ...http, '-n'], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? 1;
  });
  const deadline = Date.now() + FORK_READY_MS;
  while (Date.now() < deadline) {
    if (exited !== null) {
      process.stderr.write(`tsvs keepalived: exited with ${exited} at start${o.console ? '' : ` (see ${logFile})`}\n`);
      return 1;
    }
    try {
      const st = await request<{ pid?: number; ready?: boolean }>(keepalivedSocket(), { op: 'status' }, 1000);
      if (st.pid === child.pid && st.ready === true) {
        child.unref();
        return 0;
      }
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stderr.write(`tsvs keepalived: not ready within ${FORK_READY_MS} ms${existsSync(logFile) ? ` (see ${logFile})` : ''}\n`);
  return 1;
}
