// The bounded, read-only HTTP server that every tsvs endpoint runs on (the director's
// `tsvs daemon --http`, the keepalived process's `tsvs keepalived --http`): only GET and HEAD,
// no bodies, and every request bounded in header size and time, connections, and requests per
// client per second, so that a slow or malformed client costs a socket, never a wait
// (docs/http-api.md, "Limits"). What is served is the site's: a route function per endpoint.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { HttpEndpoint } from './endpoint.js';
import { type Exposition, labelSet } from './exposition.js';

export { type HttpEndpoint, isLoopback, notLoopbackWarning, parseHttpSpec } from './endpoint.js';

/** Concurrent sockets: a dashboard or two and a few scrapers need far fewer. */
export const HTTP_MAX_CONNECTIONS = 64;
/** A request line and headers must arrive within this (slowloris clients are cut here). */
export const HTTP_HEADERS_TIMEOUT_MS = 5000;
/** A whole request (we take no bodies) must arrive within this. */
export const HTTP_REQUEST_TIMEOUT_MS = 10_000;
/** An idle keep-alive socket is closed after this. */
export const HTTP_IDLE_TIMEOUT_MS = 5000;
/** How often Node checks the two timeouts above (its default, 30 s, lets slow clients linger). */
export const HTTP_TIMEOUT_CHECK_MS = 1000;
/** Request line plus headers; browsers send about 1 KB. */
export const HTTP_MAX_HEADER_BYTES = 8192;
/** Requests per client address per second, with a burst of twice that: a page polls 3 URLs per 2 s. */
export const HTTP_RATE_PER_SEC = 20;
export const HTTP_RATE_BURST = 40;
/** Client addresses remembered for rate limiting; the table is cleared when it fills. */
const RATE_TABLE_MAX = 4096;

