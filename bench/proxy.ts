// `npm run bench -- proxy`: the proxy engine against HAProxy (tcp mode) and nginx (stream) in
// one run, on loopback, each proxy given the same number of cores (TSVS_BENCH_CORES, default
// every core up to 4: tsvs worker threads, HAProxy's nbthread, nginx's worker_processes), in
// front of the same backends: nginx serving a small HTTP response (short connections, wrk with
// a new connection per request) and an iperf3 server (bulk throughput). The proxy engine on one
// thread is measured too, as a reference. The proxies take turns, TSVS_BENCH_ROUNDS times
// (default 3), and each figure is the median of its rounds, so that a noisy moment of a shared
// machine does not land on one proxy only. Figures are printed as ratios to HAProxy, with each
// proxy's own CPU time per short connection (from /proc), which the shared cores hide.
// TSVS_BENCH_ONLY=tsvs,haproxy limits the rows and TSVS_BENCH_BULK=0 skips the bulk rounds (for
// quick iterations).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './median.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BACKEND_HTTP = 9101;
const BACKEND_IPERF = 9102;
const PORTS = { tsvs: [8101, 8102], 'tsvs-1t': [8131, 8132], haproxy: [8111, 8112], nginx: [8121, 8122] } as const;
const SECONDS = Number(process.env.TSVS_BENCH_SECONDS ?? 5);
const CORES = Number(process.env.TSVS_BENCH_CORES ?? Math.min(availableParallelism(), 4));
const ONLY = process.env.TSVS_BENCH_ONLY?.split(',');
const ROUNDS = Number(process.env.TSVS_BENCH_ROUNDS ?? 3);
/** TSVS_BENCH_BULK=0 skips the iperf3 rounds (quick iterations on the short-connection rate). */
const BULK_ROUNDS = process.env.TSVS_BENCH_BULK === '0' ? 0 : ROUNDS;

