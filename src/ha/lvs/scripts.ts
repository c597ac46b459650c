// notify_up / notify_down / quorum_up / quorum_down: run as written, not waited for; a
// script that cannot start is logged, never fatal (keepalived does the same).
import { spawn } from 'node:child_process';
import type { HaLog } from '../log.js';

export function runScript(argv: string[] | null, log: HaLog, why: string): void {
  if (!argv || argv.length === 0) return;
  const [cmd, ...args] = argv as [string, ...string[]];
  const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
  child.once('error', (e: NodeJS.ErrnoException) => log('error', `${why}: cannot run ${cmd}: ${e.code ?? e.message}`));
  child.once('exit', (code) => {
    if (code !== 0) log('warn', `${why}: ${argv.join(' ')} exited with ${code}`);
  });
  child.unref();
}
