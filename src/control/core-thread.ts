// The director's core on a thread of its own (tsvs daemon --core-thread on): the IPVS core, the engine's frame loop, the sync daemons and the core's timers run in a worker
// (core-worker.ts); the daemon's thread keeps the control socket, the HTTP endpoint, VRRP and
// the log. A scrape, the dashboard or a slow tsvsadm client then never holds up a ring block,
// and a busy ring never holds up the control socket's accept and parse.
//
// Every tsvsadm command runs on the core thread, so its output is the same bytes as on one
// thread. The daemon's thread keeps a copy of the rules (`ipvs`, without conns) for the HTTP
// endpoint: each command that changed the rules there is run again on the copy, and settle()
// brings the copy's counters, rates and dest counts from the core (a snapshot: the core thread
// copies numbers, the daemon's thread formats them).

import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Ipvs } from '../core/ipvs.js';
import type { ConnsJson } from '../http/api.js';
import { type AdmRunner, loadAdmRunner } from './adm-runner.js';
import type { CoreCall, CoreWorkerData, FromCore, Snapshot, ToCore } from './core-messages.js';
import { readCounters } from './core-snapshot.js';
import type { CoreStatus } from './director.js';
import type { EngineName, EngineStatus } from './engine.js';
import type { Log } from './log.js';
import type { AdmReply } from './protocol.js';
import { ClientGone, type ReplyStream } from './server.js';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  stream?: ReplyStream;
}