/** Debian ships nginx's stream proxy as a loadable module. */
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function ensureTools(): string | null {
  const missing = ['haproxy', 'nginx', 'wrk', 'iperf3'].filter((c) => !have(c));
  if (!existsSync(STREAM_MODULE)) missing.push('libnginx-mod-stream');
  if (missing.length === 0) return null;
  if (process.getuid?.() !== 0) return `missing ${missing.join(', ')} (install them, or run as root)`;
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return null;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** CPU seconds (user + system) used so far by a process and its children (nginx's workers). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let ticks = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(name) === pid || Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100; // USER_HZ
}

/** Short connections per second, and the proxy's CPU microseconds per connection. */
function wrk(port: number, pid: number | undefined): { rate: number; cpuUs: number } {
  const c0 = cpuSeconds(pid);
  const r = spawnSync('wrk', ['-t1', '-c32', `-d${SECONDS}s`, '-H', 'Connection: close', `http://127.0.0.1:${port}/`], {
    encoding: 'utf8',
  });
  const c1 = cpuSeconds(pid);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  const rate = m ? Number(m[1]) : 0;
  return { rate, cpuUs: rate ? ((c1 - c0) * 1e6) / (rate * SECONDS) : 0 };
}

function iperf(port: number): number {
  const r = spawnSync('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', String(SECONDS), '-J'], { encoding: 'utf8' });
  try {
    return (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
  } catch {
    return 0;
  }
}

export async function benchProxy(): Promise<void> {
  const why = ensureTools();
  if (why) {
    process.stdout.write(`\nproxy benchmark skipped: ${why}\n`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-bench-proxy-'));
  const children: ReturnType<typeof spawn>[] = [];
  const nginxConf = (
    body: string,
    workers = 1,
  ) => `daemon off; worker_processes ${workers}; pid ${dir}/nginx-$$.pid; error_log ${dir}/nginx.log;
events { worker_connections 4096; }
${body}`;
  writeFileSync(
    `${dir}/backend.conf`,
    nginxConf(`http { access_log off; server { listen 127.0.0.1:${BACKEND_HTTP}; location / { return 200 "backend\\n"; } } }`).replace(
      '$$',
      'b',
    ),
  );
  writeFileSync(
    `${dir}/stream.conf`,
    `load_module ${STREAM_MODULE};\n${nginxConf(
      `stream { server { listen 127.0.0.1:${PORTS.nginx[0]}; proxy_pass 127.0.0.1:${BACKEND_HTTP}; }
server { listen 127.0.0.1:${PORTS.nginx[1]}; proxy_pass 127.0.0.1:${BACKEND_IPERF}; } }`,
      CORES,
    ).replace('$$', 's')}`,
  );
  writeFileSync(
    `${dir}/haproxy.cfg`,
    `global\n  nbthread ${CORES}\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n` +
      `listen http\n  bind 127.0.0.1:${PORTS.haproxy[0]}\n  server b 127.0.0.1:${BACKEND_HTTP}\n` +
      `listen bulk\n  bind 127.0.0.1:${PORTS.haproxy[1]}\n  server b 127.0.0.1:${BACKEND_IPERF}\n`,
  );
  const env = { ...process.env, TSVS_RUN_DIR: dir, TSVS_PROXY_WORKERS: String(CORES) };
  // The reference: the same engine on the daemon's thread alone (a second director, own run dir).
  const env1 = { ...process.env, TSVS_RUN_DIR: join(dir, 'one-thread'), TSVS_PROXY_WORKERS: '0' };
  try {
    children.push(spawn('nginx', ['-c', `${dir}/backend.conf`], { stdio: 'ignore' }));
    children.push(spawn('iperf3', ['-s', '-p', String(BACKEND_IPERF)], { stdio: 'ignore' }));
    const pids: Record<string, number | undefined> = {};
    children.push(spawn('nginx', ['-c', `${dir}/stream.conf`], { stdio: 'ignore' }));
    pids.nginx = children.at(-1)!.pid;
    children.push(spawn('haproxy', ['-f', `${dir}/haproxy.cfg`], { stdio: 'ignore' }));
    pids.haproxy = children.at(-1)!.pid;
    const adm = (e: NodeJS.ProcessEnv, ...a: string[]) => execFileSync(process.execPath, [join(ROOT, 'bin/tsvsadm'), ...a], { env: e });
    for (const [e, [http, bulk]] of [
      [env, PORTS.tsvs],
      [env1, PORTS['tsvs-1t']],
    ] as const) {
      mkdirSync(e.TSVS_RUN_DIR, { recursive: true });
      // A child of this process like the peers, not --detach: a detached daemon would be the
      // only proxy in a session of its own, and with the kernel's autogroup scheduling a session
      // is a scheduling group, which changes its share of the CPU against wrk and the backends.
      children.push(spawn(process.execPath, [join(ROOT, 'bin/tsvs'), 'daemon', '--engine', 'proxy'], { env: e, stdio: 'ignore' }));
      pids[http === PORTS.tsvs[0] ? 'tsvs' : 'tsvs-1t'] = children.at(-1)!.pid;
      for (let i = 0; i < 100 && spawnSync(process.execPath, [join(ROOT, 'bin/tsvs'), 'status'], { env: e }).status !== 0; i++)
        await sleep(100);
      adm(e, '-A', '-t', `127.0.0.1:${http}`, '-s', 'rr');
      adm(e, '-a', '-t', `127.0.0.1:${http}`, '-r', `127.0.0.1:${BACKEND_HTTP}`, '-m');
      adm(e, '-A', '-t', `127.0.0.1:${bulk}`, '-s', 'rr');
      adm(e, '-a', '-t', `127.0.0.1:${bulk}`, '-r', `127.0.0.1:${BACKEND_IPERF}`, '-m');
    }
    await sleep(500);
    const peers = Object.entries(PORTS).filter(([name]) => !ONLY || ONLY.includes(name) || name === 'haproxy');
    const shorts = new Map<string, number[]>(peers.map(([n]) => [n, []]));
    const bulks = new Map<string, number[]>(peers.map(([n]) => [n, []]));
    const cpus = new Map<string, number[]>(peers.map(([n]) => [n, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, [http]] of peers) {
        const w = wrk(http, pids[name]);
        shorts.get(name)!.push(w.rate);
        cpus.get(name)!.push(w.cpuUs);
      }
    }
    for (let r = 0; r < BULK_ROUNDS; r++) for (const [name, [, bulk]] of peers) bulks.get(name)!.push(iperf(bulk));
    const rows = peers.map(([name]) => ({
      proxy: name,
      short: median(shorts.get(name)!),
      cpu: median(cpus.get(name)!),
      bulk: median(bulks.get(name)!),
    }));
    const base = rows.find((r) => r.proxy === 'haproxy')!;
    process.stdout.write(
      `\nProxies on loopback, ${CORES} core(s) each (tsvs-1t: the proxy engine on one thread, for reference), median of ${ROUNDS} rounds of ${SECONDS} s, taking turns (peer: HAProxy, same run)\n`,
    );
    process.stdout.write('proxy      short conns/s   ratio   CPU us/conn   bulk Gbit/s   ratio\n');
    for (const r of rows) {
      process.stdout.write(
        `${r.proxy.padEnd(8)} ${r.short.toFixed(0).padStart(15)} ${(r.short / base.short).toFixed(2).padStart(7)} ${r.cpu.toFixed(0).padStart(13)} ${BULK_ROUNDS ? `${(r.bulk / 1e9).toFixed(2).padStart(13)} ${(r.bulk / base.bulk).toFixed(2).padStart(7)}` : '            -       -'}\n`,
      );
    }
    process.stdout.write('(CPU us/conn: CPU time of the proxy, all its threads and processes, per short connection)\n');
    process.stdout.write('rounds (short conns/s | bulk Gbit/s):\n');
    for (const [name] of peers) {
      const sh = shorts
        .get(name)!
        .map((x) => x.toFixed(0))
        .join(' ');
      const bu = bulks
        .get(name)!
        .map((x) => (x / 1e9).toFixed(2))
        .join(' ');
      process.stdout.write(`  ${name.padEnd(8)} ${sh} | ${bu}\n`);
    }
  } finally {
    for (const e of [env, env1]) spawnSync(process.execPath, [join(ROOT, 'bin/tsvs'), 'daemon', 'stop'], { env: e });
    for (const c of children) c.kill('SIGTERM');
  }
}
