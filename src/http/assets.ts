// Static assets the dashboard loads: the charting library (uPlot, a dependency in
// package.json, read from node_modules wherever the build runs from) and our own script and
// style (strings compiled into dist/, so a fresh clone needs no copy step). No CDN: a
// director's page must work with no outside network.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DASHBOARD_CSS } from './dashboard.js';
import { DASHBOARD_JS } from './dashboard-client.js';

export interface Asset {
  type: string;
  /** An npm package file (resolved from node_modules) or the text itself. */
  module?: string;
  text?: string;
}

export const ASSETS: Record<string, Asset> = {
  '/assets/uPlot.iife.min.js': { type: 'text/javascript; charset=utf-8', module: 'uplot/dist/uPlot.iife.min.js' },
  '/assets/uPlot.min.css': { type: 'text/css; charset=utf-8', module: 'uplot/dist/uPlot.min.css' },
  '/assets/dashboard.js': { type: 'text/javascript; charset=utf-8', text: DASHBOARD_JS },
  '/assets/dashboard.css': { type: 'text/css; charset=utf-8', text: DASHBOARD_CSS },
};

const require = createRequire(import.meta.url);
const cache = new Map<string, Buffer>();

/** The bytes of an asset; npm files are read once and kept. */
export function loadAsset(path: string): Buffer {
  const a = ASSETS[path];
  if (!a) throw new Error(`no asset ${path}`);
  let b = cache.get(path);
  if (!b) {
    if (a.module) {
      let file: string;
      try {
        file = require.resolve(a.module);
      } catch {
        throw new Error(`${a.module} is not installed: run npm ci in the tsvs directory`);
      }
      b = readFileSync(file);
    } else b = Buffer.from(a.text ?? '', 'utf8');
    cache.set(path, b);
  }
  return b;
}
