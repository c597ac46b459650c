// Talking to the director of this network namespace. Imports nothing from the core so that
// `tsvsadm` starts fast: it is called thousands of times from scripts.

import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isRoot, logPath, ROOT_RUN_DIR, runDir, socketPath } from '../control/paths.js';
import { encodeFrame, FrameReader, isReplyPart, type Request } from '../control/protocol.js';

export class NoDaemon extends Error {}
export class NoPermission extends Error {}

/**
 * Takes a piece of a reply's stdout sent ahead of the reply (protocol.ts, ReplyPart). A promise
 * returned pauses reading until it settles: the daemon then waits too, so that a slow reader
 * (a pager) never makes it buffer a whole conn table.
 */
export type PartHandler = (part: string) => Promise<void> | undefined;

/**
 * Sends one request and returns the parsed reply. Parts of the reply's stdout sent ahead of it go
 * to `onPart`; without one they are joined in front of the reply's `stdout`.
 */
export function request<T>(path: string, req: Request, timeoutMs = 120_000, onPart?: PartHandler): Promise<T> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const reader = new FrameReader();
    const parts: string[] = [];
    let settled = false;
    const done = (f: () => void) => {
      if (settled) return;
      settled = true;
      s.destroy();
      f();
    };
    s.setTimeout(timeoutMs);
    s.on('timeout', () => done(() => reject(new Error(`no answer from ${path}`))));
    s.on('connect', () => s.write(encodeFrame(req)));
    const frame = (text: string) => {
      const v: unknown = JSON.parse(text);
      if (!isReplyPart(v)) {
        const reply = v as T & { stdout?: unknown };
        if (parts.length > 0 && typeof reply.stdout === 'string') reply.stdout = parts.join('') + reply.stdout;
        done(() => resolve(reply));
        return;
      }
      if (!onPart) {
        parts.push(v.part);
        return;
      }
      const wait = onPart(v.part);
      if (wait) {
        // No idle timeout while our own reader holds us up: the daemon is waiting on us.
        s.pause();
        s.setTimeout(0);
        void wait.then(
          () => {
            s.setTimeout(timeoutMs);
            s.resume();
          },
          (e: unknown) => done(() => reject(e)),
        );
      }
    };
    s.on('data', (b: Buffer) => {
      try {
        for (let text = reader.push(b); text !== null && !settled; text = reader.next()) frame(text);
      } catch (e) {
        done(() => reject(e));
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      done(() => {
        if (e.code === 'EACCES' || e.code === 'EPERM') reject(new NoPermission(e.message));
        else if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new NoDaemon(e.message));
        else reject(e);
      });
    });
    // Once the request is sent, silence means the director died while running it: the
    // command may have been applied (and saved), so it must not be sent again to a new one.
    s.on('end', () => done(() => reject(new Error(`the director closed ${path} without an answer (it may have died; see its log)`))));
  });
}

/**
 * The socket to use: root's daemon of this namespace when one is there (a user who may not
 * open it is refused, never given a daemon of its own), else this user's.
 */
export function targetSocket(): string {
  if (process.env.TSVS_RUN_DIR) return socketPath(process.env.TSVS_RUN_DIR);
  const rootSock = socketPath(ROOT_RUN_DIR);
  if (!isRoot() && existsSync(rootSock)) return rootSock;
  return socketPath(runDir());
}

/** Starts `tsvs daemon` for this namespace in the background, as ipvsadm loads ip_vs. */
export async function startDetached(sock: string): Promise<void> {
  const bin = fileURLToPath(new URL('../../bin/tsvs', import.meta.url));
  const dir = sock.slice(0, sock.lastIndexOf('/'));
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const out = openSync(logPath(dir), 'a');
  const child = spawn(process.execPath, [bin, 'daemon'], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, TSVS_RUN_DIR: dir },
  });
  child.unref();
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await request(sock, { op: 'ping' }, 2000);
      return;
    } catch (e) {
      if (e instanceof NoPermission) throw e;
      if (Date.now() > deadline) {
        throw new Error(`the director did not start within 10 s (see ${logPath(dir)})`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