export class CoreThread {
  /** The copy of the rules, with counters as of the last settle(); no conns. */
  readonly ipvs = new Ipvs({ now: 0, reserve: 0 });
  readonly now: () => number;
  /** Snapshots whose rules did not match the copy's (a command between the two): skipped. */
  shapeMismatches = 0;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private last: CoreStatus;
  private settling: Promise<void> | null = null;
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    private readonly runAdm: AdmRunner,
    private readonly log: Log,
    first: Snapshot,
    readonly engineName: EngineName,
    private readonly onDeath: (why: string) => void,
  ) {
    const t0 = performance.now();
    this.now = () => performance.now() - t0;
    this.last = first.status;
    worker.on('message', (m: FromCore) => this.onMessage(m));
    worker.on('error', (e) => this.died(`the core thread failed: ${e.stack ?? e.message}`));
    worker.on('exit', (code) => this.died(`the core thread exited with code ${code}`));
  }

  /** Starts the core thread; resolves once its engine runs, rejects with why it could not start. */
  static async start(data: CoreWorkerData, log: Log, onDeath: (why: string) => void): Promise<CoreThread> {
    const runAdm = await loadAdmRunner();
    const worker = newWorker(data);
    const first = await new Promise<Snapshot>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the core thread exited with code ${code} before it started`));
      const onError = (e: Error) => reject(e);
      const onMessage = (m: FromCore) => {
        if (m.t === 'log') return relay(log, m);
        worker.off('exit', onExit);
        worker.off('error', onError);
        worker.off('message', onMessage);
        if (m.t === 'ready') resolve(m.snapshot);
        else if (m.t === 'failed') reject(new Error(m.message));
        else reject(new Error(`the core thread sent ${m.t} before it was ready`));
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
      worker.once('error', onError);
    }).catch(async (e: Error) => {
      await worker.terminate();
      throw e;
    });
    const t = new CoreThread(worker, runAdm, log, first, data.engine, onDeath);
    // The copy starts as the core's rules: -S of the core, restored on the copy.
    const saved = await t.call<AdmReply>({ op: 'adm', argv: ['-S', '-n'], argv0: 'ipvsadm', stdin: '', uid: null, stream: false });
    const r = await runAdm(['-R'], 'ipvsadm', { ipvs: t.ipvs, now: 0, stdin: saved.stdout });
    if (r.code !== 0) log.warn(`the HTTP endpoint's copy of the rules is incomplete (exit ${r.code}): ${r.stderr.trim()}`);
    t.apply(first);
    return t;
  }

  async adm(argv: string[], argv0: string, stdin: string, uid: number | null, stream?: ReplyStream): Promise<AdmReply> {
    const reply = await this.call<AdmReply & { changed?: boolean }>(
      { op: 'adm', argv, argv0, stdin, uid, stream: stream !== undefined },
      stream,
    );
    const { changed, ...out } = reply;
    if (changed) {
      // The same command on the copy: the rules are a function of the commands applied to them.
      const r = await this.runAdm(argv, argv0, { ipvs: this.ipvs, now: 0, stdin });
      if (r.code !== reply.code) {
        this.log.warn(
          `the HTTP endpoint's copy of the rules took "${[argv0, ...argv].join(' ')}" with exit ${r.code}, the core with ${reply.code}; /metrics may lag until the next change`,
        );
      }
    }
    return out;
  }

  sysctl(argv: string[], file?: string): Promise<AdmReply> {
    return this.call({ op: 'sysctl', argv, ...(file !== undefined ? { file } : {}) });
  }

  async setVrrpVips(addrs: string[]): Promise<void> {
    await this.call({ op: 'vrrp-vips', addrs });
  }

  /** Brings the copy's counters and the status from the core; calls made meanwhile share one. */
  settle(): Promise<void> {
    this.settling ??= this.call<Snapshot>({ op: 'snapshot' })
      .then((s) => this.apply(s))
      .finally(() => {
        this.settling = null;
      });
    return this.settling;
  }

  /** The core's status as of the last settle(). */
  status(): CoreStatus {
    return this.last;
  }

  conns(limit: number): Promise<ConnsJson> {
    return this.call({ op: 'conns', limit });
  }

  async forget(): Promise<void> {
    await this.call({ op: 'forget' });
  }

  async stop(): Promise<EngineStatus> {
    if (this.exited) return this.last;
    const last = await this.call<EngineStatus>({ op: 'stop' });
    this.exited = true;
    await this.worker.terminate();
    return last;
  }

  private apply(s: Snapshot): void {
    this.last = s.status;
    if (!readCounters(this.ipvs.rules, s.shape, s.words)) this.shapeMismatches++;
  }

  private call<T>(call: CoreCall, stream?: ReplyStream): Promise<T> {
    if (this.exited) return Promise.reject(new Error('the core thread has stopped'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(stream ? { stream } : {}) });
      this.post({ t: 'call', id, call });
    });
  }

  private post(m: ToCore): void {
    this.worker.postMessage(m);
  }

  private onMessage(m: FromCore): void {
    switch (m.t) {
      case 'log':
        relay(this.log, m);
        return;
      case 'part': {
        const p = this.pending.get(m.id);
        if (!p?.stream) return;
        p.stream(m.part).then(
          () => this.post({ t: 'ack', id: m.id }),
          () => this.post({ t: 'gone', id: m.id }),
        );
        return;
      }
      case 'done':
      case 'fail': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.t === 'done') p.resolve(m.value);
        else p.reject(m.gone ? new ClientGone() : new Error(m.message));
        return;
      }
      default:
        this.log.warn(`the core thread sent ${m.t} after it started; ignored`);
    }
  }

  private died(why: string): void {
    if (this.exited) return;
    this.exited = true;
    for (const p of this.pending.values()) p.reject(new Error(why));
    this.pending.clear();
    this.onDeath(why);
  }
}

function relay(log: Log, m: Extract<FromCore, { t: 'log' }>): void {
  log[m.level](m.msg, m.fields);
}

function newWorker(data: CoreWorkerData): Worker {
  const name = 'core-worker';
  const opts = { workerData: data };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, import.meta.url), opts);
  // From the sources (tests, bench through tsx): a worker does not inherit `--import tsx`.
  const url = new URL(`./${name}.ts`, import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(url)}); });`, {
    ...opts,
    eval: true,
  });
}
