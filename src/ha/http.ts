// `tsvs keepalived --http [ADDR:]PORT`: the keepalived process's own read-only endpoint, on the
// same bounded server as the director's (src/http/bounded.ts). It serves what only this
// process knows: /metrics with tsvs_checker_* per real server and tsvs_vrrp_* per instance
// (plus its process_* and tsvs_http_*), and /api/v1/status with the status `tsvs status`
// shows. The director's own families are not repeated here: they are the director's, served
// by `tsvs daemon --http`, so a Prometheus scraping both never sees a series twice
// (docs/keepalived.md, docs/http-api.md).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { BoundedHttp, type HttpEndpoint, send, sendJson } from '../http/bounded.js';
import { CONTENT_TYPE, Exposition } from '../http/exposition.js';
import { collectHealth, collectProcess, collectVrrp, type VrrpFigures } from '../http/ha-metrics.js';
import { healthOf } from './health.js';
import type { KeepalivedStatus } from './status.js';

/** The VRRP part's instance status, as far as tsvs_vrrp_* needs it. */
function vrrpOf(st: KeepalivedStatus, becameMaster: ReadonlyMap<string, number>): VrrpFigures[] {
  const out: VrrpFigures[] = [];
  for (const raw of st.vrrpInstances) {
    const v = raw as Partial<VrrpFigures>;
    if (typeof v.name !== 'string' || typeof v.state !== 'string' || typeof v.priority !== 'number') continue;
    out.push({ name: v.name, state: v.state, priority: v.priority, becameMaster: becameMaster.get(v.name) ?? 0 });
  }
  return out;
}

/** The whole exposition of the keepalived process. */
export function keepalivedMetrics(st: KeepalivedStatus, becameMaster: ReadonlyMap<string, number>, http: BoundedHttp | null): Buffer {
  const x = new Exposition();
  x.sample(x.family('tsvs_keepalived_ready', 'gauge', '1 once the keepalived configuration is applied, else 0.'), '', st.ready ? 1 : 0);
  x.sample(x.family('tsvs_keepalived_config_warnings', 'gauge', 'Warnings of the last configuration load.'), '', st.warnings);
  collectHealth(x, healthOf(st));
  collectVrrp(x, vrrpOf(st, becameMaster));
  http?.collectOwn(x);
  collectProcess(x);
  return x.renderBuffer();
}

export interface KeepalivedHttpOptions extends HttpEndpoint {
  status(): KeepalivedStatus;
  onError(msg: string): void;
}

export class KeepalivedHttp {
  private readonly http: BoundedHttp;
  /** Times each VRRP instance became MASTER since start (the VRRP part's transitions). */
  readonly becameMaster = new Map<string, number>();

  constructor(private readonly o: KeepalivedHttpOptions) {
    this.http = new BoundedHttp({
      host: o.host,
      port: o.port,
      route: (url, req, res) => Promise.resolve(this.route(url, req, res)),
      paths: '/metrics, /api/v1/status',
      onError: (msg, path, e) => o.onError(`${msg}: ${path}: ${(e as Error).stack ?? String(e)}`),
    });
  }

  /** Feed of the VRRP part's onTransition. */
  transition(s: { name: string; state: string }): void {
    if (s.state === 'MASTER') this.becameMaster.set(s.name, (this.becameMaster.get(s.name) ?? 0) + 1);
  }

  get url(): string {
    return this.http.url;
  }

  listen(): Promise<string> {
    return this.http.listen();
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private route(url: URL, req: IncomingMessage, res: ServerResponse): boolean {
    switch (url.pathname) {
      case '/metrics':
        send(res, req, 200, CONTENT_TYPE, keepalivedMetrics(this.o.status(), this.becameMaster, this.http));
        return true;
      case '/api/v1/status':
        sendJson(res, req, this.o.status());
        return true;
      case '/':
        send(
          res,
          req,
          200,
          'text/plain; charset=utf-8',
          'tsvs keepalived: /metrics (checkers, VRRP), /api/v1/status; the director serves its own with tsvs daemon --http\n',
        );
        return true;
    }
    return false;
  }
}
