// What the daemon's thread and the core thread (core-thread.ts, core-worker.ts) tell each
// other. Calls are numbered; each has one answer (`done` or `fail`), and a long listing sends
// `part`s before it, each taken (`ack`) before the next is made, so that tsvsadm's pace holds
// back the core thread as it holds back the daemon on one thread.

import type { EngineName } from './engine.js';
import type { LogLevel } from './log.js';
import type { AdmReply } from './protocol.js';
import type { CoreStatus } from './director.js';

export interface CoreWorkerData {
  engine: EngineName;
  rulesFile?: string;
  stateFile?: string;
  connMemMax?: number;
  logLevel: LogLevel;
}

export type CoreCall =
  | { op: 'adm'; argv: string[]; argv0: string; stdin: string; uid: number | null; stream: boolean }
  | { op: 'sysctl'; argv: string[]; file?: string }
  | { op: 'vrrp-vips'; addrs: string[] }
  | { op: 'snapshot' }
  | { op: 'conns'; limit: number }
  | { op: 'forget' }
  | { op: 'stop' };

export type ToCore =
  | { t: 'call'; id: number; call: CoreCall }
  /** The part of call `id` was sent on; the next may be made. */
  | { t: 'ack'; id: number }
  /** The client of call `id` left mid-listing. */
  | { t: 'gone'; id: number };

/**
 * The core's counters as of one moment, for the daemon thread's copy of the rules (the HTTP
 * endpoint reads that copy); the layout of `words` is core-snapshot.ts's.
 */
export interface Snapshot {
  status: CoreStatus;
  /** Dests per service, in rules order: the copy takes the words only where its rules agree. */
  shape: number[];
  words: Float64Array;
}

export type FromCore =
  | { t: 'ready'; snapshot: Snapshot }
  | { t: 'failed'; message: string }
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }
  | { t: 'part'; id: number; part: string }
  | { t: 'done'; id: number; value: AdmReply | Snapshot | unknown }
  /** `gone`: the failure was the client leaving (server.ts ClientGone). */
  | { t: 'fail'; id: number; message: string; gone?: boolean };
