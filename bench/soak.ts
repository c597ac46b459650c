// `npm run soak [-- MINUTES]` (default 30; root; not in CI): a copy of the lab seed002-nat on the packet
// engine for MINUTES of mixed traffic (small requests and 1 MB downloads in two client loops)
// while real server web1's web server dies and comes back every FLAP_S seconds and web2's weight
// changes every second (the scheduler every 10 s). A health checker's part is played by
// deleting web1 from the service when it dies and adding it back when it answers. Prints, every SAMPLE_S seconds, the
// director's RSS, conns, open descriptors and the requests so far; at the end, the failed
// requests split into those while a real server was down (expected) and the rest (not).

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { labDown, labUp, nsName } from '../src/lab/lab.js';
import { findLab } from '../src/lab/labs.js';

const FLAP_S = 7;
/** How long web1 stays down per flap. */
const DOWN_S = 3;
const SAMPLE_S = 30;
/** curl's --max-time: a request in flight when web1 died ends (fails) within it. */
const MAX_TIME_MS = 5000;

const minutes = Number(process.argv[2] ?? process.env.SOAK_MINUTES ?? 30);
if (!(minutes > 0)) {
  process.stderr.write(`soak: minutes must be a positive number, got ${process.argv[2]}\n`);
  process.exit(2);
}
// A copy of seed002-nat under its own name: its namespaces (tsvs-lab-soak-nat-*) never meet
// those of the test suite's labs, so a 30-minute soak can run beside `npm test`.
const lab = { ...findLab('seed002-nat')!, name: 'soak-nat' };
const env = { TSVS_ENGINE: 'packet' };
const TSVS = fileURLToPath(new URL('../bin/tsvs', import.meta.url));
const TSVSADM = fileURLToPath(new URL('../bin/tsvsadm', import.meta.url));
const HTTP = fileURLToPath(new URL('../dist/lab/http-server.js', import.meta.url));
const director = nsName(lab, 'director');
const client = nsName(lab, 'client');
const web1 = nsName(lab, 'web1');
const VIP = '172.25.254.100';

function inNs(ns: string, cmd: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', env: { ...process.env, ...env } });
}

function directorPid(): number {
  return (JSON.parse(inNs(director, [process.execPath, TSVS, 'status', '--json'])) as { pid: number }).pid;
}

function sample(pid: number): { rssMb: number; conns: number; fds: number } {
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  const st = JSON.parse(inNs(director, [process.execPath, TSVS, 'status', '--json'])) as { conns: number };
  return { rssMb: Math.round(rss * 10) / 10, conns: st.conns, fds: readdirSync(`/proc/${pid}/fd`).length };
}

interface Outcome {
  t: number;
  ok: boolean;
}
const outcomes: Outcome[] = [];
const downs: [number, number][] = [];
const children: ChildProcess[] = [];
const pending: NodeJS.Timeout[] = [];

function clientLoop(path: string): void {
  const script = `while true; do curl -s -o /dev/null -w '%{http_code}\\n' --max-time ${MAX_TIME_MS / 1000} http://${VIP}${path}; done`;
  const c = spawn('ip', ['netns', 'exec', client, 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  let buf = '';
  c.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      outcomes.push({ t: Date.now(), ok: buf.slice(0, nl) === '200' });
      buf = buf.slice(nl + 1);
    }
  });
  children.push(c);
}

function webPids(): number[] {
  const pids = execFileSync('ip', ['netns', 'pids', web1], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
  return pids.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('http-server');
    } catch {
      return false;
    }
  });
}

