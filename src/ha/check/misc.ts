// MISC_CHECK: runs misc_path (its own process: the only checker that has one), killed after
// misc_timeout. Exit 0 = up; with misc_dynamic, 2..255 = up with weight code − 2 (§B.4).
import { spawn } from 'node:child_process';
import type { CheckerConf } from '../lvs/types.js';
import { MAX_MISC_OUTPUT } from './constants.js';
import type { ProbeResult } from './probe.js';

export function miscProbe(c: CheckerConf): Promise<ProbeResult> {
  const m = c.misc;
  if (!m) return Promise.resolve({ ok: false, detail: 'no misc_path' });
  return new Promise((resolve) => {
    const [cmd, ...args] = m.argv as [string, ...string[]];
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    const keep = (b: Buffer): void => {
      if (out.length < MAX_MISC_OUTPUT) out += b.toString('utf8').slice(0, MAX_MISC_OUTPUT - out.length);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The script's whole process group: a shell script's children must not outlive it.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, m.timeoutMs);
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: `cannot run ${cmd}: ${e.code ?? e.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const tail = out.trim() ? `: ${out.trim().split('\n').pop()}` : '';
      if (timedOut) return resolve({ ok: false, detail: `killed after misc_timeout ${m.timeoutMs} ms` });
      if (code === null) return resolve({ ok: false, detail: `killed by ${signal ?? 'a signal'}` });
      if (code === 0) return resolve({ ok: true, detail: `exit 0${tail}` });
      if (m.dynamic && code >= 2) return resolve({ ok: true, detail: `exit ${code}${tail}`, weight: code - 2 });
      resolve({ ok: false, detail: `exit ${code}${tail}` });
    });
  });
}
