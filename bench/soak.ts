// `npm run soak [-- MINUTES]` (default 30; root; not in CI): a copy of the lab seed002-nat on the packet
// engine for MINUTES of mixed traffic (small requests and 1 MB downloads in two client loops)
// while real server web1's web server dies and comes back every FLAP_S seconds and web2's weight
// changes every second (the scheduler every 10 s). A health checker's part is played by
// deleting web1 from the service when it dies and adding it back when it answers. Prints, every
// SAMPLE_S seconds, the director's RSS, conns, open descriptors and the requests so far; at the
// end, the failed requests by class (bench/soak-failures.ts) and the file with one line per
// failure (its dest and state in the director's conn table, what the soak was doing around it)
// beside the file of everything the soak did (SOAK_LOG=PREFIX names them; default in the tmp dir).

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { labDown, labUp, nsName } from '../src/lab/lab.js';
import { findLab } from '../src/lab/labs.js';
import { type Classified, classify, type Death, type Failure, LOG_HEADER, logLine, type SoakEvent, summary } from './soak-failures.js';

const FLAP_S = 7;
/** How long web1 stays down per flap. */
const DOWN_S = 3;
const SAMPLE_S = 30;
/** curl's --max-time: a request in flight when web1 died ends (fails) within it. */
const MAX_TIME_MS = 5000;
/** Larger than a `tsvsadm -L -n -c` of the soak's 10-20 k conns (about 100 B a line). */
const LIST_MAX_BUFFER = 64 << 20;

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
const WEB1 = '192.168.0.10:80';
const WEB2 = '192.168.0.20:80';
const logPrefix = process.env.SOAK_LOG ?? join(tmpdir(), `tsvs-soak-${new Date().toISOString().replace(/[:.]/g, '-')}`);

const run = promisify(execFile);
async function inNs(ns: string, cmd: string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, ...cmd], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: LIST_MAX_BUFFER,
  });
  return stdout;
}

interface Status {
  pid: number;
  conns: number;
  drops: Record<string, number>;
}
async function status(): Promise<Status> {
  return JSON.parse(await inNs(director, [process.execPath, TSVS, 'status', '--json'])) as Status;
}

async function sample(pid: number): Promise<{ rssMb: number; conns: number; fds: number }> {
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  const st = await status();
  return { rssMb: Math.round(rss * 10) / 10, conns: st.conns, fds: readdirSync(`/proc/${pid}/fd`).length };
}

let t0 = Date.now();
const now = (): number => Date.now() - t0;
let requests = 0;
const failures: Failure[] = [];
const events: SoakEvent[] = [];
const deaths: Death[] = [];
const children: ChildProcess[] = [];
const pending: NodeJS.Timeout[] = [];

/** Runs one tsvsadm command in the director, recorded in the timeline. */
async function adm(what: string, dest: string | null, args: string[]): Promise<SoakEvent> {
  const e: SoakEvent = { t0: now(), t1: 0, what, dest };
  await inNs(director, [process.execPath, TSVSADM, ...args]);
  e.t1 = now();
  events.push(e);
  return e;
}

// The failures waiting for their conn to be looked up; one lookup at a time serves them all.
let unresolved: Failure[] = [];
let lookingUp = false;
let lastDrops: Record<string, number> = {};
async function lookUp(): Promise<void> {
  if (lookingUp) return;
  lookingUp = true;
  try {
    while (unresolved.length > 0) {
      const batch = unresolved;
      unresolved = [];
      const [list, st] = await Promise.all([inNs(director, [process.execPath, TSVSADM, '-L', '-n', '-c']), status()]);
      // "TCP  00:59  TIME_WAIT   172.25.254.200:41234 172.25.254.100:80  192.168.0.20:80"
      const byPort = new Map<number, { state: string; dest: string }>();
      for (const line of list.split('\n')) {
        const f = line.trim().split(/\s+/);
        if (f.length < 6 || f[0] !== 'TCP') continue;
        byPort.set(Number(f[3]!.slice(f[3]!.lastIndexOf(':') + 1)), { state: f[2]!, dest: f[5]! });
      }
      const grown: Record<string, number> = {};
      for (const [k, v] of Object.entries(st.drops)) if (v > (lastDrops[k] ?? 0)) grown[k] = v - (lastDrops[k] ?? 0);
      lastDrops = st.drops;
      for (const f of batch) {
        const c = byPort.get(f.cport);
        f.dest = c?.dest ?? null;
        f.state = c?.state ?? null;
        f.drops = grown;
        failures.push(f);
      }
    }
  } finally {
    lookingUp = false;
  }
}

// One line per request: status, curl's exit code, source port, connect and total time (s),
// bytes, error message (last: it has spaces).
const W = '%{http_code}\\t%{exitcode}\\t%{local_port}\\t%{time_connect}\\t%{time_total}\\t%{size_download}\\t%{errormsg}\\n';
function clientLoop(path: string): void {
  const script = `while true; do curl -s -o /dev/null -w '${W}' --max-time ${MAX_TIME_MS / 1000} http://${VIP}${path}; done`;
  const c = spawn('ip', ['netns', 'exec', client, 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  let buf = '';
  c.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const [code, exit, port, connect, total, size, ...msg] = buf.slice(0, nl).split('\t');
      buf = buf.slice(nl + 1);
      requests++;
      if (code === '200' && exit === '0') continue;
      const end = now();
      unresolved.push({
        end,
        start: end - Math.round(Number(total) * 1000),
        kind: `http ${path}`,
        exit: Number(exit),
        status: Number(code),
        error: msg.join(' '),
        cport: Number(port),
        connectMs: Math.round(Number(connect) * 1000),
        bytes: Number(size),
        dest: null,
        state: null,
        drops: {},
      });
      void lookUp();
    }
  });
  children.push(c);
}

