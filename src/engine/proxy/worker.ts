// A proxy worker thread: it accepts on its own SO_REUSEPORT listening sockets and does the
// socket I/O of its connections, but never decides anything. Each new connection is sent to the
// daemon's thread, which owns the core and schedules it; the worker connects where the core
// said and reports every event (bytes, synthesised TCP flags, drops, dest health, close) back
// in order, so that one scheduler state, one conn table and one set of counters see all
// workers' traffic.

import { createServer, type Server, type Socket } from 'node:net';
import { parentPort } from 'node:worker_threads';
import type { DestHealth } from './context.js';
import { parseSocketAddr } from './addr.js';
import {
  type Batch,
  D_DECIDE,
  D_DESTROY,
  D_LISTEN,
  D_SETTLE,
  D_UNLISTEN,
  W_ACCEPT,
  W_CLOSED,
  W_DROP,
  W_HEALTH,
  W_IN,
  W_OUT,
  W_SETTLED,
} from './channel.js';
import { type Link, pipeTcp, type Session } from './pipe.js';

const port = parentPort!;
const servers = new Map<number, Server>();
/** Accepted clients waiting for the core's decision, by id. */
const waiting = new Map<number, Socket>();
/** Open sessions by id. */
const sessions = new Map<number, Session>();
let nextId = 1;
let outbox: Batch = [];
let flushQueued = false;

function flush(): void {
  flushQueued = false;
  if (outbox.length === 0) return;
  const b = outbox;
  outbox = [];
  port.postMessage(b);
}

function queued(): Batch {
  if (!flushQueued) {
    flushQueued = true;
    setImmediate(flush);
  }
  return outbox;
}

function accept(svcId: number, client: Socket): void {
  client.on('error', () => {});
  const a = parseSocketAddr(client.remoteAddress);
  if (!a || client.remotePort === undefined) {
    client.destroy();
    return;
  }
  const id = nextId++;
  waiting.set(id, client);
  queued().push(W_ACCEPT, id, svcId, client.remotePort, a.w0, a.w1, a.w2, a.w3);
}

function decide(id: number, ref: number, host: string, dport: number, pp: number): void {
  const client = waiting.get(id);
  if (!client) return;
  waiting.delete(id);
  if (ref < 0) {
    client.resetAndDestroy();
    return;
  }
  const link: Link = {
    in: (ev, bytes) => queued().push(W_IN, ref, id, ev, bytes),
    out: (ev, bytes) => queued().push(W_OUT, ref, id, ev, bytes),
    drop: (reason) => queued().push(W_DROP, reason),
    health: (h: DestHealth, detail) => queued().push(W_HEALTH, ref, id, h, detail),
    closed: () => {
      sessions.delete(id);
      queued().push(W_CLOSED, ref, id);
    },
  };
  sessions.set(id, pipeTcp(link, client, { host, port: dport, proxyProtocol: pp }));
}

function listen(svcId: number, fd: number): void {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (c) => accept(svcId, c));
  server.on('error', () => {});
  servers.get(svcId)?.close();
  servers.set(svcId, server);
  server.listen({ fd });
}

port.postMessage(['ready', -1]);
port.on('message', (m: Batch) => {
  for (let i = 0; i < m.length; ) {
    switch (m[i]) {
      case D_DECIDE:
        decide(m[i + 1] as number, m[i + 2] as number, m[i + 3] as string, m[i + 4] as number, m[i + 5] as number);
        i += 6;
        break;
      case D_DESTROY: {
        const id = m[i + 1] as number;
        sessions.get(id)?.destroy();
        sessions.delete(id);
        i += 2;
        break;
      }
      case D_LISTEN:
        listen(m[i + 1] as number, m[i + 2] as number);
        i += 3;
        break;
      case D_UNLISTEN:
        servers.get(m[i + 1] as number)?.close();
        servers.delete(m[i + 1] as number);
        i += 2;
        break;
      case D_SETTLE:
        outbox.push(W_SETTLED, m[i + 1] as number);
        flush();
        i += 2;
        break;
      default:
        throw new Error(`proxy worker: unknown message ${String(m[i])}`);
    }
  }
});