async function main(): Promise<void> {
  process.stdout.write(`soak: ${minutes} min on ${lab.name}, a copy of seed002-nat (packet engine)\n`);
  await labUp(lab, () => {}, env);
  const pid = directorPid();
  clientLoop('/');
  clientLoop('/blob/1048576');
  const t0 = Date.now();
  const end = t0 + minutes * 60_000;
  let second = 0;
  let lastFlap = 0;
  let web1In = true;
  let changes = 0;
  const rows: string[] = [];
  const first = sample(pid);
  rows.push(`t=0s rss=${first.rssMb}MB conns=${first.conns} fds=${first.fds} requests=0`);
  process.stdout.write(`${rows[0]}\n`);
  let sampled = 0;
  while (Date.now() < end) {
    // Once per wall-clock second (a slow tsvsadm on a loaded machine skips seconds, not time).
    const next = t0 + (Math.floor((Date.now() - t0) / 1000) + 1) * 1000;
    await new Promise((r) => setTimeout(r, next - Date.now()));
    second = Math.round((Date.now() - t0) / 1000);
    // Rules change every second: web2's weight 1..5; the scheduler every 10 s.
    inNs(director, [process.execPath, TSVSADM, '-e', '-t', `${VIP}:80`, '-r', '192.168.0.20:80', '-m', '-w', String(1 + (second % 5))]);
    if (second % 10 === 0) inNs(director, [process.execPath, TSVSADM, '-E', '-t', `${VIP}:80`, '-s', second % 20 === 0 ? 'rr' : 'wlc']);
    changes++;
    // The next flap waits for web1 to be back in the rules: on a loaded machine the re-add
    // (timers behind synchronous tsvsadm calls) can come later than FLAP_S.
    if (web1In && second - lastFlap >= FLAP_S) {
      lastFlap = second;
      web1In = false;
      // web1 dies; a health checker (keepalived's role) takes it out at once and puts it back
      // when it answers again. Requests in flight to it when it died fail; no others should.
      for (const p of webPids()) process.kill(p, 'SIGKILL');
      const down = Date.now();
      inNs(director, [process.execPath, TSVSADM, '-d', '-t', `${VIP}:80`, '-r', '192.168.0.10:80']);
      downs.push([down, Date.now()]);
      pending.push(
        setTimeout(() => {
          spawn('ip', ['netns', 'exec', web1, process.execPath, HTTP, 'web1', '80'], { stdio: 'ignore', detached: true }).unref();
          pending.push(
            setTimeout(() => {
              inNs(director, [process.execPath, TSVSADM, '-a', '-t', `${VIP}:80`, '-r', '192.168.0.10:80', '-m']);
              web1In = true;
            }, 500),
          );
        }, DOWN_S * 1000),
      );
    }
    if (second - sampled >= SAMPLE_S) {
      sampled = second;
      const s = sample(pid);
      const fails = outcomes.filter((o) => !o.ok).length;
      const row = `t=${second}s rss=${s.rssMb}MB conns=${s.conns} fds=${s.fds} requests=${outcomes.length} failed=${fails}`;
      rows.push(row);
      process.stdout.write(`${row}\n`);
    }
  }
  for (const c of children) c.kill('SIGKILL');
  // A web1 restart still pending would act on the lab after it is torn down.
  for (const t of pending) clearTimeout(t);
  const last = sample(pid);
  const failed = outcomes.filter((o) => !o.ok);
  // Failed in flight: ended between web1's death and curl's --max-time after it was taken out.
  const duringDown = failed.filter((o) => downs.some(([a, b]) => o.t >= a && o.t <= b + MAX_TIME_MS));
  process.stdout.write(
    `soak done: ${outcomes.length} requests, ${failed.length} failed (${duringDown.length} in flight to web1 when it died; ` +
      `${failed.length - duringDown.length} otherwise); RSS ${first.rssMb} → ${last.rssMb} MB, ` +
      `conns ${first.conns} → ${last.conns}, fds ${first.fds} → ${last.fds}; ${changes} rule changes in ` +
      `${Math.round((Date.now() - t0) / 1000)} s; director pid unchanged: ${directorPid() === pid}\n`,
  );
}

const cleanup = async () => {
  for (const c of children) c.kill('SIGKILL');
  await labDown(lab);
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
try {
  await main();
} finally {
  await cleanup();
}
