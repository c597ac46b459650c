// The director's rules survive the director. The kernel keeps IPVS rules when ipvsadm exits; a
// tsvs director is a process, so after every accepted change it writes its rules in the `-S`
// format to a state file of its namespace, atomically: a temporary file, fsync, rename over the
// old one, fsync of the directory. A crash at any moment leaves either the old file or the new
// one, never a torn one. A restarted director restores the file with `-R` before it serves:
// services and real servers come back with zeroed counters, as after a reboot with ipvsadm -R.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { namesOf } from './netns-watch.js';
import { isRoot, netnsId, runDir } from './paths.js';

/** Root's state lives where the FHS puts persistent state of a program. */
export const ROOT_STATE_DIR = '/var/lib/tsvs';

/**
 * The state directory: `--state-dir` wins, then TSVS_STATE_DIR; a private TSVS_RUN_DIR keeps its
 * state too (tests: two directors of one namespace never share a file); then root uses
 * /var/lib/tsvs and a user the run directory, so that unprivileged runs never write to /var/lib.
 */
export function stateDir(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (option) return option;
  if (env.TSVS_STATE_DIR) return env.TSVS_STATE_DIR;
  const usual = runDir({ ...env, TSVS_RUN_DIR: undefined });
  if (env.TSVS_RUN_DIR && env.TSVS_RUN_DIR !== usual) return env.TSVS_RUN_DIR;
  return isRoot() ? ROOT_STATE_DIR : usual;
}

/**
 * A name for this namespace that outlives a reboot (an inode does not): the namespace's name
 * under /run/netns, `default` for the init namespace, else its inode (then the file only
 * serves restarts within this boot).
 */
export function netnsKey(id = netnsId()): string {
  const names = namesOf(id).sort();
  if (names.length > 0) return `netns-${names[0]!}`;
  try {
    if (id === String(statSync('/proc/1/ns/net').ino)) return 'default';
  } catch {
    // /proc/1 is not ours to read (no root): the inode will do
  }
  return id === 'default' ? 'default' : `ns-${id}`;
}

export function stateFile(dir: string, key = netnsKey()): string {
  return join(dir, `${key}.rules`);
}

/** Writes `text` to `file` so that a crash leaves the old content or the new, nothing between. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    const b = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  // The rename itself is durable only once the directory is.
  const dfd = openSync(join(file, '..'), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** The saved rules, or null when there are none; a leftover temporary file is discarded. */
export function readState(file: string): string | null {
  rmSync(`${file}.tmp`, { force: true });
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw new Error(`state file ${file} cannot be read: ${(e as Error).message}; move it away to start empty`);
  }
}

/** Keeps the state file equal to the rules: save() writes only when the text changed. */
export class StateFile {
  private last: string | null = null;

  constructor(readonly file: string) {
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  }

  /** Marks `text` as what the file holds (after a restore). */
  loaded(text: string): void {
    this.last = text;
  }

  save(text: string): void {
    if (text === this.last) return;
    writeAtomic(this.file, text);
    this.last = text;
  }
}
