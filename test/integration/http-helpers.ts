// Shared by the HTTP endpoint tests: a director on the proxy engine in this process with
// demo HTTP backends on loopback, a bounded client, and tool lookup that skips on a laptop
// but fails under CI=true.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DaemonHandle, startDaemon } from '../../src/control/daemon.js';
import { freePort } from '../helpers/net.js';

/** Skip reason, or false; under CI=true a missing tool is an error. */
export function requireTool(bin: string, pkg: string): string | false {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return false;
  } catch {
    const why = `${bin} is not installed (Debian package ${pkg}; .ci/run installs it)`;
    if (process.env.CI === 'true') throw new Error(`CI must run this test: ${why}`);
    return why;
  }
}

export interface Lab {
  daemon: DaemonHandle;
  vipPort: number;
  backends: Server[];
  url: string;
  logs: string[];
  close(): Promise<void>;
}

/** A director with one wrr service on 127.0.0.1:<free port> and `n` backends. */
export async function startLab(n = 2): Promise<Lab> {
  const backends: Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
      res.end(`backend-${i + 1}\n`);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    backends.push(s);
    ports.push((s.address() as AddressInfo).port);
  }
  const vipPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-http-'));
  const rules = join(dir, 'rules');
  writeFileSync(
    rules,
    [`-A -t 127.0.0.1:${vipPort} -s wrr`, ...ports.map((p, i) => `-a -t 127.0.0.1:${vipPort} -r 127.0.0.1:${p} -m -w ${i + 1}`), ''].join(
      '\n',
    ),
  );
  const logs: string[] = [];
  const daemon = await startDaemon({
    engine: 'proxy',
    runDir: dir,
    rulesFile: rules,
    watchNamespace: false,
    http: '127.0.0.1:0',
    log: (m) => logs.push(m),
  });
  return {
    daemon,
    vipPort,
    backends,
    url: daemon.httpUrl!,
    logs,
    async close() {
      await daemon.stop();
      for (const s of backends) {
        s.closeAllConnections();
        s.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One GET with a deadline (the tests never wait unbounded). */
export function httpGet(url: string, timeoutMs = 5000, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (b: string) => {
        body += b;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
  });
}

/** `count` requests through the VIP, one at a time. */
export async function traffic(vipPort: number, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) names.push((await httpGet(`http://127.0.0.1:${vipPort}/`)).body.trim());
  return names;
}
