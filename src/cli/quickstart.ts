// `npm start` / `tsvs quickstart [--port N]`: three demo HTTP backends on 127.0.0.1 (ports
// 9001–9003 where free), each answering with its own name, behind a director on the proxy
// engine loaded from examples/quickstart.rules (VIP 127.0.0.1:8080, wrr). No root needed;
// Ctrl-C stops it all. A port that is taken never goes unnoticed: 8080 (the default) is
// replaced by a free port, which the banner prints; a port given with --port must be free.
// The dashboard and /metrics are served on 127.0.0.1:8081 (a free port if that is busy;
// TSVS_HTTP overrides).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DaemonStatus, startDaemon } from '../control/daemon.js';
import { request } from './client.js';
import { UsageError, wantsHelp } from './usage.js';

const USAGE = `usage: tsvs quickstart [--port N]
  three demo HTTP backends behind a director on the proxy engine at 127.0.0.1:N
  (default 8080, or a free port printed at start when 8080 is taken); no root needed.
  Ctrl-C stops everything. npm start runs it.
`;

const HOST = '127.0.0.1';
const DEFAULT_PORT = 8080;
/** The dashboard's address when TSVS_HTTP does not say; a free port is taken if it is busy. */
const DASHBOARD = '127.0.0.1:8081';
const BACKENDS = [
  { name: 'backend-1', port: 9001 },
  { name: 'backend-2', port: 9002 },
  { name: 'backend-3', port: 9003 },
];

function inUse(e: NodeJS.ErrnoException): boolean {
  return e.code === 'EADDRINUSE' || e.code === 'EACCES';
}

/** Listens on `port`, or on a free port when `port` is taken and `fallback` allows. */
function listenOn<S extends Server | ReturnType<typeof createTcpServer>>(s: S, port: number, fallback: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const attempt = (p: number) => {
      s.once('error', (e: NodeJS.ErrnoException) => {
        if (fallback && p !== 0 && inUse(e)) attempt(0);
        else reject(new Error(`cannot listen on ${HOST}:${p}: ${e.code ?? e.message}`));
      });
      s.listen(p, HOST, () => resolve((s.address() as AddressInfo).port));
    };
    attempt(port);
  });
}

async function backend(name: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`${name}\n`);
    void req;
  });
  return { server, port: await listenOn(server, port, true) };
}

/**
 * The port the director will serve: `wanted` when free; else, for the default only, a free
 * one. The probe closes before the director listens, so the director's own status is checked
 * too (see quickstartMain).
 */
async function vipPort(wanted: number, explicit: boolean): Promise<number> {
  const probe = createTcpServer();
  try {
    return await listenOn(probe, wanted, !explicit);
  } catch (e) {
    throw new Error(`${(e as Error).message}: choose another port with --port N`);
  } finally {
    await new Promise((r) => probe.close(r));
  }
}

function parsePort(argv: string[]): number | null {
  if (argv.length === 0) return null;
  if (argv[0] !== '--port' || argv.length !== 2) throw new UsageError(`unknown option ${argv.join(' ')}\n${USAGE}`);
  const s = argv[1]!;
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw new UsageError(`--port ${s}: a TCP port 1-65535\n${USAGE}`);
  return n;
}

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** The banner: kept as data so that other entry points (a dashboard URL) add a line. */
export interface Banner {
  about: string[];
  tryLines: string[];
}

function printBanner(b: Banner): void {
  process.stdout.write(
    ['', ...b.about, '', 'Try:', ...b.tryLines.map((l) => `  ${l}`), '', 'Ctrl-C stops the director and the backends.', ''].join('\n'),
  );
}

export async function quickstartMain(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return 0;
  }
  const explicit = parsePort(argv);
  const example = fileURLToPath(new URL('../../examples/quickstart.rules', import.meta.url));
  const runDir = mkdtempSync(join(tmpdir(), 'tsvs-quickstart-'));
  process.env.TSVS_RUN_DIR = runDir;
  const servers: Server[] = [];
  let daemon: { stop(): Promise<void>; socket: string; httpUrl: string | null } | undefined;
  const cleanup = async () => {
    await daemon?.stop();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    rmSync(runDir, { recursive: true, force: true });
  };
  let port = explicit ?? DEFAULT_PORT;
  const notes: string[] = [];
  const bports: number[] = [];
  try {
    port = await vipPort(port, explicit !== null);
    if (port !== (explicit ?? DEFAULT_PORT))
      notes.push(`port ${DEFAULT_PORT} is in use by another program; the director listens on ${port} instead.`);
    // The example's rules with the ports actually used.
    let rules = readFileSync(example, 'utf8').replaceAll(`${HOST}:${DEFAULT_PORT}`, `${HOST}:${port}`);
    for (const b of BACKENDS) {
      const s = await backend(b.name, b.port);
      servers.push(s.server);
      bports.push(s.port);
      rules = rules.replaceAll(`${HOST}:${b.port} `, `${HOST}:${s.port} `);
    }
    if (bports.some((p, i) => p !== BACKENDS[i]!.port))
      notes.push(`ports ${BACKENDS.map((b) => b.port).join(', ')} were not all free; the backends use ${bports.join(', ')}.`);
    const rulesFile = join(runDir, 'quickstart.rules');
    writeFileSync(rulesFile, rules);
    const start = (http: string) => startDaemon({ engine: 'proxy', runDir, rulesFile, watchNamespace: false, http });
    daemon = await start(process.env.TSVS_HTTP || DASHBOARD).catch((e: Error) => {
      if (process.env.TSVS_HTTP || !e.message.startsWith('cannot serve HTTP')) throw e;
      return start('127.0.0.1:0');
    });
    // Fail loudly if the director could not take the port after all (taken since the probe).
    await request(daemon.socket, { op: 'adm', argv: ['-L', '-n'], argv0: 'ipvsadm', stdin: '' });
    const st = await request<DaemonStatus>(daemon.socket, { op: 'status' });
    if (st.unserved.length) throw new Error(st.unserved.map((u) => `${u.rule}: ${u.reason}`).join('; '));
  } catch (e) {
    await cleanup();
    process.stderr.write(`tsvs quickstart: ${(e as Error).message}\n`);
    return 1;
  }
  const bin = fileURLToPath(new URL('../../bin/tsvsadm', import.meta.url));
  printBanner({
    about: [
      `tsvs quick start: three HTTP backends (${HOST}:${bports.join(', ')}) behind a director`,
      `on the proxy engine at ${HOST}:${port}, scheduler wrr, weights 3:2:1`,
      `(the rules of ${example}).`,
      ...notes,
    ],
    tryLines: [
      `curl http://${HOST}:${port}/`,
      `TSVS_RUN_DIR=${shellWord(runDir)} ${shellWord(bin)} -L -n --stats`,
      ...(daemon.httpUrl ? [`dashboard: ${daemon.httpUrl}   metrics: curl ${daemon.httpUrl}metrics`] : []),
    ],
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await cleanup();
  process.stdout.write('tsvs quick start: stopped\n');
  return 0;
}
