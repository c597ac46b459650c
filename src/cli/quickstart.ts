// `npm start` / `tsvs quickstart`: three demo HTTP backends on 127.0.0.1:9001–9003, each
// answering with its own name, behind a director on the proxy engine loaded from
// examples/quickstart.rules (VIP 127.0.0.1:8080, wrr), with the dashboard and /metrics on
// 127.0.0.1:8081 (TSVS_HTTP overrides). No root needed; Ctrl-C stops it all.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon } from '../control/daemon.js';

/** The dashboard's port when TSVS_HTTP does not say; a free one is taken if it is busy. */
const DASHBOARD = '127.0.0.1:8081';

const BACKENDS = [
  { name: 'backend-1', port: 9001 },
  { name: 'backend-2', port: 9002 },
  { name: 'backend-3', port: 9003 },
];

function backend(name: string, port: number): Promise<Server> {
  const s = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`${name}\n`);
    void req;
  });
  return new Promise((resolve, reject) => {
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on 127.0.0.1:${port} for ${name}: ${e.code ?? e.message}`)),
    );
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

export async function quickstartMain(_argv: string[]): Promise<number> {
  const rules = fileURLToPath(new URL('../../examples/quickstart.rules', import.meta.url));
  const runDir = mkdtempSync(join(tmpdir(), 'tsvs-quickstart-'));
  process.env.TSVS_RUN_DIR = runDir;
  const servers: Server[] = [];
  const cleanup = async (d?: { stop(): Promise<void> }) => {
    await d?.stop();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    rmSync(runDir, { recursive: true, force: true });
  };
  let daemon: { stop(): Promise<void>; httpUrl: string | null } | undefined;
  try {
    for (const b of BACKENDS) servers.push(await backend(b.name, b.port));
    const start = (http: string) => startDaemon({ engine: 'proxy', runDir, rulesFile: rules, watchNamespace: false, http });
    const http = process.env.TSVS_HTTP || DASHBOARD;
    daemon = await start(http).catch((e: Error) => {
      if (process.env.TSVS_HTTP || !e.message.startsWith('cannot serve HTTP')) throw e;
      return start('127.0.0.1:0');
    });
  } catch (e) {
    await cleanup(daemon);
    process.stderr.write(`tsvs quickstart: ${(e as Error).message}\n`);
    return 1;
  }
  const bin = fileURLToPath(new URL('../../bin/tsvsadm', import.meta.url));
  process.stdout.write(
    [
      '',
      'tsvs quick start: three HTTP backends (127.0.0.1:9001-9003) behind a director on',
      `the proxy engine at 127.0.0.1:8080, scheduler wrr, weights 3:2:1 (${rules}).`,
      '',
      'Try:',
      '  curl http://127.0.0.1:8080/',
      `  TSVS_RUN_DIR=${runDir} ${bin} -L -n --stats`,
      `  dashboard: ${daemon.httpUrl ?? ''}   metrics: curl ${daemon.httpUrl ?? ''}metrics`,
      '',
      'Ctrl-C stops the director and the backends.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await cleanup(daemon);
  process.stdout.write('tsvs quick start: stopped\n');
  return 0;
}
