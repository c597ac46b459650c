// Where the director of a network namespace listens. IPVS is per namespace, so is tsvs: the
// control socket is named by the inode of /proc/self/ns/net. Root's daemons live in /run/tsvs;
// a user's (no root: the proxy engine, `npm start`) in a directory of their own.

import { statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT_RUN_DIR = '/run/tsvs';

/** Identity of this process's network namespace ('default' where there is no /proc). */
export function netnsId(): string {
  try {
    return String(statSync('/proc/self/ns/net').ino);
  } catch {
    return 'default';
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The run directory of this user: TSVS_RUN_DIR wins; root uses /run/tsvs. */
export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSVS_RUN_DIR) return env.TSVS_RUN_DIR;
  if (isRoot()) return ROOT_RUN_DIR;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tsvs');
  return `/tmp/tsvs-${process.getuid?.() ?? 'user'}`;
}

export function socketPath(dir: string, id = netnsId()): string {
  return join(dir, `${id}.sock`);
}

export function logPath(dir: string, id = netnsId()): string {
  return join(dir, `${id}.log`);
}
