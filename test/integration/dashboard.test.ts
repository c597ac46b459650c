// The dashboard in a real headless browser (Debian's chromium driven by playwright-core): the
// page of a real director loads with no console errors, shows its service and real servers,
// and a chart moves while a client sends traffic through the proxy engine on loopback.
// Screenshots for a person to look at: test-output/dashboard-wide.png and
// test-output/dashboard-narrow.png (gitignored).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { ROOT } from './harness.js';
import { type Lab, requireTool, startLab, traffic } from './http-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(ROOT, 'test-output');
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface ChartState {
  points: number;
  data: (number | null)[][];
}

describe('dashboard in headless chromium', () => {
  const skip = requireTool(CHROMIUM, 'chromium');
  let lab: Lab;
  let ctx: BrowserContext;
  let profile: string;
  before(async () => {
    if (skip) return;
    lab = await startLab(3);
    profile = mkdtempSync(join(tmpdir(), 'tsvs-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1400, height: 900 },
    });
  });
  after(async () => {
    await ctx?.close();
    await lab?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('shows the director, and its charts move with traffic', { skip }, async () => {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    const rule = `-t 127.0.0.1:${lab.vipPort}`;
    await page.goto(lab.url, { waitUntil: 'load', timeout: 10_000 });
    const card = page.locator(`.card[data-rule="${rule}"]`);
    await card.waitFor({ timeout: 10_000 });
    const text = await card.innerText();
    for (const s of lab.backends) {
      const port = (s.address() as { port: number }).port;
      assert.match(text, new RegExp(`127\\.0\\.0\\.1:${port}`), `real server ${port} listed`);
    }
    assert.match(text, /wrr/);
    assert.match(text, /Masq/);

    const chart = (id: string) =>
      page.evaluate((k) => {
        const c = (globalThis as unknown as { tsvs: { charts: Record<string, ChartState> } }).tsvs.charts[k]!;
        return { points: c.points, data: c.data };
      }, id);
    const first = await chart(`svc ${rule}`);
    // Traffic for a few seconds; the estimator needs one 2-second step, the page polls every 2 s.
    let moved = false;
    const deadline = Date.now() + 20_000;
    while (!moved && Date.now() < deadline) {
      await traffic(lab.vipPort, 15);
      await new Promise((r) => setTimeout(r, 500));
      const now = await chart(`svc ${rule}`);
      const cps = now.data[1]!;
      moved = now.points > first.points && cps.slice(-3).some((v) => (v ?? 0) > 0);
    }
    assert.ok(moved, 'the service chart shows conn/s > 0 after traffic');
    const total = await chart('total');
    assert.ok(
      total.data[1]!.some((v) => (v ?? 0) > 0),
      'the total chart shows conn/s > 0',
    );
    const canvas = await page.locator(`.card[data-rule="${rule}"] canvas`).count();
    assert.ok(canvas >= 1, 'uPlot drew a canvas');

    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'dashboard-wide.png'), fullPage: true });
    await page.setViewportSize({ width: 420, height: 900 });
    await new Promise((r) => setTimeout(r, 300));
    const overflow = await page.evaluate(() => {
      const g = globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number };
      return g.document.documentElement.scrollWidth - g.innerWidth;
    });
    assert.ok(overflow <= 0, `no sideways scroll in a narrow window (${overflow} px too wide)`);
    await page.screenshot({ path: join(OUT, 'dashboard-narrow.png'), fullPage: true });
    assert.ok(statSync(join(OUT, 'dashboard-wide.png')).size > 10_000);
    assert.deepEqual(errors, [], 'no console errors');
  });
});
