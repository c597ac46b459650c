// Helpers for tests that run the built binaries inside network namespaces the test creates.
// Tests call `requireNetns()` first: on a laptop without root they skip with the reason; under
// CI=true they fail instead, so that CI never silently skips them.

import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { netnsUnavailable } from '../../src/lab/netns.js';

const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TSVSADM = join(ROOT, 'bin/tsvsadm');
export const TSVS = join(ROOT, 'bin/tsvs');

/** Skip reason, or false. Throws under CI=true when namespaces cannot be used. */
export function requireNetns(): string | false {
  const why = netnsUnavailable();
  if (why && process.env.CI === 'true') throw new Error(`CI must run the namespace tests: ${why}`);
  return why ?? false;
}

/** The bins load dist/bundle/; `npm test` builds it first. Build here only when it is missing. */
export function ensureBuilt(): void {
  if (existsSync(join(ROOT, 'dist/bundle/tsvs.cjs'))) return;
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/** A fresh run directory readable by other users (the socket inside stays 0600). */
export function freshRunDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tsvs-run-'));
  chmodSync(d, 0o755);
  return d;
}

export interface Result {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command inside namespace `ns` (plain when ns is null); never rejects on exit codes. */
export async function inNs(
  ns: string | null,
  cmd: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<Result> {
  const argv = ns ? ['ip', 'netns', 'exec', ns, ...cmd] : cmd;
  return new Promise((resolve) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ stdout, stderr, code: typeof code === 'number' ? code : 1 });
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

export async function pidsInNs(ns: string): Promise<number[]> {
  try {
    const { stdout } = await run('ip', ['netns', 'pids', ns]);
    return stdout.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function socketExists(dir: string): boolean {
  return existsSync(dir);
}

/** An interface's MAC address and its first global address of `family`, inside namespace `ns`. */
export function ifaceAddr(ns: string, dev: string, family = 'inet'): { mac: string; ip: string } {
  const out = execFileSync('ip', ['-n', ns, '-j', 'addr', 'show', 'dev', dev], { encoding: 'utf8' });
  const j = JSON.parse(out) as { address: string; addr_info: { family: string; local: string; scope: string }[] }[];
  return { mac: j[0]!.address, ip: j[0]!.addr_info.find((a) => a.family === family && a.scope === 'global')!.local };
}
