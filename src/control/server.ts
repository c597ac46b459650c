// The control socket: a unix socket, mode 0600, one request per connection. Requests are
// executed one at a time in arrival order, so concurrent tsvsadm processes see a serial
// history, as ipvsadm commands against the kernel do. A reply sent in parts (a listing of a
// large conn table) lets the next request start once its first part is out: it changes
// nothing, and a reader that stops reading (a pager) must not hold every other command, as a
// paused read of /proc/net/ip_vs_conn holds none. A bad peer (garbage, truncated or oversized
// frames, invalid JSON) loses its connection; the daemon goes on.

import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { Addr } from '../core/inet.js';
import type { Logger } from './log.js';
import { peerUid } from './peercred.js';
import { encodeFrame, FrameReader, type Request } from './protocol.js';

/** What the daemon knows of the caller: its uid from SO_PEERCRED, null where unavailable. */
export interface Peer {
  uid: number | null;
}

/**
 * Sends a piece of the reply's stdout ahead of the reply (protocol.ts, ReplyPart); resolves when
 * the client has taken enough that the next piece may be made. Rejects with ClientGone once the
 * client has closed: the handler should stop there.
 */
export type ReplyStream = (part: string) => Promise<void>;

export type Handler = (req: Request, peer: Peer, stream: ReplyStream) => Promise<unknown>;

/** The client closed its connection while its reply was being sent in parts. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection during its reply');
    this.name = 'ClientGone';
  }
}

/** A client must send its whole request within this (tsvsadm sends it at once; -R of 10,000 lines takes milliseconds). */
export const CONTROL_REQUEST_TIMEOUT_MS = 30_000;
/** Clients connected at once: tsvsadm runs are serialised anyway; each may buffer up to MAX_FRAME. */
export const CONTROL_MAX_CLIENTS = 64;

/** Why a client lost its connection without an answer, counted for `tsvs status`. */
export const CONTROL_DROP_REASONS = [
  'bad_frame',
  'not_json',
  'unknown_op',
  'timeout',
  'closed_early',
  'too_many_clients',
  /** Closed while a reply in parts was being sent (`tsvsadm -L -c | head`): the rest is not made. */
  'closed_mid_reply',
] as const;
export type ControlDropReason = (typeof CONTROL_DROP_REASONS)[number];

/**
 * Most VIPs one `vrrp-vips` request may list: 255 VRIDs per interface, each advertising at most
 * 255 addresses (the advert's count byte), is 65,025; a list longer than that is not keepalived.conf's.
 */
export const MAX_VRRP_VIPS = 65_536;

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((a) => typeof a === 'string');

/** Why `v` is not a request the daemon serves, or null when it is one. */
export function requestError(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return 'request is not an object';
  const r = v as Record<string, unknown>;
  switch (r.op) {
    case 'status':
    case 'stop':
    case 'ping':
      return null;
    case 'sysctl':
      return strings(r.argv) && (r.file === undefined || typeof r.file === 'string') ? null : 'sysctl request without argv strings';
    case 'adm':
      return strings(r.argv) && typeof r.argv0 === 'string' && typeof r.stdin === 'string'
        ? null
        : 'adm request without argv, argv0 and stdin';
    case 'vrrp-vips': {
      if (!strings(r.addrs)) return 'vrrp-vips request without an addrs list of strings';
      if (r.addrs.length > MAX_VRRP_VIPS) return `vrrp-vips request lists ${r.addrs.length} addresses (at most ${MAX_VRRP_VIPS})`;
      const bad = r.addrs.find((a) => Addr.parse(a) === null);
      return bad === undefined ? null : `vrrp-vips request lists ${JSON.stringify(bad.slice(0, 64))}, which is not an IP address`;
    }
    default:
      return 'request has no known op';
  }
}

export function isRequest(v: unknown): v is Request {
  return requestError(v) === null;
}

export class ControlServer {
  private server: Server | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Clients whose reply is going out in parts: close() ends them, as their reader may never read on. */
  private readonly streaming = new Set<Socket>();
  private badPeers = 0;
  readonly drops = Object.fromEntries(CONTROL_DROP_REASONS.map((r) => [r, 0])) as Record<ControlDropReason, number>;
  /** Requests answered (a reply frame written). */
  answered = 0;

  constructor(
    readonly path: string,
    private readonly handle: Handler,
    private readonly log: Logger,
    private readonly timeoutMs = CONTROL_REQUEST_TIMEOUT_MS,
  ) {}

  async listen(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    try {
      unlinkSync(this.path); // a stale socket of a daemon that died; callers checked liveness
    } catch {
      // none
    }
    const server = createServer((s) => this.serve(s));
    server.maxConnections = CONTROL_MAX_CLIENTS;
    server.on('drop', () => this.drops.too_many_clients++);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  private serve(s: Socket): void {
    const reader = new FrameReader();
    let answered = false;
    const drop = (reason: ControlDropReason, why: string) => {
      answered = true;
      this.drops[reason]++;
      if (this.badPeers++ < 20) this.log(`control: dropped a client: ${why}`);
      s.destroy();
    };
    s.setTimeout(this.timeoutMs, () => {
      if (!answered) drop('timeout', `no complete request within ${this.timeoutMs / 1000} s`);
    });
    s.on('error', () => s.destroy());
    s.on('close', () => {
      if (!answered) {
        answered = true;
        this.drops.closed_early++;
      }
    });
    s.on('data', (b: Buffer) => {
      if (answered) return;
      let text: string | null;
      let req: unknown;
      try {
        text = reader.push(b);
      } catch (e) {
        drop('bad_frame', (e as Error).message);
        return;
      }
      if (text === null) return;
      try {
        req = JSON.parse(text);
      } catch {
        drop('not_json', 'request is not JSON');
        return;
      }
      if (!isRequest(req)) {
        drop('unknown_op', requestError(req) ?? 'request has no known op');
        return;
      }
      answered = true;
      const r = req;
      const peer: Peer = { uid: r.op === 'adm' ? peerUid(s) : null };
      let release = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      const stream: ReplyStream = (part) => {
        release();
        if (!this.streaming.has(s)) {
          this.streaming.add(s);
          s.once('close', () => this.streaming.delete(s));
        }
        return sendPart(s, part);
      };
      const run = this.queue.then(() => this.handle(r, peer, stream));
      this.queue = Promise.race([run.catch(() => undefined), released]);
      run.then(
        (reply) => {
          this.answered++;
          s.end(encodeFrame(reply));
        },
        (e: unknown) => {
          if (e instanceof ClientGone) {
            this.drops.closed_mid_reply++;
            return;
          }
          this.answered++;
          this.log(`control: request failed: ${(e as Error).stack ?? String(e)}`);
          s.end(encodeFrame({ stdout: '', stderr: `tsvs: internal error: ${(e as Error).message}\n`, code: 255 }));
        },
      );
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    // A paused pager would otherwise hold the daemon's stop for as long as it stays paused.
    for (const c of this.streaming) c.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // gone already
    }
  }
}

/**
 * Writes one part and waits until the socket has room again (its buffer drained to the kernel),
 * or at least for one turn of the event loop, so that the forwarder runs between two parts.
 */
function sendPart(s: Socket, part: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (s.destroyed || !s.writable) {
      reject(new ClientGone());
      return;
    }
    const gone = () => {
      s.off('drain', room);
      reject(new ClientGone());
    };
    const room = () => {
      s.off('close', gone);
      setImmediate(resolve);
    };
    s.once('close', gone);
    if (s.write(encodeFrame({ part }))) room();
    else s.once('drain', room);
  });
}
