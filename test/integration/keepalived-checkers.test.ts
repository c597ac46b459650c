// `tsvs keepalived` with real HTTP, TCP, TLS and DNS servers and a real MISC_CHECK script on
// loopback, driving a proxy-engine director through the tsvsadm control path: the rules the
// file asks for, servers stopped and restarted (out within keepalived's bound, back after),
// no failed request once a death is detected, inhibit_on_failure, quorum with a sorry server
// and misc_dynamic weights, a bad SIGHUP that keeps serving, a good one applied as a
// difference, SIGTERM removing what it created, and a bad file refused whole at start.
// (The packet engine's check of a NAT dest needs the packet-path fix of issue #14; this test
// uses the proxy engine, where the director's own connections are plain sockets.)
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttp, get, type Server as HttpServer } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from '../../src/cli/client.js';
import { netnsId, socketPath } from '../../src/control/paths.js';
import type { AdmReply } from '../../src/control/protocol.js';
import type { KeepalivedStatus } from '../../src/ha/status.js';
import { freePort } from '../helpers/net.js';
import { ensureBuilt, freshRunDir, inNs, TSVS } from './harness.js';

function opensslMissing(): string | false {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return false;
  } catch {
    if (process.env.CI === 'true') throw new Error('CI must run the keepalived TLS checks: openssl is missing');
    return 'openssl is not installed (the TLS real server needs a certificate made at test time)';
  }
}
const skip = opensslMissing();

// Timing chosen so each case lasts about a second: bound = delay_loop + retry × delay_before_retry
// + (retry + 1) × connect_timeout = 0.3 + 0.2 + 2 × 0.5 = 1.5 s.
const BOUND_MS = 1500;
/** Slack over the bound for process scheduling on a loaded 2-core machine. */
const SLACK_MS = 1500;
const BODY = 'hello from rs\n';
const DIGEST = createHash('md5').update(BODY).digest('hex');

const BODY_HANDLER = (_q: unknown, res: import('node:http').ServerResponse) => {
  res.writeHead(200, { 'content-length': BODY.length, connection: 'close' });
  res.end(BODY);
};

async function listen(s: HttpServer | import('node:net').Server, host: string, port: number): Promise<void> {
  await new Promise<void>((r, j) => {
    s.once('error', j);
    s.listen(port, host, () => r());
  });
}
async function close(s: HttpServer): Promise<void> {
  s.closeAllConnections?.();
  await new Promise<void>((r) => s.close(() => r()));
}

function dnsServer(): UdpSocket {
  const s = createSocket('udp4');
  s.on('message', (q, from) => {
    const a = Buffer.from(q);
    a[2] = (a[2] as number) | 0x80; // QR
    a[3] = 0; // RCODE NOERROR
    s.send(a, from.port, from.address);
  });
  return s;
}

