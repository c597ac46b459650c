// The control socket: a unix socket, mode 0600, one request per connection. Requests are
// executed one at a time in arrival order, so concurrent tsvsadm processes see a serial
// history, as ipvsadm commands against the kernel do. A bad peer (garbage, truncated or
// oversized frames, invalid JSON) loses its connection; the daemon goes on.

import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from './log.js';
import { encodeFrame, FrameReader, type Request } from './protocol.js';

export type Handler = (req: Request) => Promise<unknown>;

function isRequest(v: unknown): v is Request {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  if (r.op === 'status' || r.op === 'stop' || r.op === 'ping') return true;
  return (
    r.op === 'adm' &&
    Array.isArray(r.argv) &&
    r.argv.every((a) => typeof a === 'string') &&
    typeof r.argv0 === 'string' &&
    typeof r.stdin === 'string'
  );
}

export class ControlServer {
  private server: Server | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private badPeers = 0;

  constructor(
    readonly path: string,
    private readonly handle: Handler,
    private readonly log: Logger,
  ) {}

  async listen(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    try {
      unlinkSync(this.path); // a stale socket of a daemon that died; callers checked liveness
    } catch {
      // none
    }
    const server = createServer((s) => this.serve(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  private serve(s: Socket): void {
    const reader = new FrameReader();
    let done = false;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      if (this.badPeers++ < 20) this.log(`control: dropped a client: ${why}`);
      s.destroy();
    };
    s.setTimeout(30_000, () => fail('no complete request within 30 s'));
    s.on('error', () => s.destroy());
    s.on('data', (b: Buffer) => {
      if (done) return;
      let text: string | null;
      try {
        text = reader.push(b);
      } catch (e) {
        fail((e as Error).message);
        return;
      }
      if (text === null) return;
      done = true;
      let req: unknown;
      try {
        req = JSON.parse(text);
      } catch {
        done = false;
        fail('request is not JSON');
        return;
      }
      if (!isRequest(req)) {
        done = false;
        fail('request has no known op');
        return;
      }
      const r = req;
      const run = this.queue.then(() => this.handle(r));
      this.queue = run.catch(() => undefined);
      run.then(
        (reply) => s.end(encodeFrame(reply)),
        (e: unknown) => {
          this.log(`control: request failed: ${(e as Error).stack ?? String(e)}`);
          s.end(encodeFrame({ stdout: '', stderr: `tsvs: internal error: ${(e as Error).message}\n`, code: 255 }));
        },
      );
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // gone already
    }
  }
}
