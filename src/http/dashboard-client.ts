// The dashboard's script, served as /assets/dashboard.js: plain ES2017 in the browser, no
// build step. It polls /api/v1/status and /api/v1/services every 2 s, keeps 15 minutes of
// points per chart (seeded from /api/v1/history) and builds every element with textContent,
// so nothing from the director is ever parsed as HTML. window.tsvs exposes the charts' state
// for the browser test.

export const DASHBOARD_JS = String.raw`// tsvs dashboard: polls the JSON API every 2 s and draws 15 minutes of rates with uPlot.
'use strict';
(function () {
  var STEP_MS = 2000;
  var WINDOW_S = 15 * 60;
  var state = { charts: {}, polls: 0, errors: 0 };
  window.tsvs = state;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function num(n) {
    if (n >= 1e9) return (n / 1e9).toFixed(1) + 'G';
    if (n >= 1e6) return (n / 1e6).toFixed(1) + 'M';
    if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    return String(n);
  }
  function getJson(path) {
    return fetch(path, { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
      return r.json();
    });
  }

  // One chart: series names, uPlot instance, data columns [t, s1, s2, ...].
  function makeChart(id, host, series, scales) {
    var data = [[]];
    var opts = {
      width: Math.max(200, host.clientWidth || 300),
      height: 180,
      series: [{}],
      axes: [{}, { scale: 'l', size: 56, values: function (u, v) { return v.map(num); } }],
      scales: { x: { time: true } },
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    };
    series.forEach(function (s) {
      opts.series.push({ label: s.label, stroke: s.color, width: 1.5, scale: s.scale || 'l',
        value: function (u, v) { return v == null ? '-' : num(v); } });
      data.push([]);
    });
    if (scales === 2) {
      opts.axes.push({ scale: 'r', side: 1, size: 56, grid: { show: false }, values: function (u, v) { return v.map(num); } });
    }
    var u = new uPlot(opts, data, host);
    var c = { id: id, u: u, data: data, host: host, points: 0 };
    state.charts[id] = c;
    return c;
  }
  function push(c, t, values) {
    c.data[0].push(t);
    for (var i = 0; i < values.length; i++) c.data[i + 1].push(values[i]);
    while (c.data[0].length && c.data[0][0] < t - WINDOW_S) c.data.forEach(function (col) { col.shift(); });
    c.points++;
    c.u.setData(c.data);
    c.host.dataset.points = String(c.points);
    c.host.dataset.last = String(values[0]);
  }
  function fill(c, h, cols) {
    c.data[0] = h.t.slice();
    for (var i = 0; i < cols.length; i++) c.data[i + 1] = cols[i].slice();
    c.u.setData(c.data);
  }
  function resize() {
    Object.keys(state.charts).forEach(function (k) {
      var c = state.charts[k];
      var w = Math.max(200, c.host.clientWidth);
      if (w !== c.u.width) c.u.setSize({ width: w, height: 180 });
    });
  }
  window.addEventListener('resize', resize);

  var total = makeChart('total', document.getElementById('chart-total'), [
    { label: 'conn/s', color: '#0969da' },
    { label: 'in pkt/s', color: '#1a7f37' },
    { label: 'out pkt/s', color: '#bf8700' },
  ]);
  var bytes = makeChart('bytes', document.getElementById('chart-bytes'), [
    { label: 'in B/s', color: '#1a7f37' },
    { label: 'out B/s', color: '#bf8700' },
  ]);

  var cards = {};
  function serviceCard(svc) {
    var card = cards[svc.rule];
    if (card) return card;
    var root = el('div', 'card');
    root.dataset.rule = svc.rule;
    var title = el('h3', '', svc.protocol + ' ' + (svc.fwmark ? 'fwmark ' + svc.fwmark : (svc.family === 'inet6' ? '[' + svc.address + ']' : svc.address) + ':' + svc.port));
    var meta = el('div', 'meta');
    var chartHost = el('div', 'chart');
    var scroll = el('div', 'scroll');
    root.append(title, meta, chartHost, scroll);
    document.getElementById('services').append(root);
    var chart = makeChart('svc ' + svc.rule, chartHost, [
      { label: 'conn/s', color: '#0969da' },
      { label: 'in B/s', color: '#1a7f37', scale: 'r' },
      { label: 'out B/s', color: '#bf8700', scale: 'r' },
    ], 2);
    card = { root: root, meta: meta, scroll: scroll, chart: chart };
    cards[svc.rule] = card;
    return card;
  }

  function destTable(svc) {
    var t = el('table');
    var head = el('tr');
    var cols = ['real server', 'fwd', 'weight', 'active', 'inactive', 'conn/s', 'in B/s', 'out B/s', 'conns', 'check'];
    cols.forEach(function (c) { head.append(el('th', '', c)); });
    t.append(head);
    svc.dests.forEach(function (d) {
      var tr = el('tr');
      tr.append(el('td', '', (d.address.indexOf(':') >= 0 ? '[' + d.address + ']' : d.address) + ':' + d.port));
      tr.append(el('td', '', d.forward));
      tr.append(el('td', d.weight === 0 ? 'zero' : '', d.weight));
      tr.append(el('td', '', d.activeConns));
      tr.append(el('td', '', d.inactConns));
      tr.append(el('td', '', num(d.rates.cps)));
      tr.append(el('td', '', num(d.rates.inbps)));
      tr.append(el('td', '', num(d.rates.outbps)));
      tr.append(el('td', '', num(d.stats.conns)));
      var h = d.health;
      var td = el('td', h ? (h.up ? 'up' : 'down') : 'zero', h ? (h.up ? 'UP' : 'DOWN') + ' ' + h.checker : '-');
      if (h && h.detail) td.title = h.detail;
      tr.append(td);
      t.append(tr);
    });
    if (svc.dests.length === 0) {
      var tr = el('tr');
      var td = el('td', 'empty', 'no real servers');
      td.colSpan = cols.length;
      tr.append(td);
      t.append(tr);
    }
    return t;
  }

  // A card is described whenever it is drawn, so one seeded from history already lists its
  // real servers before the first live poll.
  function describe(c, svc) {
    c.meta.textContent = svc.rule + ' · scheduler ' + svc.scheduler + (svc.persistent ? ' · persistent ' + svc.timeout + ' s' : '') +
      ' · ' + svc.dests.length + ' real server' + (svc.dests.length === 1 ? '' : 's') + ' · ' + num(svc.stats.conns) + ' conns';
    c.scroll.replaceChildren(destTable(svc));
  }

  function kv(rows, empty) {
    if (rows.length === 0) return el('div', 'empty', empty);
    var t = el('table');
    rows.forEach(function (r) {
      var tr = el('tr');
      tr.append(el('td', '', r[0]), el('td', '', r[1]));
      t.append(tr);
    });
    return t;
  }

  function render(st, sv) {
    var sum = document.getElementById('summary');
    sum.replaceChildren();
    [['engine', st.engine], ['pid', st.pid], ['netns', st.netns], ['services', st.services],
     ['connections', st.conns], ['interfaces', st.interfaces.length ? st.interfaces.join(', ') : '(none)'],
     ['updated', new Date(sv.time).toLocaleTimeString()]].forEach(function (p) {
      var s = el('span');
      s.append(el('span', '', p[0] + ' '), el('b', '', p[1]));
      sum.append(s);
    });
    var drops = Object.keys(st.drops).sort().map(function (k) { return [k, num(st.drops[k])]; });
    document.getElementById('drops').replaceChildren(kv(drops, 'no drops'));
    document.getElementById('unserved').replaceChildren(kv(st.unserved.map(function (u) { return [u.rule, u.reason]; }), 'every rule is served'));
    var vb = document.getElementById('vrrp-box');
    vb.hidden = !st.vrrp || st.vrrp.length === 0;
    if (!vb.hidden) {
      document.getElementById('vrrp').replaceChildren(kv(st.vrrp.map(function (v) {
        return [v.name, v.state + ' prio ' + v.priority + ' vrid ' + v.vrid + ' ' + v.interface];
      }), ''));
    }
    var t = Date.parse(sv.time) / 1000;
    var r = sv.total.rates;
    push(total, t, [r.cps, r.inpps, r.outpps]);
    push(bytes, t, [r.inbps, r.outbps]);
    var seen = {};
    sv.services.forEach(function (svc) {
      seen[svc.rule] = true;
      var c = serviceCard(svc);
      describe(c, svc);
      push(c.chart, t, [svc.rates.cps, svc.rates.inbps, svc.rates.outbps]);
    });
    Object.keys(cards).forEach(function (k) {
      if (!seen[k]) {
        cards[k].root.remove();
        cards[k].chart.u.destroy();
        delete state.charts['svc ' + k];
        delete cards[k];
      }
    });
  }

  function poll() {
    Promise.all([getJson('/api/v1/status'), getJson('/api/v1/services')]).then(function (a) {
      render(a[0], a[1]);
      state.polls++;
      document.getElementById('error').hidden = true;
    }).catch(function (e) {
      state.errors++;
      var p = document.getElementById('error');
      p.hidden = false;
      p.textContent = 'cannot reach the director: ' + e.message + ' (retrying every 2 s)';
    }).finally(function () { setTimeout(poll, STEP_MS); });
  }

  // The last 15 minutes from the director, then live points.
  getJson('/api/v1/history').then(function (h) {
    fill(total, h, [h.total.cps, h.total.inpps, h.total.outpps]);
    fill(bytes, h, [h.total.inbps, h.total.outbps]);
    return getJson('/api/v1/services').then(function (sv) {
      sv.services.forEach(function (svc) {
        var s = h.services[svc.rule];
        var c = serviceCard(svc);
        describe(c, svc);
        if (s) fill(c.chart, h, [s.cps, s.inbps, s.outbps]);
      });
    });
  }).catch(function () { /* live points only */ }).finally(poll);
})();
`;
