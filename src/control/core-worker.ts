// The core thread (core-thread.ts): the Director, its engine and timers, answering the daemon's
// thread. Logs go to the daemon's thread, which owns the log file.

import { parentPort, workerData } from 'node:worker_threads';
import { STATS_WORDS } from '../core/stats.js';
import { connsJson } from '../http/api.js';
import { IP_VS_DEST_F_OVERLOAD } from '../core/constants.js';
import { type CoreCall, type CoreWorkerData, DEST_WORDS, type FromCore, type Snapshot, type ToCore } from './core-messages.js';
import { Director } from './director.js';
import { asLevels, type Fields, type Log } from './log.js';
import { ClientGone } from './server.js';

const port = parentPort!;
const data = workerData as CoreWorkerData;
const post = (m: FromCore) => port.postMessage(m);

const send =
  (level: 'debug' | 'info' | 'warn' | 'error') =>
  (msg: string, fields?: Fields): void =>
    post({ t: 'log', level, msg, ...(fields ? { fields } : {}) });
const log: Log = asLevels(data.logLevel, {
  debug: send('debug'),
  info: send('info'),
  warn: send('warn'),
  error: send('error'),
});

/** Parts sent and not yet taken, by call: the listing waits for its ack. */
const acks = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

function snapshot(d: Director): Snapshot {
  const svcs = d.ipvs.rules.services();
  let n = STATS_WORDS;
  const shape: number[] = [];
  for (const svc of svcs) {
    shape.push(svc.dests.length);
    n += STATS_WORDS + svc.dests.length * (STATS_WORDS + DEST_WORDS);
  }
  const words = new Float64Array(n);
  let at = 0;
  d.ipvs.rules.total.export(words, at);
  at += STATS_WORDS;
  for (const svc of svcs) {
    svc.stats.export(words, at);
    at += STATS_WORDS;
    for (const dest of svc.dests) {
      dest.stats.export(words, at);
      at += STATS_WORDS;
      words[at] = dest.activeConns;
      words[at + 1] = dest.inactConns;
      words[at + 2] = dest.persistConns;
      words[at + 3] = dest.flags & IP_VS_DEST_F_OVERLOAD ? 1 : 0;
      at += DEST_WORDS;
    }
  }
  return { status: d.status(), shape, words };
}

async function serve(d: Director, id: number, call: CoreCall): Promise<unknown> {
  switch (call.op) {
    case 'adm': {
      const before = d.ruleEvents;
      const stream = call.stream
        ? (part: string) =>
            new Promise<void>((resolve, reject) => {
              acks.set(id, { resolve, reject });
              post({ t: 'part', id, part });
            })
        : undefined;
      const reply = await d.adm(call.argv, call.argv0, call.stdin, call.uid, stream);
      return { ...reply, changed: d.ruleEvents !== before };
    }
    case 'sysctl':
      return d.sysctl(call.argv, call.file);
    case 'vrrp-vips':
      d.setVrrpVips(call.addrs);
      return null;
    case 'snapshot':
      await d.settle();
      return snapshot(d);
    case 'conns':
      return connsJson(d, call.limit);
    case 'forget':
      d.forget();
      return null;
    case 'stop':
      return d.stop();
  }
}

async function main(): Promise<void> {
  let d: Director | null = null;
  try {
    d = await Director.open({
      engine: data.engine,
      log,
      ...(data.rulesFile !== undefined ? { rulesFile: data.rulesFile } : {}),
      ...(data.stateFile !== undefined ? { stateFile: data.stateFile } : {}),
      ...(data.connMemMax !== undefined ? { connMemMax: data.connMemMax } : {}),
    });
    await d.start();
  } catch (e) {
    // What the engine set up before it failed (its nftables table, XDP programs) goes with it.
    await d?.stop().catch(() => undefined);
    post({ t: 'failed', message: (e as Error).message });
    return;
  }
  const director = d;
  port.on('message', (m: ToCore) => {
    if (m.t === 'ack' || m.t === 'gone') {
      const a = acks.get(m.id);
      acks.delete(m.id);
      if (m.t === 'ack') a?.resolve();
      else a?.reject(new ClientGone());
      return;
    }
    serve(director, m.id, m.call).then(
      (value) => post({ t: 'done', id: m.id, value }),
      (e: Error) => post({ t: 'fail', id: m.id, message: e.message, ...(e instanceof ClientGone ? { gone: true } : {}) }),
    );
  });
  post({ t: 'ready', snapshot: snapshot(director) });
}

void main();
