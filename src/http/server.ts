// The director's read-only HTTP endpoint: /metrics, the JSON API, the dashboard and its
// assets, on the bounded server of bounded.ts (no route changes rules; only GET and HEAD). It
// shares the daemon's thread with the control socket, so answers are built synchronously from
// state in memory (docs/http-api.md, "Limits").

import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Log } from '../control/log.js';
import { connsJson, parseLimit, servicesJson, statusJson } from './api.js';
import { ASSETS, loadAsset } from './assets.js';
import { BoundedHttp, type HttpEndpoint, send, sendJson, sendText } from './bounded.js';
import { DASHBOARD_HTML } from './dashboard.js';
import type { DirectorSource } from './director.js';
import { CONTENT_TYPE } from './exposition.js';
import { History, HISTORY_STEP_MS } from './history.js';
import { collectMetricsBuffer } from './metrics.js';

export {
  HTTP_HEADERS_TIMEOUT_MS,
  HTTP_IDLE_TIMEOUT_MS,
  HTTP_MAX_CONNECTIONS,
  HTTP_MAX_HEADER_BYTES,
  HTTP_RATE_BURST,
  HTTP_RATE_PER_SEC,
  HTTP_REQUEST_TIMEOUT_MS,
  HTTP_TIMEOUT_CHECK_MS,
  type HttpEndpoint,
  isLoopback,
  parseHttpSpec,
} from './bounded.js';

/** Longest the scrape waits for the engine's workers to report their counters. */
export const SETTLE_TIMEOUT_MS = 1000;

export interface HttpServerOptions extends HttpEndpoint {
  director: DirectorSource;
  log: Log;
}

export class HttpServer {
  private readonly http: BoundedHttp;
  private readonly history: History;
  private historyTimer: NodeJS.Timeout | null = null;
  private lastScrapeSeconds = NaN;

  constructor(private readonly o: HttpServerOptions) {
    this.history = new History(o.director.ipvs);
    this.http = new BoundedHttp({
      host: o.host,
      port: o.port,
      route: (url, req, res) => this.route(url, req, res),
      paths: '/, /metrics, /api/v1/status, /api/v1/services, /api/v1/conns',
      onError: (msg, path, e) => o.log.error(msg, { path, error: (e as Error).stack ?? String(e) }),
    });
    o.director.observers.addMetrics({ collect: (x) => this.http.collectOwn(x) });
  }

  get rejected(): Record<string, number> {
    return this.http.rejected;
  }

  /** Requests answered by a route (not refused). */
  get served(): number {
    return this.http.served;
  }

  get url(): string {
    return this.http.url;
  }

  get port(): number {
    return this.http.port;
  }

  async listen(): Promise<string> {
    const url = await this.http.listen();
    // A core on another thread (DirectorSource.conns) is read through a copy: refresh it first.
    const sample = () => {
      if (this.o.director.conns)
        void this.settle().then(
          () => this.history.sample(Date.now()),
          () => {},
        );
      else this.history.sample(Date.now());
    };
    sample();
    this.historyTimer = setInterval(sample, HISTORY_STEP_MS);
    this.historyTimer.unref();
    return url;
  }

  async close(): Promise<void> {
    if (this.historyTimer) clearInterval(this.historyTimer);
    await this.http.close();
  }

  private async route(url: URL, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const d = this.o.director;
    switch (url.pathname) {
      case '/metrics': {
        await this.settle();
        const t0 = performance.now();
        const body = collectMetricsBuffer(d, { lastDurationSeconds: this.lastScrapeSeconds });
        this.lastScrapeSeconds = (performance.now() - t0) / 1000;
        send(res, req, 200, CONTENT_TYPE, body);
        return true;
      }
      case '/api/v1/status':
        if (d.conns) await this.settle();
        sendJson(res, req, statusJson(d));
        return true;
      case '/api/v1/services':
        await this.settle();
        sendJson(res, req, servicesJson(d));
        return true;
      case '/api/v1/conns': {
        const limit = parseLimit(url.searchParams.get('limit'));
        if (typeof limit === 'string') {
          this.http.rejected.bad_request!++;
          sendText(res, 400, `${limit}\n`);
          return true;
        }
        await this.settle();
        sendJson(res, req, d.conns ? await d.conns(limit) : connsJson(d, limit));
        return true;
      }
      case '/api/v1/history':
        sendJson(res, req, this.history.json());
        return true;
      case '/favicon.ico': // browsers ask; nothing to show, and no 404 in their console
        res.writeHead(204);
        res.end();
        return true;
      case '/':
      case '/index.html':
        send(res, req, 200, 'text/html; charset=utf-8', DASHBOARD_HTML);
        return true;
    }
    const asset = ASSETS[url.pathname];
    if (!asset) return false;
    res.setHeader('cache-control', 'max-age=300');
    send(res, req, 200, asset.type, loadAsset(url.pathname));
    return true;
  }

  private async settle(): Promise<void> {
    const s = this.o.director.settle;
    if (!s) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      s.call(this.o.director),
      new Promise<void>((r) => {
        timer = setTimeout(r, SETTLE_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
  }
}
