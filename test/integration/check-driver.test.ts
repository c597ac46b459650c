// The epoll probe driver (src/ha/check/driver/) against real TCP and HTTP servers on loopback:
// a server up, down (refused), slow (reply in pieces), hung (no reply: timeout), a connect that
// never completes (full accept queue: timeout), wrong status, wrong digest, an oversized reply,
// virtualhost, connect_ip/connect_port, bindto and IPv6. Each case runs on the driver and on
// Node's sockets (the fallback, and the probes before the driver): same verdict, same detail.
// The driver must really be the one used (its counters move), and leave no descriptor open.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { type AddressInfo, connect, createServer as createTcp, type Server as TcpServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MAX_HTTP_REPLY } from '../../src/ha/check/constants.js';
import { probeDriver, resetProbeDriver } from '../../src/ha/check/driver/select.js';
import { httpProbe } from '../../src/ha/check/http.js';
import type { ProbeResult } from '../../src/ha/check/probe.js';
import { tcpProbe } from '../../src/ha/check/tcp.js';
import { parseConfText } from '../../src/ha/conf/parse.js';
import { lvsFromConf } from '../../src/ha/lvs/config.js';
import type { CheckerConf } from '../../src/ha/lvs/types.js';
import { AF_INET, SOCK_CLOEXEC, SOCK_STREAM } from '../../src/sys/constants.js';
import { type Libc, libcFailure, libcOrNull } from '../../src/sys/libc.js';
import { sockaddr } from '../../src/sys/sockaddr.js';
import { freePort } from '../helpers/net.js';

const S = libcOrNull();
function driverMissing(): string | false {
  if (S) return false;
  if (process.env.CI === 'true') throw new Error(`CI must run the probe driver test: ${libcFailure()}`);
  return `the probe driver needs koffi's libc binding: ${libcFailure()}`;
}
const skip = driverMissing();

/** connect_timeout of every case: a hung server fails in this long. */
const TIMEOUT_MS = 600;
/** The slow server's pause between pieces: well inside TIMEOUT_MS. */
const SLOW_PIECE_MS = 100;
const BODY = 'hello from the real server\n';
const BODY_MD5 = createHash('md5').update(BODY).digest('hex');

function checkerOf(rs: string, body: string): CheckerConf {
  const vip = rs.includes(':') ? '2001:db8::100' : '10.0.0.1';
  const text = `virtual_server ${vip} 80 {\n protocol TCP\n lb_algo rr\n real_server ${rs} {\n${body}\n }\n}\n`;
  const r = lvsFromConf(parseConfText(text, '/driver.conf').nodes);
  assert.deepEqual(r.errors, []);
  return r.config.virtualServers[0]!.realServers[0]!.checkers[0]!;
}
const tcpCheck = (rs: string, extra = ''): CheckerConf => checkerOf(rs, `TCP_CHECK {\n connect_timeout ${TIMEOUT_MS / 1000}\n${extra}}`);
const httpCheck = (rs: string, urls: string, extra = ''): CheckerConf =>
  checkerOf(rs, `HTTP_GET {\n${urls}\n connect_timeout ${TIMEOUT_MS / 1000}\n${extra}}`);
const urlOf = (path: string, more = ''): string => ` url {\n path ${path}\n${more} }\n`;

async function onSockets(sockets: 'epoll' | 'node', probe: () => Promise<ProbeResult>): Promise<ProbeResult> {
  process.env.TSVS_CHECK_SOCKETS = sockets;
  resetProbeDriver();
  try {
    return await probe();
  } finally {
    delete process.env.TSVS_CHECK_SOCKETS;
    resetProbeDriver();
  }
}

