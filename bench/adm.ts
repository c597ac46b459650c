// tsvsadm start-up to exit (`tsvsadm -L -n`, called thousands of times from scripts) and
// `-R` of 10,000 lines, against a director started for the run in a private run directory.
// Peer: `node -e ''`, the floor any Node program pays, measured in the same run.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSVSADM = join(ROOT, 'bin/tsvsadm');
const TSVS = join(ROOT, 'bin/tsvs');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeRuns(cmd: string[], n: number, input?: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd[0]!, cmd.slice(1), { input, encoding: 'utf8', env: process.env });
    if (r.status !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.status}: ${r.stderr}`);
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

export function benchAdm(): { name: string; medianMs: number; peerMs: number; target: string }[] {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-bench-'));
  process.env.TSVS_RUN_DIR = dir;
  execFileSync(process.execPath, [TSVS, 'daemon', '--detach', '--engine', 'proxy']);
  try {
    const lines: string[] = ['-C']; // each timed run starts from an empty table
    for (let s = 0; s < 1000; s++) {
      const vip = `10.${(s >> 8) & 255}.${s & 255}.1:80`;
      lines.push(`-A -t ${vip} -s rr`);
      for (let d = 1; d <= 9; d++) lines.push(`-a -t ${vip} -r 192.168.${s & 255}.${d}:80 -m -w ${d}`);
    }
    const restore = timeRuns([process.execPath, TSVSADM, '-R'], 3, `${lines.join('\n')}\n`);
    timeRuns([process.execPath, TSVSADM, '-C'], 1);
    timeRuns([process.execPath, TSVSADM, '-A', '-t', '10.0.0.1:80', '-s', 'rr'], 1);
    const list = timeRuns([process.execPath, TSVSADM, '-L', '-n'], 21);
    const peer = timeRuns([process.execPath, '-e', ''], 21);
    return [
      { name: 'tsvsadm -L -n (start to exit)', medianMs: median(list), peerMs: median(peer), target: '<= 150 ms' },
      {
        name: 'tsvsadm -R of 10,001 lines (-C, 1000 services, 9000 dests)',
        medianMs: median(restore),
        peerMs: median(peer),
        target: '<= 2000 ms',
      },
    ];
  } finally {
    spawnSync(process.execPath, [TSVS, 'daemon', 'stop']);
  }
}