/** Answers one GET or HEAD; returns false when the path is not the site's (a 404 follows). */
export type Route = (url: URL, req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface BoundedHttpOptions extends HttpEndpoint {
  route: Route;
  /** The paths named in a 404's text, e.g. `/, /metrics, /api/v1/status`. */
  paths: string;
  /** A route that threw: the operator's log. */
  onError(msg: string, path: string, e: unknown): void;
}

export class BoundedHttp {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  readonly rejected: Record<string, number> = {
    connection_limit: 0,
    rate_limit: 0,
    bad_request: 0,
    timeout: 0,
    method: 0,
    not_found: 0,
  };
  /** Requests answered by a route (not refused). */
  served = 0;
  url = '';

  constructor(private readonly o: BoundedHttpOptions) {}

  async listen(): Promise<string> {
    const server = createServer(
      {
        maxHeaderSize: HTTP_MAX_HEADER_BYTES,
        headersTimeout: HTTP_HEADERS_TIMEOUT_MS,
        requestTimeout: HTTP_REQUEST_TIMEOUT_MS,
        keepAliveTimeout: HTTP_IDLE_TIMEOUT_MS,
        connectionsCheckingInterval: HTTP_TIMEOUT_CHECK_MS,
        // Node would answer an HTTP/1.1 request without Host 400 itself, uncounted; nothing here
        // depends on Host (one site), so such a request is served like any other.
        requireHostHeader: false,
      },
      (req, res) => this.serve(req, res),
    );
    server.maxConnections = HTTP_MAX_CONNECTIONS;
    server.on('drop', () => this.rejected.connection_limit!++);
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      // A client that connects and sends nothing at all is cut too.
      s.setTimeout(HTTP_REQUEST_TIMEOUT_MS, () => s.destroy());
      s.once('close', () => this.sockets.delete(s));
    });
    // CONNECT and upgrade requests bypass the request handler: without these Node closes the
    // socket silently, and the refusal would go uncounted.
    const refuse = (why: 'method' | 'bad_request', line: string) => (_req: IncomingMessage, s: Duplex) => {
      this.rejected[why]!++;
      s.on('error', () => s.destroy());
      s.end(`HTTP/1.1 ${line}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => s.destroy());
    };
    server.on('connect', refuse('method', '405 Method Not Allowed'));
    server.on('upgrade', refuse('bad_request', '400 Bad Request'));
    server.on('clientError', (err: NodeJS.ErrnoException, s: Socket) => {
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') this.rejected.timeout!++;
      else this.rejected.bad_request!++;
      // Answer, then close outright: a client that never reads must not keep the socket.
      const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const line = timedOut
        ? '408 Request Timeout'
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
      if (s.writable && err.code !== 'ECONNRESET') {
        s.end(`HTTP/1.1 ${line}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => s.destroy());
        setTimeout(() => s.destroy(), HTTP_IDLE_TIMEOUT_MS).unref();
      } else s.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new Error(
            `cannot serve HTTP on ${this.o.host}:${this.o.port}: ${e.code ?? e.message}; choose another port with --http [ADDR:]PORT`,
          ),
        ),
      );
      server.listen(this.o.port, this.o.host, () => resolve());
    });
    this.server = server;
    const a = server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    this.url = `http://${host}:${a.port}/`;
    return this.url;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** tsvs_http_* families: requests served, refused by reason, open connections. */
  collectOwn(x: Exposition): void {
    x.sample(x.family('tsvs_http_requests_total', 'counter', 'HTTP requests served by this endpoint.'), '', this.served);
    const f = x.family('tsvs_http_rejected_requests_total', 'counter', 'HTTP requests or connections refused, by reason.');
    for (const k of Object.keys(this.rejected).sort()) x.sample(f, labelSet(['reason'], [k]), this.rejected[k]!);
    x.sample(x.family('tsvs_http_connections', 'gauge', 'Open HTTP connections.'), '', this.sockets.size);
  }

  private allow(addr: string): boolean {
    const now = performance.now();
    let b = this.buckets.get(addr);
    if (!b) {
      if (this.buckets.size >= RATE_TABLE_MAX) this.buckets.clear();
      b = { tokens: HTTP_RATE_BURST, at: now };
      this.buckets.set(addr, b);
    }
    b.tokens = Math.min(HTTP_RATE_BURST, b.tokens + ((now - b.at) / 1000) * HTTP_RATE_PER_SEC);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('content-security-policy', "default-src 'self'; style-src 'self'; frame-ancestors 'none'");
    if (!this.allow(req.socket.remoteAddress ?? '')) {
      this.rejected.rate_limit!++;
      res.setHeader('retry-after', '1');
      sendText(res, 429, `too many requests: at most ${HTTP_RATE_PER_SEC} a second per client\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.rejected.method!++;
      res.setHeader('allow', 'GET, HEAD');
      sendText(res, 405, 'read-only: only GET and HEAD are served; change rules with tsvsadm\n');
      return;
    }
    const cl = req.headers['content-length'];
    if ((cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined) {
      this.rejected.bad_request!++;
      res.setHeader('connection', 'close');
      sendText(res, 413, 'requests carry no body here\n');
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://x');
    } catch {
      this.rejected.bad_request!++;
      sendText(res, 400, 'bad request target\n');
      return;
    }
    this.served++;
    void this.o
      .route(url, req, res)
      .then((found) => {
        if (found) return;
        this.rejected.not_found!++;
        sendText(res, 404, `no such page: ${url.pathname} (see ${this.o.paths})\n`);
      })
      .catch((e: unknown) => {
        this.o.onError('http: request failed', url.pathname, e);
        if (!res.headersSent) sendText(res, 500, `internal error: ${(e as Error).message}\n`);
        else res.destroy();
      });
  }
}

/** Writes a whole answer; a HEAD request gets the headers only. */
export function send(res: ServerResponse, req: IncomingMessage | null, code: number, type: string, body: string | Buffer): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(req?.method === 'HEAD' ? undefined : body);
}

export function sendJson(res: ServerResponse, req: IncomingMessage, v: unknown): void {
  res.setHeader('cache-control', 'no-store');
  send(res, req, 200, 'application/json; charset=utf-8', `${JSON.stringify(v)}\n`);
}

export function sendText(res: ServerResponse, code: number, body: string): void {
  send(res, null, code, 'text/plain; charset=utf-8', body);
}
