// The dashboard page and its style. The page is a shell; dashboard-client.ts fills it from
// the JSON API every 2 s. Layout: a grid of cards that is one column in a narrow window and
// as many as fit (about 520 px each) in a wide one; tables scroll sideways inside their card.

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tsvs director</title>
<link rel="stylesheet" href="/assets/uPlot.min.css">
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body>
<header>
  <h1>tsvs director</h1>
  <div id="summary" class="summary">loading…</div>
  <nav><a href="/metrics">/metrics</a> · <a href="/api/v1/services">/api/v1/services</a> · <a href="/api/v1/status">/api/v1/status</a> · <a href="/api/v1/conns">/api/v1/conns</a></nav>
</header>
<main>
  <section class="grid">
    <div class="card"><h2>Connections and packets per second, all services</h2><div id="chart-total" class="chart"></div></div>
    <div class="card"><h2>Bytes per second, all services</h2><div id="chart-bytes" class="chart"></div></div>
    <div class="card"><h2>Drops by reason</h2><div id="drops"></div><h2>Rules not served</h2><div id="unserved"></div><div id="vrrp-box" hidden><h2>VRRP</h2><div id="vrrp"></div></div></div>
  </section>
  <h2 class="section">Virtual services</h2>
  <section id="services" class="grid"></section>
  <p id="error" class="error" hidden></p>
</main>
<script src="/assets/uPlot.iife.min.js"></script>
<script src="/assets/dashboard.js"></script>
</body>
</html>
`;

export const DASHBOARD_CSS = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --fg: #1b1f24; --muted: #5b6570;
  --line: #d8dde3; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; }
@media (prefers-color-scheme: dark) { :root { --bg: #0f1216; --card: #181c22; --fg: #e6e9ee;
  --muted: #9aa4ae; --line: #2c333b; --ok: #3fb950; --bad: #f85149; --warn: #d29922; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { padding: 12px 16px; border-bottom: 1px solid var(--line); background: var(--card); }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 14px; margin: 0 0 8px; color: var(--muted); font-weight: 600; }
h2.section { margin: 16px 16px 0; font-size: 16px; color: var(--fg); }
nav { font-size: 12px; margin-top: 4px; }
a { color: inherit; }
.summary { display: flex; flex-wrap: wrap; gap: 4px 16px; font-variant-numeric: tabular-nums; }
.summary b { font-weight: 600; }
main { padding-bottom: 24px; }
.grid { display: grid; gap: 12px; padding: 12px 16px 0;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 520px), 1fr)); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px;
  min-width: 0; }
.card h3 { margin: 0 0 2px; font-size: 15px; font-family: ui-monospace, Menlo, Consolas, monospace; }
.meta { color: var(--muted); font-size: 12px; margin-bottom: 8px; }
.chart { width: 100%; min-height: 180px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 13px; }
th, td { text-align: right; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th:first-child, td:first-child { text-align: left; font-family: ui-monospace, Menlo, Consolas, monospace; }
th { color: var(--muted); font-weight: 600; }
.up { color: var(--ok); font-weight: 600; }
.down { color: var(--bad); font-weight: 600; }
.zero { color: var(--muted); }
.error { color: var(--bad); margin: 12px 16px; }
.empty { color: var(--muted); }
.u-legend { font-size: 12px; }
`;
