// The keepalived process's status socket: one request, one reply, as the director's control
// socket (src/control/protocol.ts framing). Only `status` and `ping` are answered.
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { encodeFrame, FrameReader } from '../control/protocol.js';
import type { KeepalivedStatus } from './status.js';

export async function serveStatus(path: string, status: () => KeepalivedStatus): Promise<Server> {
  try {
    unlinkSync(path); // a stale socket of a process that died; a live one was checked by the caller
  } catch {
    // none
  }
  const server = createServer((s) => {
    const reader = new FrameReader();
    s.on('error', () => s.destroy());
    s.on('data', (b: Buffer) => {
      let text: string | null;
      try {
        text = reader.push(b);
      } catch {
        return s.destroy();
      }
      if (text === null) return;
      let op = '';
      try {
        op = String((JSON.parse(text) as { op?: unknown }).op ?? '');
      } catch {
        // answered below
      }
      const reply = op === 'status' ? status() : op === 'ping' ? { ok: true } : { error: `unknown op '${op}'` };
      s.end(encodeFrame(reply));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return server;
}
