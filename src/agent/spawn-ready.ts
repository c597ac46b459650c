// Starts a long-running helper process detached from us and waits until it says "ready" on
// its standard output (or exits, or takes too long): the real-server agent's tunnel
// decapsulator and the labs' web servers start this way.

import { spawn } from 'node:child_process';

export interface SpawnReadyOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Names the process in errors. */
  what: string;
}

/** Resolves with the child's pid once it printed "ready"; the child then runs on its own. */
export function spawnReady(cmd: string, args: string[], o: SpawnReadyOptions): Promise<number> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
    let err = '';
    const t = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${o.what} did not start within ${timeoutMs} ms: ${err.trim()}`));
    }, timeoutMs);
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.stdout!.on('data', (b: Buffer) => {
      if (!b.toString().includes('ready')) return;
      clearTimeout(t);
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.unref();
      resolve(child.pid!);
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${o.what} exited with ${code}: ${err.trim()}`));
    });
  });
}
