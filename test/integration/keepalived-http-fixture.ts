// What the keepalived endpoint tests share: a real HTTP real server on 127.0.0.2, a
// keepalived.conf with one virtual server on 127.0.0.1 whose real server HTTP_GET checks
// quickly (delay_loop 0.3 + retry 1 × 0.2 + 2 × connect_timeout 0.5 = 1.5 s to DOWN), and a
// `tsvs keepalived -n -l` process with its log kept for failure messages.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { TSVS } from './harness.js';

/** An HTTP server on 127.0.0.2:`port` answering "ok" to every request. */
export async function httpRealServer(port: number): Promise<Server> {
  const rs = createServer((_q, res) => {
    res.writeHead(200, { 'content-length': 3, connection: 'close' });
    res.end('ok\n');
  });
  await new Promise<void>((r, j) => {
    rs.once('error', j);
    rs.listen(port, '127.0.0.2', () => r());
  });
  return rs;
}

export async function stopServer(rs: Server | undefined): Promise<void> {
  if (!rs?.listening) return;
  rs.closeAllConnections();
  await new Promise<void>((r) => rs.close(() => r()));
}

/** Writes DIR/keepalived.conf: 127.0.0.1:vport → 127.0.0.2:rport checked by HTTP_GET. */
export function writeCheckedConf(dir: string, vport: number, rport: number, realServerExtra = ''): string {
  const file = join(dir, 'keepalived.conf');
  writeFileSync(
    file,
    `virtual_server 127.0.0.1 ${vport} {
  delay_loop 0.3
  connect_timeout 0.5
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 127.0.0.2 ${rport} {
    weight 1
${realServerExtra}    HTTP_GET {
      url {
        path /health
        status_code 200
      }
      retry 1
      delay_before_retry 0.2
    }
  }
}
`,
  );
  return file;
}

/** `tsvs keepalived -n -l [flags] -f FILE -p DIR/ka.pid`; its stderr goes to `log`. */
export function spawnKeepalived(
  dir: string,
  file: string,
  flags: string[],
  env: NodeJS.ProcessEnv,
  log: (s: string) => void,
): ChildProcess {
  const ka = spawn(process.execPath, [TSVS, 'keepalived', '-n', '-l', ...flags, '-f', file, '-p', join(dir, 'ka.pid')], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  ka.stderr!.on('data', (b: Buffer) => log(b.toString()));
  return ka;
}

export async function stopKeepalived(ka: ChildProcess | null): Promise<void> {
  if (!ka || ka.exitCode !== null) return;
  ka.kill('SIGTERM');
  await new Promise((r) => ka.once('exit', r));
}