describe('tsvs keepalived checkers', { skip, timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-ka-'));
  const runDir = freshRunDir();
  const env = { ...process.env, TSVS_RUN_DIR: runDir, TSVS_ENGINE: 'proxy' };
  const sock = socketPath(runDir, netnsId());
  const conf = join(dir, 'keepalived.conf');
  const pidFile = join(dir, 'keepalived.pid');
  const miscCode = join(dir, 'misc-code');
  const p: Record<string, number> = {};
  let http1: HttpServer;
  let http2: HttpServer;
  let tls: HttpServer;
  let dns: UdpSocket;
  let ka: ChildProcess | null = null;
  let kaLog = '';
  let tlsOpts: { key: string; cert: string };

  const adm = async (...argv: string[]): Promise<string> =>
    (await request<AdmReply>(sock, { op: 'adm', argv, argv0: 'ipvsadm', stdin: '' }, 5000)).stdout;
  const status = (): Promise<KeepalivedStatus> =>
    request<KeepalivedStatus>(sock.replace(/\.sock$/, '.keepalived.sock'), { op: 'status' }, 5000);

  /** Polls the director's rules until `pred` holds; returns the ms it took. */
  async function until(what: string, pred: (rules: string) => boolean, limitMs: number): Promise<number> {
    const t0 = Date.now();
    let last = '';
    while (Date.now() - t0 < limitMs) {
      try {
        last = await adm('-S', '-n');
        if (pred(last)) return Date.now() - t0;
      } catch {
        // director not up yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`${what}: not within ${limitMs} ms; rules:\n${last}\nkeepalived log:\n${kaLog}`);
  }

  function confText(rs2Weight = 1): string {
    return `! test configuration: every checker kind
global_defs {
  router_id tsvs-test
}
virtual_server 127.0.0.1 ${p.vip1} {
  delay_loop 0.3
  connect_timeout 0.5
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 127.0.0.2 ${p.rs1} {
    weight 1
    notify_up "${join(dir, 'notify.sh')} up"
    notify_down "${join(dir, 'notify.sh')} down"
    HTTP_GET {
      url {
        path /health
        digest ${DIGEST}
        status_code 200
      }
      retry 1
      delay_before_retry 0.2
    }
  }
  real_server 127.0.0.3 ${p.rs2} {
    weight ${rs2Weight}
    TCP_CHECK {
      retry 1
      delay_before_retry 0.2
    }
  }
}
virtual_server 127.0.0.1 ${p.vip2} {
  delay_loop 0.3
  connect_timeout 0.5
  lb_algo wrr
  protocol TCP
  inhibit_on_failure
  real_server 127.0.0.4 ${p.tls} {
    weight 3
    SSL_GET {
      url {
        path /
        status_code 200-299
      }
      virtualhost www.example.test
      enable_sni
      retry 1
      delay_before_retry 0.2
    }
  }
}
virtual_server 127.0.0.1 ${p.vip3} {
  delay_loop 0.3
  connect_timeout 0.5
  lb_algo rr
  protocol UDP
  real_server 127.0.0.5 ${p.dns} {
    DNS_CHECK {
      type A
      name example.test
      retry 1
      delay_before_retry 0.2
    }
  }
}
virtual_server 127.0.0.1 ${p.vip4} {
  delay_loop 0.3
  lb_algo rr
  protocol TCP
  quorum 2
  sorry_server 127.0.0.6 ${p.sorry}
  real_server 127.0.0.7 ${p.misc} {
    weight 2
    MISC_CHECK {
      misc_path "${join(dir, 'misc.sh')} arg"
      misc_timeout 2
      misc_dynamic
    }
  }
}
`;
  }

  before(async () => {
    ensureBuilt();
    for (const k of ['vip1', 'vip2', 'vip3', 'vip4', 'rs1', 'rs2', 'tls', 'dns', 'misc', 'sorry']) p[k] = await freePort();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=www.example.test',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    tlsOpts = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
    http1 = createHttp(BODY_HANDLER);
    http2 = createHttp(BODY_HANDLER);
    tls = createHttps(tlsOpts, BODY_HANDLER);
    await listen(http1, '127.0.0.2', p.rs1!);
    await listen(http2, '127.0.0.3', p.rs2!);
    await listen(tls, '127.0.0.4', p.tls!);
    dns = dnsServer();
    await new Promise<void>((r) => dns.bind(p.dns, '127.0.0.5', () => r()));
    writeFileSync(miscCode, '0\n');
    writeFileSync(join(dir, 'misc.sh'), `#!/bin/sh\nexit $(cat ${miscCode})\n`);
    chmodSync(join(dir, 'misc.sh'), 0o755);
    writeFileSync(join(dir, 'notify.sh'), `#!/bin/sh\necho "$1" >> ${join(dir, 'notify.log')}\n`);
    chmodSync(join(dir, 'notify.sh'), 0o755);
    writeFileSync(conf, confText());
  });

  after(async () => {
    if (ka && ka.exitCode === null) {
      ka.kill('SIGTERM');
      await new Promise((r) => ka?.once('exit', r));
    }
    await inNs(null, [TSVS, 'daemon', 'stop'], { env });
    for (const s of [http1, http2, tls]) if (s?.listening) await close(s);
    try {
      dns?.close();
    } catch {
      // closed by a case
    }
    rmSync(dir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  it('a file with errors is refused at start with file:line, nothing applied', async () => {
    const bad = join(dir, 'bad.conf');
    writeFileSync(
      bad,
      `virtual_server 127.0.0.1 ${p.vip1} {\n  protocol TCP\n  real_server 127.0.0.2 ${p.rs1} {\n  }\n}\nvirtual_server 127.0.0.1 ${p.vip2} {\n  protocol TCP\n  real_server 10.0.0.999 80 {\n  }\n`,
    );
    const r = await inNs(null, [TSVS, 'keepalived', '-n', '-l', '-f', bad, '-p', join(dir, 'bad.pid')], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`\\(${bad}: Line 8\\) real_server address '10.0.0.999'`));
    assert.match(r.stderr, new RegExp(`\\(${bad}: Line 6\\) missing '}'`));
    const t = await inNs(null, [TSVS, 'keepalived', '-t', '-f', bad], { env });
    assert.equal(t.code, 1);
    assert.match(t.stderr, /Line 8/);
    // No director was even needed: nothing was applied.
    assert.equal(await adm('-S', '-n').catch(() => ''), '');
  });

  it('starts and installs the rules the file asks for', async () => {
    const t = await inNs(null, [TSVS, 'keepalived', '-t', '-f', conf], { env });
    assert.equal(t.code, 0, t.stderr);
    ka = spawn(process.execPath, [TSVS, 'keepalived', '-n', '-l', '-D', '-f', conf, '-p', pidFile], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    ka.stderr!.on('data', (b: Buffer) => {
      kaLog += b.toString();
    });
    await until('rules installed', (s) => s.includes(`127.0.0.7:${p.misc}`) && s.includes(`127.0.0.5:${p.dns}`), 15_000);
    const rules = await adm('-S', '-n');
    for (const line of [
      `-A -t 127.0.0.1:${p.vip1} -s rr`,
      `-a -t 127.0.0.1:${p.vip1} -r 127.0.0.2:${p.rs1} -m -w 1`,
      `-a -t 127.0.0.1:${p.vip1} -r 127.0.0.3:${p.rs2} -m -w 1`,
      `-A -t 127.0.0.1:${p.vip2} -s wrr`,
      `-a -t 127.0.0.1:${p.vip2} -r 127.0.0.4:${p.tls} -m -w 3`,
      `-A -u 127.0.0.1:${p.vip3} -s rr`,
      `-a -u 127.0.0.1:${p.vip3} -r 127.0.0.5:${p.dns} -m -w 1`,
      `-a -t 127.0.0.1:${p.vip4} -r 127.0.0.7:${p.misc} -m -w 2`,
    ]) {
      assert.ok(rules.split('\n').includes(line), `${line}\nin\n${rules}`);
    }
    assert.equal(Number(readFileSync(pidFile, 'utf8')), ka.pid);
    const st = await status();
    assert.equal(st.virtualServers.length, 4);
    // Every case below then runs TCP_CHECK and HTTP_GET on the epoll probe driver (koffi is
    // installed here), not on its Node-socket fallback.
    assert.match(kaLog, /TCP_CHECK and HTTP_GET run on the epoll probe driver/);
  });

  it('HTTP_GET: a stopped server is out within the bound, clients see no failure after, back on restart', async () => {
    await new Promise((r) => setTimeout(r, 600)); // a first round of checks
    await close(http1);
    const ms = await until('rs1 removed', (s) => !s.includes(`127.0.0.2:${p.rs1}`), BOUND_MS + SLACK_MS);
    assert.ok(ms <= BOUND_MS + SLACK_MS);
    let failed = 0;
    for (let i = 0; i < 20; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const q = get({ host: '127.0.0.1', port: p.vip1, path: '/', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200));
        });
        q.on('error', () => resolve(false));
        q.setTimeout(3000, () => q.destroy());
      });
      if (!ok) failed++;
    }
    assert.equal(failed, 0, 'requests after detection all served by the live real server');
    const st = await status();
    const rs = st.virtualServers[0]!.realServers[0]!;
    assert.equal(rs.alive, false);
    assert.ok(rs.checkers[0]!.consecutiveFailures >= 1);
    assert.match(rs.checkers[0]!.lastResult ?? '', /ECONNREFUSED/);
    const text = await inNs(null, [TSVS, 'status'], { env });
    assert.match(text.stdout, new RegExp(`HTTP_GET 127\\.0\\.0\\.2:${p.rs1}: down, last: ECONNREFUSED`));
    http1 = createHttp(BODY_HANDLER);
    await listen(http1, '127.0.0.2', p.rs1!);
    await until('rs1 back', (s) => s.includes(`-r 127.0.0.2:${p.rs1} -m -w 1`), BOUND_MS + SLACK_MS);
    await new Promise((r) => setTimeout(r, 200)); // the notify script runs detached
    assert.equal(readFileSync(join(dir, 'notify.log'), 'utf8'), 'down\nup\n', 'notify_down then notify_up');
  });

  it('SSL_GET with inhibit_on_failure: weight 0, then its weight back', async () => {
    await close(tls);
    await until('tls at weight 0', (s) => s.includes(`-r 127.0.0.4:${p.tls} -m -w 0`), BOUND_MS + SLACK_MS);
    tls = createHttps(tlsOpts, BODY_HANDLER);
    await listen(tls, '127.0.0.4', p.tls!);
    await until('tls back', (s) => s.includes(`-r 127.0.0.4:${p.tls} -m -w 3`), BOUND_MS + SLACK_MS);
  });

  it('DNS_CHECK and TCP_CHECK: out and back', async () => {
    dns.close();
    await until('dns removed', (s) => !s.includes(`127.0.0.5:${p.dns}`), BOUND_MS + SLACK_MS);
    dns = dnsServer();
    await new Promise<void>((r) => dns.bind(p.dns, '127.0.0.5', () => r()));
    await until('dns back', (s) => s.includes(`127.0.0.5:${p.dns}`), BOUND_MS + SLACK_MS);
    await close(http2);
    await until('tcp removed', (s) => !s.includes(`127.0.0.3:${p.rs2}`), BOUND_MS + SLACK_MS);
    http2 = createHttp(BODY_HANDLER);
    await listen(http2, '127.0.0.3', p.rs2!);
    await until('tcp back', (s) => s.includes(`127.0.0.3:${p.rs2}`), BOUND_MS + SLACK_MS);
  });

  it('MISC_CHECK exit codes: misc_dynamic weights, quorum lost to the sorry server and regained', async () => {
    const rsLine = (w: number) => `-a -t 127.0.0.1:${p.vip4} -r 127.0.0.7:${p.misc} -m -w ${w}`;
    const sorryLine = `-a -t 127.0.0.1:${p.vip4} -r 127.0.0.6:${p.sorry} -m -w 1`;
    writeFileSync(miscCode, '5\n'); // weight 3
    await until('weight 3', (s) => s.includes(rsLine(3)), 3000);
    writeFileSync(miscCode, '3\n'); // weight 1 < quorum 2: the sorry server takes over
    await until('sorry server', (s) => s.includes(sorryLine) && !s.includes(`127.0.0.7:${p.misc}`), 3000);
    writeFileSync(miscCode, '1\n'); // failure
    await new Promise((r) => setTimeout(r, 700));
    assert.equal((await status()).virtualServers[3]!.realServers[0]!.alive, false);
    writeFileSync(miscCode, '4\n'); // up with weight 2: quorum again
    await until('quorum back', (s) => s.includes(rsLine(2)) && !s.includes(`127.0.0.6:${p.sorry}`), 3000);
  });

  it('a bad SIGHUP keeps serving; a good one is applied as a difference', async () => {
    const rulesBefore = await adm('-S', '-n');
    writeFileSync(conf, confText().replace('protocol UDP', 'protocol UDP\n  real_server 127.0.0.9 {'));
    ka!.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 500));
    const st = await status();
    assert.equal(st.lastReload?.ok, false);
    assert.match(st.lastReload?.why ?? '', /keepalived\.conf: Line \d+\) missing '}'/);
    assert.equal(await adm('-S', '-n'), rulesBefore, 'the running configuration stays');
    // Traffic through rs2 makes counters that must survive the reload.
    await new Promise<void>((resolve, reject) => {
      get({ host: '127.0.0.1', port: p.vip1, path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      }).on('error', reject);
    });
    const stats = async () =>
      (await adm('-L', '-n', '--stats'))
        .split('\n')
        .filter((l) => l.includes('->'))
        .join('\n');
    const statsBefore = await stats();
    writeFileSync(conf, confText(4));
    ka!.kill('SIGHUP');
    await until('weight 4', (s) => s.includes(`-r 127.0.0.3:${p.rs2} -m -w 4`), 3000);
    // The rules change before the reload is recorded (VRRP and the sync daemons follow them).
    const refused = st.lastReload?.at ?? 0;
    let reloaded = await status();
    for (let i = 0; i < 60 && (reloaded.lastReload?.at ?? 0) === refused; i++) {
      await new Promise((r) => setTimeout(r, 50));
      reloaded = await status();
    }
    assert.equal(reloaded.lastReload?.ok, true, JSON.stringify(reloaded.lastReload));
    assert.equal(await stats(), statsBefore, 'real servers that stay keep their counters');
  });

  it('SIGTERM removes the virtual servers it created and the pid file', async () => {
    ka!.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => ka!.once('exit', r));
    assert.equal(code, 0, kaLog);
    assert.equal(await adm('-S', '-n'), '');
    assert.throws(() => readFileSync(pidFile));
  });

  it('as `keepalived` through the shim link, forking: the parent returns once it serves', async () => {
    const shim = join(dir, 'shim');
    assert.equal((await inNs(null, [TSVS, 'shim', 'install', shim], { env })).code, 0);
    const r = await inNs(null, [process.execPath, join(shim, 'keepalived'), '-f', conf, '-p', pidFile], { env });
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.equal((await status()).pid, pid);
    await until('rules installed', (s) => s.includes(`127.0.0.3:${p.rs2}`), 10_000);
    const again = await inNs(null, [process.execPath, join(shim, 'keepalived'), '-f', conf, '-p', pidFile], { env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already running/);
    process.kill(pid, 'SIGTERM');
    await until('removed on SIGTERM', (s) => s === '', 5000);
  });
});
