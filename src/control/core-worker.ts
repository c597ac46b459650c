// The core thread (core-thread.ts): the Director, its engine and timers, answering the daemon's
// thread. Logs go to the daemon's thread, which owns the log file.

import { parentPort, workerData } from 'node:worker_threads';
import { connsJson } from '../http/api.js';
import type { CoreCall, CoreWorkerData, FromCore, Snapshot, ToCore } from './core-messages.js';
import { shapeOf, writeCounters } from './core-snapshot.js';
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
  return { status: d.status(), shape: shapeOf(d.ipvs.rules), words: writeCounters(d.ipvs.rules) };
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
