// HTTP_GET and SSL_GET: every url must answer with a status in its set and, when `digest`
// is given, a body whose MD5 matches (§B.4). The request is keepalived's, byte for byte.
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { CheckerConf, HttpUrl } from '../lvs/types.js';
import { MAX_HTTP_REPLY } from './constants.js';
import { probeDriver } from './driver/select.js';
import { targetOf } from './driver/target.js';
import type { ProbeResult } from './probe.js';

export function httpRequest(c: CheckerConf, u: HttpUrl): string {
  const http = c.http;
  const proto = http?.protocol ?? '1.0';
  const hostPort = c.connectIp.includes(':') ? `[${c.connectIp}]:${c.connectPort}` : `${c.connectIp}:${c.connectPort}`;
  const host = u.virtualhost ?? http?.virtualhost ?? hostPort;
  return (
    `GET ${u.path} HTTP/${proto === '1.1' ? '1.1' : '1.0'}\r\n` +
    'User-Agent: KeepAliveClient\r\n' +
    (proto === '1.0' ? '' : 'Connection: close\r\n') +
    `Host: ${host}\r\n\r\n`
  );
}

/** Decodes a chunked body (HTTP/1.1 servers may send one even with Connection: close). */
function unchunk(b: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', i);
    if (eol < 0) return null;
    const size = parseInt(b.subarray(i, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) return null;
    if (size === 0) return Buffer.concat(parts);
    parts.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

export function judgeReply(reply: Buffer, u: HttpUrl): ProbeResult {
  const headEnd = reply.indexOf('\r\n\r\n');
  const head = reply.subarray(0, headEnd < 0 ? reply.length : headEnd).toString('latin1');
  const m = /^HTTP\/\d\.\d (\d{3})(?!\d)/.exec(head); // three digits, not the start of more
  if (!m) return { ok: false, detail: 'no HTTP status line in the reply' };
  const status = Number(m[1]);
  if (!u.status.some(([lo, hi]) => status >= lo && status <= hi)) return { ok: false, detail: `HTTP ${status} for ${u.path}` };
  if (u.digest !== null) {
    let body = headEnd < 0 ? Buffer.alloc(0) : reply.subarray(headEnd + 4);
    if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) body = unchunk(body) ?? body;
    const md5 = createHash('md5').update(body).digest('hex');
    if (md5 !== u.digest) return { ok: false, detail: `digest ${md5} for ${u.path}, want ${u.digest}` };
  }
  return { ok: true, detail: `HTTP ${status}` };
}

/** keepalived's request per url and checker, as bytes for the epoll driver: made once. */
const requests = new WeakMap<HttpUrl, { c: CheckerConf; req: Uint8Array }>();

function requestBytes(c: CheckerConf, u: HttpUrl): Uint8Array {
  const known = requests.get(u);
  if (known?.c === c) return known.req;
  // utf8, as Node's socket.write(string) sends it on the fallback path.
  const req = Buffer.from(httpRequest(c, u), 'utf8');
  requests.set(u, { c, req });
  return req;
}

function getOne(c: CheckerConf, u: HttpUrl, tls: boolean): Promise<ProbeResult> {
  const d = tls ? null : probeDriver();
  const t = d && targetOf(c);
  if (!d || !t) return nodeGetOne(c, u, tls);
  return d.get(t, c.connectTimeoutMs, requestBytes(c, u), (reply) => judgeReply(reply, u));
}

function nodeGetOne(c: CheckerConf, u: HttpUrl, tls: boolean): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const opts = {
      host: c.connectIp,
      port: c.connectPort,
      localAddress: c.bindto ?? undefined,
      localPort: c.bindPort ?? undefined,
    };
    // keepalived does not verify the real server's certificate: it checks liveness, not identity.
    const s: Socket = tls ? tlsConnect({ ...opts, rejectUnauthorized: false, servername: c.http?.sni ?? undefined }) : connect(opts);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    // keepalived's connect_timeout bounds each read and write too; one bound for the whole GET
    // is stricter and enough to tell a hung server.
    const timer = setTimeout(() => finish({ ok: false, detail: `no complete reply within ${c.connectTimeoutMs} ms` }), c.connectTimeoutMs);
    s.once(tls ? 'secureConnect' : 'connect', () => s.write(httpRequest(c, u)));
    s.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_HTTP_REPLY) return finish({ ok: false, detail: `reply over ${MAX_HTTP_REPLY} bytes` });
      chunks.push(b);
    });
    s.once('end', () => finish(judgeReply(Buffer.concat(chunks), u)));
    s.once('error', (e: NodeJS.ErrnoException) => finish({ ok: false, detail: e.code ?? e.message }));
  });
}

/** HTTP_GET (tls false) or SSL_GET: each url in turn; the first that fails fails the check. */
export async function httpProbe(c: CheckerConf, tls: boolean): Promise<ProbeResult> {
  let last: ProbeResult = { ok: false, detail: 'no url' };
  for (const u of c.http?.urls ?? []) {
    last = await getOne(c, u, tls);
    if (!last.ok) return last;
  }
  return last;
}