/** Runs `probe` on the driver then on Node's sockets; both must give `want`. */
async function both(probe: () => Promise<ProbeResult>, want: { ok: boolean; detail: string | RegExp }): Promise<void> {
  process.env.TSVS_CHECK_SOCKETS = 'epoll';
  resetProbeDriver();
  const d = probeDriver();
  assert.ok(d, 'the driver loads');
  const started = d.stats.started;
  let viaDriver: ProbeResult;
  try {
    viaDriver = await probe();
    assert.ok(d.stats.started > started, 'the probe ran on the driver, not on the fallback');
    assert.equal(d.stats.inFlight, 0);
  } finally {
    delete process.env.TSVS_CHECK_SOCKETS;
    resetProbeDriver();
  }
  const viaNode = await onSockets('node', probe);
  for (const [name, r] of [
    ['driver', viaDriver],
    ['Node sockets', viaNode],
  ] as const) {
    assert.equal(r.ok, want.ok, `${name}: ${r.detail}`);
    if (typeof want.detail === 'string') assert.equal(r.detail, want.detail, name);
    else assert.match(r.detail, want.detail, name);
  }
}

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('check probe driver on loopback', { skip }, () => {
  let http: HttpServer;
  let http6: HttpServer | null = null;
  let tcp: TcpServer;
  let httpPort = 0;
  let tcpPort = 0;
  let downPort = 0;
  /** Requests the HTTP server saw: Host header, User-Agent and the client's address. */
  const seen: { host: string; agent: string; from: string; path: string }[] = [];
  const tcpPeers: string[] = [];
  const hung = new Set<IncomingMessage>();
  let fullFd = -1;
  let fullPort = 0;
  const fillers: Socket[] = [];
  let fdsBefore = 0;

  before(async () => {
    const handler = (q: IncomingMessage, res: import('node:http').ServerResponse): void => {
      seen.push({
        host: q.headers.host ?? '',
        agent: q.headers['user-agent'] ?? '',
        from: q.socket.remoteAddress ?? '',
        path: q.url ?? '',
      });
      const path = (q.url ?? '').split('?')[0];
      if (path === '/ok') return void res.writeHead(200, { connection: 'close' }).end(BODY);
      if (path === '/status500') return void res.writeHead(500, { connection: 'close' }).end('no\n');
      if (path === '/other') return void res.writeHead(200, { connection: 'close' }).end('another body\n');
      if (path === '/big') return void res.writeHead(200, { connection: 'close' }).end(Buffer.alloc(MAX_HTTP_REPLY + 1, 0x61));
      if (path === '/hang') return void hung.add(q);
      if (path === '/slow') {
        // Head, then the body in three pieces: the driver must gather every read before judging.
        res.writeHead(200, { connection: 'close', 'content-length': BODY.length });
        const parts = [BODY.slice(0, 5), BODY.slice(5, 12), BODY.slice(12)];
        let i = 0;
        const next = (): void => {
          const p = parts[i++];
          if (p === undefined) return void res.end();
          res.write(p);
          setTimeout(next, SLOW_PIECE_MS);
        };
        return void setTimeout(next, SLOW_PIECE_MS);
      }
      res.writeHead(404, { connection: 'close' }).end();
    };
    http = createHttp(handler);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    httpPort = (http.address() as AddressInfo).port;
    tcp = createTcp((s) => {
      tcpPeers.push(s.remoteAddress ?? '');
      s.destroy();
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    tcpPort = (tcp.address() as AddressInfo).port;
    downPort = await freePort();
    http6 = createHttp(handler);
    await new Promise<void>((r) => {
      http6!.once('error', () => {
        http6 = null; // no IPv6 on this host's loopback: that case says so
        r();
      });
      http6!.listen(httpPort, '::1', () => r());
    });
    // A listener that never accepts, its accept queue filled by one connection: the kernel
    // drops further SYNs, so a connect to it hangs (the only loopback way to time out a connect).
    const c = S as Libc;
    fullFd = c.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert.ok(fullFd >= 0, `socket: errno ${c.errno()}`);
    const sa = sockaddr(new Uint8Array([127, 0, 0, 1]), 0);
    assert.equal(c.bind(fullFd, sa, sa.length), 0, `bind: errno ${c.errno()}`);
    assert.equal(c.listen(fullFd, 0), 0, `listen: errno ${c.errno()}`);
    const len = new Int32Array([sa.length]);
    assert.equal(c.getsockname(fullFd, sa, len), 0);
    fullPort = (sa[2]! << 8) | sa[3]!;
    const filler = connect(fullPort, '127.0.0.1');
    fillers.push(filler);
    await new Promise<void>((r, j) => {
      filler.once('connect', () => r());
      filler.once('error', j);
    });
    fdsBefore = openFds();
  });

  after(async () => {
    for (const q of hung) q.socket.destroy();
    for (const f of fillers) f.destroy();
    if (fullFd >= 0) S?.close(fullFd);
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
    if (http6) {
      http6.closeAllConnections();
      await new Promise<void>((r) => http6!.close(() => r()));
    }
    await new Promise<void>((r) => tcp.close(() => r()));
  });

  it('TCP_CHECK: up, down, and a connect that never completes', async () => {
    const up = tcpCheck(`127.0.0.1 ${tcpPort}`);
    await both(() => tcpProbe(up), { ok: true, detail: 'connected' });
    const down = tcpCheck(`127.0.0.1 ${downPort}`);
    await both(() => tcpProbe(down), { ok: false, detail: 'ECONNREFUSED' });
    const full = tcpCheck(`127.0.0.1 ${fullPort}`);
    const t0 = performance.now();
    await both(() => tcpProbe(full), { ok: false, detail: `no connection within ${TIMEOUT_MS} ms` });
    // Both sockets' probes waited for connect_timeout, not less (and not the kernel's ~2 min).
    assert.ok(performance.now() - t0 >= 2 * TIMEOUT_MS - 20);
    assert.ok(performance.now() - t0 < 2 * TIMEOUT_MS + 5000);
  });

  it('TCP_CHECK: connect_ip/connect_port and bindto/bind_port', async () => {
    const c = tcpCheck('127.0.0.9 1', ` connect_ip 127.0.0.1\n connect_port ${tcpPort}\n bindto 127.0.0.2\n`);
    tcpPeers.length = 0;
    await both(() => tcpProbe(c), { ok: true, detail: 'connected' });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(tcpPeers, ['127.0.0.2', '127.0.0.2']);
    // A bind_port already bound: the kernel's answer, named, on both.
    const busy = tcpCheck(`127.0.0.1 ${tcpPort}`, ` bindto 127.0.0.1\n bind_port ${httpPort}\n`);
    await both(() => tcpProbe(busy), { ok: false, detail: /EADDRINUSE/ });
  });

  it("HTTP_GET: a good reply with the right digest, and keepalived's request on the wire", async () => {
    const c = httpCheck(`127.0.0.1 ${httpPort}`, urlOf('/ok?a=1', `  digest ${BODY_MD5}\n  status_code 200\n`));
    seen.length = 0;
    await both(() => httpProbe(c, false), { ok: true, detail: 'HTTP 200' });
    assert.deepEqual(
      seen.map((s) => [s.path, s.host, s.agent]),
      [
        ['/ok?a=1', `127.0.0.1:${httpPort}`, 'KeepAliveClient'],
        ['/ok?a=1', `127.0.0.1:${httpPort}`, 'KeepAliveClient'],
      ],
    );
  });

  it('HTTP_GET: wrong status, wrong digest, an oversized reply, down', async () => {
    const status = httpCheck(`127.0.0.1 ${httpPort}`, urlOf('/status500'));
    await both(() => httpProbe(status, false), { ok: false, detail: 'HTTP 500 for /status500' });
    const digest = httpCheck(`127.0.0.1 ${httpPort}`, urlOf('/other', `  digest ${BODY_MD5}\n`));
    const otherMd5 = createHash('md5').update('another body\n').digest('hex');
    await both(() => httpProbe(digest, false), { ok: false, detail: `digest ${otherMd5} for /other, want ${BODY_MD5}` });
    const big = httpCheck(`127.0.0.1 ${httpPort}`, urlOf('/big'));
    await both(() => httpProbe(big, false), { ok: false, detail: `reply over ${MAX_HTTP_REPLY} bytes` });
    const down = httpCheck(`127.0.0.1 ${downPort}`, urlOf('/ok'));
    await both(() => httpProbe(down, false), { ok: false, detail: 'ECONNREFUSED' });
  });

  it('HTTP_GET: a slow reply in pieces passes; a hung one times out', async () => {
    const slow = httpCheck(`127.0.0.1 ${httpPort}`, urlOf('/slow', `  digest ${BODY_MD5}\n`));
    await both(() => httpProbe(slow, false), { ok: true, detail: 'HTTP 200' });
    const hang = httpCheck(`127.0.0.1 ${httpPort}`, urlOf('/hang'));
    const t0 = performance.now();
    await both(() => httpProbe(hang, false), { ok: false, detail: `no complete reply within ${TIMEOUT_MS} ms` });
    assert.ok(performance.now() - t0 >= 2 * TIMEOUT_MS - 20);
  });

  it('HTTP_GET: every url in turn, virtualhost, HTTP/1.1, connect_ip/connect_port', async () => {
    const two = httpCheck(`127.0.0.1 ${httpPort}`, urlOf('/ok') + urlOf('/status500'));
    await both(() => httpProbe(two, false), { ok: false, detail: 'HTTP 500 for /status500' });
    const vh = httpCheck(
      '127.0.0.9 80',
      urlOf('/ok', '  virtualhost url.example\n') + urlOf('/ok'),
      ` virtualhost checker.example\n http_protocol 1.1\n connect_ip 127.0.0.1\n connect_port ${httpPort}\n`,
    );
    seen.length = 0;
    await both(() => httpProbe(vh, false), { ok: true, detail: 'HTTP 200' });
    assert.deepEqual(
      seen.map((s) => s.host),
      ['url.example', 'checker.example', 'url.example', 'checker.example'],
    );
  });

  it('IPv6: HTTP_GET on ::1', async (t) => {
    if (!http6) {
      if (process.env.CI === 'true') throw new Error('CI must run the IPv6 case: ::1 is not available');
      return t.skip('no IPv6 loopback here');
    }
    const c = httpCheck(`::1 ${httpPort}`, urlOf('/ok', `  digest ${BODY_MD5}\n`));
    seen.length = 0;
    await both(() => httpProbe(c, false), { ok: true, detail: 'HTTP 200' });
    assert.deepEqual(
      seen.map((s) => [s.host, s.from]),
      [
        [`[::1]:${httpPort}`, '::1'],
        [`[::1]:${httpPort}`, '::1'],
      ],
    );
  });

  it('leaves no descriptor open', async () => {
    // The hung requests' server sides are the test's; every probe's socket and every driver's
    // epoll set (each case made two drivers) must be closed by now.
    for (const q of hung) q.socket.destroy();
    let extra = openFds() - fdsBefore;
    for (let i = 0; i < 20 && extra > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      extra = openFds() - fdsBefore;
    }
    assert.ok(extra <= 0, `descriptors open over the start: ${extra}`);
  });
});
