// The dashboard's last 15 minutes: every 2 s (the estimator's period) the director's total
// rates and each service's are appended to fixed rings, so a page opened now shows the past
// at once. Memory is bounded: HISTORY_POINTS per series, HISTORY_MAX_SERVICES services.

import { label } from '../control/engine.js';
import { rates } from '../core/estimator.js';
import type { Ipvs } from '../core/ipvs.js';

export const HISTORY_STEP_MS = 2000;
/** 15 minutes at one point per 2 s. */
export const HISTORY_POINTS = 450;
/** Charts beyond this many services are not kept (about 11 KB each): the page lists them. */
export const HISTORY_MAX_SERVICES = 200;

const SERIES = ['cps', 'inpps', 'outpps', 'inbps', 'outbps'] as const;
type SeriesName = (typeof SERIES)[number];

class Ring {
  readonly v: Record<SeriesName, Float64Array>;
  constructor() {
    this.v = {
      cps: new Float64Array(HISTORY_POINTS),
      inpps: new Float64Array(HISTORY_POINTS),
      outpps: new Float64Array(HISTORY_POINTS),
      inbps: new Float64Array(HISTORY_POINTS),
      outbps: new Float64Array(HISTORY_POINTS),
    };
  }
}

export interface HistoryJson {
  step: number;
  /** Unix seconds of each point, oldest first. */
  t: number[];
  total: Record<SeriesName, number[]>;
  /** By service rule (`-t 127.0.0.1:8080`); points before the service existed are null. */
  services: Record<string, Record<SeriesName, (number | null)[]>>;
}

export class History {
  private readonly t = new Float64Array(HISTORY_POINTS);
  private readonly total = new Ring();
  private readonly svc = new Map<string, { ring: Ring; since: number }>();
  /** Points written so far; the ring's head is n % HISTORY_POINTS. */
  private n = 0;

  constructor(private readonly ipvs: Ipvs) {}

  sample(unixMs: number): void {
    const at = this.n % HISTORY_POINTS;
    this.t[at] = Math.round(unixMs / 1000);
    const put = (ring: Ring, r: Record<SeriesName, number>) => {
      for (const k of SERIES) ring.v[k][at] = r[k];
    };
    put(this.total, rates(this.ipvs.rules.total));
    const seen = new Set<string>();
    for (const s of this.ipvs.rules.services()) {
      const key = label(s);
      let e = this.svc.get(key);
      if (!e) {
        if (this.svc.size >= HISTORY_MAX_SERVICES) continue;
        e = { ring: new Ring(), since: this.n };
        this.svc.set(key, e);
      }
      seen.add(key);
      put(e.ring, rates(s.stats));
    }
    for (const k of this.svc.keys()) if (!seen.has(k)) this.svc.delete(k);
    this.n++;
  }

  json(): HistoryJson {
    const len = Math.min(this.n, HISTORY_POINTS);
    const first = this.n - len;
    const idx = (j: number) => (first + j) % HISTORY_POINTS;
    const t: number[] = [];
    for (let j = 0; j < len; j++) t.push(this.t[idx(j)]!);
    const series = (ring: Ring, since: number) => {
      const o = {} as Record<SeriesName, (number | null)[]>;
      for (const k of SERIES) {
        const a: (number | null)[] = [];
        for (let j = 0; j < len; j++) a.push(first + j < since ? null : ring.v[k][idx(j)]!);
        o[k] = a;
      }
      return o;
    };
    const services: HistoryJson['services'] = {};
    for (const [k, e] of this.svc) services[k] = series(e.ring, e.since);
    return { step: HISTORY_STEP_MS / 1000, t, total: series(this.total, 0) as Record<SeriesName, number[]>, services };
  }
}