async function webPids(): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', web1], { encoding: 'utf8' });
  return stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('http-server');
      } catch {
        return false;
      }
    });
}

/** web1 dies; a health checker (keepalived's role) takes it out at once and puts it back when it answers. */
async function flapWeb1(): Promise<void> {
  const pids = await webPids();
  const kill = now();
  for (const p of pids) process.kill(p, 'SIGKILL');
  events.push({ t0: kill, t1: kill, what: 'kill web1', dest: WEB1 });
  const out = await adm('-d web1', WEB1, ['-d', '-t', `${VIP}:80`, '-r', WEB1]);
  deaths.push({ dest: WEB1, kill, removed: out.t1 });
}

let stopping = false;
/** web1 is in the rules (the next flap waits for it). */
let web1In = true;
/**
 * web1's web server starts again; the checker puts web1 back once it answers (the server's
 * "ready", printed when it listens), as keepalived re-adds a real server after a good check:
 * a fixed delay put it back before a slow start on a loaded machine listened, and the
 * requests scheduled to it in between were refused.
 */
function restartWeb1(): void {
  const c = spawn('ip', ['netns', 'exec', web1, process.execPath, HTTP, 'web1', '80'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  c.unref();
  events.push({ t0: now(), t1: now(), what: 'start web1', dest: WEB1 });
  let out = '';
  c.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    if (!out.includes('ready\n')) return;
    c.stdout!.destroy();
    events.push({ t0: now(), t1: now(), what: 'web1 ready', dest: WEB1 });
    if (stopping) return;
    void adm('-a web1', WEB1, ['-a', '-t', `${VIP}:80`, '-r', WEB1, '-m']).then(() => {
      web1In = true;
    });
  });
}

async function main(): Promise<void> {
  process.stdout.write(`soak: ${minutes} min on ${lab.name}, a copy of seed002-nat (packet engine)\n`);
  await labUp(lab, () => {}, env);
  const first0 = await status();
  const pid = first0.pid;
  lastDrops = first0.drops;
  t0 = Date.now();
  clientLoop('/');
  clientLoop('/blob/1048576');
  const end = minutes * 60_000;
  let lastFlap = 0;
  let changes = 0;
  const first = await sample(pid);
  process.stdout.write(`t=0s rss=${first.rssMb}MB conns=${first.conns} fds=${first.fds} requests=0\n`);
  let sampled = 0;
  while (now() < end) {
    // Once per wall-clock second (a slow tsvsadm on a loaded machine skips seconds, not time).
    const next = (Math.floor(now() / 1000) + 1) * 1000;
    await new Promise((r) => setTimeout(r, next - now()));
    const second = Math.round(now() / 1000);
    // Rules change every second: web2's weight 1..5; the scheduler every 10 s.
    const w = String(1 + (second % 5));
    await adm(`-e web2 -w ${w}`, WEB2, ['-e', '-t', `${VIP}:80`, '-r', WEB2, '-m', '-w', w]);
    if (second % 10 === 0) {
      const s = second % 20 === 0 ? 'rr' : 'wlc';
      await adm(`-E -s ${s}`, null, ['-E', '-t', `${VIP}:80`, '-s', s]);
    }
    changes++;
    // The next flap waits for web1 to be back in the rules: on a loaded machine the re-add
    // can come later than FLAP_S.
    if (web1In && second - lastFlap >= FLAP_S) {
      lastFlap = second;
      web1In = false;
      // Requests in flight to web1 when it died fail; no others should.
      await flapWeb1();
      pending.push(setTimeout(restartWeb1, DOWN_S * 1000));
    }
    if (second - sampled >= SAMPLE_S) {
      sampled = second;
      const s = await sample(pid);
      process.stdout.write(
        `t=${second}s rss=${s.rssMb}MB conns=${s.conns} fds=${s.fds} requests=${requests} failed=${failures.length + unresolved.length}\n`,
      );
    }
  }
  for (const c of children) c.kill('SIGKILL');
  // A web1 restart still pending would act on the lab after it is torn down.
  stopping = true;
  for (const t of pending) clearTimeout(t);
  // The last failures' conns are looked up before the lab goes.
  while (lookingUp || unresolved.length > 0) {
    await lookUp();
    await new Promise((r) => setTimeout(r, 100));
  }
  const last = await sample(pid);
  const classified: Classified[] = failures.map((f) => classify(f, deaths, events)).sort((a, b) => a.end - b.end);
  writeFileSync(`${logPrefix}.failures.tsv`, [LOG_HEADER, ...classified.map(logLine)].join('\n') + '\n');
  writeFileSync(
    `${logPrefix}.events.tsv`,
    ['t0_ms\tt1_ms\twhat\tdest', ...events.map((e) => `${e.t0}\t${e.t1}\t${e.what}\t${e.dest ?? '-'}`)].join('\n') + '\n',
  );
  const byClass = [...summary(classified)].map(([c, n]) => `${n} ${c}`).join('; ');
  process.stdout.write(
    `soak done: ${requests} requests, ${classified.length} failed (${byClass}); RSS ${first.rssMb} → ${last.rssMb} MB, ` +
      `conns ${first.conns} → ${last.conns}, fds ${first.fds} → ${last.fds}; ${changes} rule changes, ` +
      `${deaths.length} deaths of web1 in ${Math.round(now() / 1000)} s; director pid unchanged: ${(await status()).pid === pid}\n` +
      `failures: ${logPrefix}.failures.tsv; what the soak did: ${logPrefix}.events.tsv\n`,
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
