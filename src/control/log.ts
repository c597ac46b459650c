// The daemon's one structured logger: JSON lines when the output is not a terminal (a log file,
// journald, a pipe), readable lines on a terminal. Call sites that only have a message keep the
// old shape, `log(msg)`, which logs at info; the rest use the level methods with fields, e.g.
// `log.warn('drops', { reason: 'no_dest', count: 3 })`.
//
// The lines are pino's (level as a number, ISO time, pid, name, the fields, msg last), so that
// pino's tools read them, but written here: the daemon logs a few lines a minute, synchronously,
// and pino's asynchronous machinery, unused, was one more dependency in every daemon's memory.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { isatty } from 'node:tty';

/** The shape every component takes: one message, logged at info. */
export type Logger = (msg: string) => void;

export type Fields = Record<string, unknown>;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A Logger with levels and fields. */
export interface Log extends Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  readonly level: LogLevel;
  /** Where the lines go: a file path, or 'stderr'. */
  readonly target: string;
  /** Flushes and closes a log file (no-op for stderr). */
  close(): void;
}

export interface LogOptions {
  level?: LogLevel;
  /** Append to this file instead of stderr. */
  file?: string;
  /** Readable lines instead of JSON (default: when the target is a terminal). */
  pretty?: boolean;
}

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** pino's level numbers; 'silent' is above every line. */
const LEVEL_VALUES: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
/** Field names the line itself uses: a field of the same name is renamed, not allowed to overwrite them. */
const RESERVED = new Set(['level', 'time', 'pid', 'name', 'msg']);

/** JSON for a field value: errors keep their message and stack, bigints their digits, cycles do not throw. */
function fieldJson(v: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return (
      JSON.stringify(v, (_k, x: unknown) => {
        if (typeof x === 'bigint') return x.toString();
        if (x instanceof Error) return { type: x.name, message: x.message, stack: x.stack };
        if (typeof x === 'object' && x !== null) {
          if (seen.has(x)) return '[Circular]';
          seen.add(x);
        }
        return x;
      }) ?? 'null'
    );
  } catch (e) {
    return JSON.stringify(`[unserialisable: ${(e as Error).message}]`);
  }
}

/** One JSON line in pino's shape. */
export function jsonLine(level: number, time: string, pid: number, msg: string, fields?: Fields): string {
  let line = `{"level":${level},"time":"${time}","pid":${pid},"name":"tsvs"`;
  if (fields) {
    for (const k of Object.keys(fields)) {
      const v = fields[k];
      if (v === undefined) continue;
      line += `,${JSON.stringify(RESERVED.has(k) ? `field_${k}` : k)}:${fieldJson(v)}`;
    }
  }
  return `${line},"msg":${JSON.stringify(msg)}}\n`;
}

/** Turns one JSON line into `time LEVEL msg key=value ...`. */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, pid: _pid, ...rest } = o;
  void _pid;
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  const lvl = (LEVEL_NAMES[level as number] ?? String(level)).padEnd(5);
  return `${String(time)} ${lvl} ${String(msg)}${extra ? `  ${extra}` : ''}\n`;
}

/** Synchronous writes: a daemon's last lines before exit must not be lost in a buffer. */
class FdStream {
  constructor(
    readonly fd: number,
    private readonly pretty: boolean,
  ) {}

  write(s: string): void {
    const out = this.pretty ? prettyLine(s) : s;
    try {
      writeSync(this.fd, out);
    } catch {
      // a closed or full log target must not take the daemon down
    }
  }
}

export function createLog(o: LogOptions = {}): Log {
  const level = o.level ?? 'info';
  let fd = 2;
  if (o.file) {
    mkdirSync(dirname(o.file), { recursive: true, mode: 0o755 });
    fd = openSync(o.file, 'a', 0o640);
  }
  const pretty = o.pretty ?? (o.file === undefined && isatty(2));
  const out = new FdStream(fd, pretty);
  const min = LEVEL_VALUES[level];
  const at =
    (fn: 'debug' | 'info' | 'warn' | 'error') =>
    (msg: string, fields?: Fields): void => {
      const n = LEVEL_VALUES[fn];
      if (n >= min) out.write(jsonLine(n, new Date().toISOString(), process.pid, msg, fields));
    };
  const info = at('info');
  const log = ((msg: string) => info(msg)) as Log;
  Object.assign(log, {
    debug: at('debug'),
    info,
    warn: at('warn'),
    error: at('error'),
    level,
    target: o.file ?? 'stderr',
    close: () => {
      if (fd !== 2) closeSync(fd);
    },
  });
  return log;
}

/** A Log over a plain Logger (tests, embedders): levels become a prefix, fields JSON. */
export function asLog(l: Logger): Log {
  if (isLog(l)) return l;
  const at =
    (name: string) =>
    (msg: string, fields?: Fields): void =>
      l(`${name === 'info' ? '' : `${name}: `}${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
  return Object.assign((msg: string) => l(msg), {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    level: 'info' as LogLevel,
    target: 'caller',
    close: () => {},
  });
}

/**
 * A Log made of one function per level, e.g. one that hands lines to another thread whose own
 * Log filters and writes them (control/core-worker.ts). `level` is the level the writer keeps.
 */
export function asLevels(level: LogLevel, at: Pick<Log, 'debug' | 'info' | 'warn' | 'error'>): Log {
  return Object.assign((msg: string) => at.info(msg), { ...at, level, target: 'daemon thread', close: () => {} });
}

function isLog(l: Logger): l is Log {
  return typeof (l as Partial<Log>).warn === 'function';
}

/** Kept for the components that log without being handed a logger. */
export const stderrLogger: Logger = (msg) => {
  process.stderr.write(`${new Date().toISOString()} tsvs: ${msg}\n`);
};
