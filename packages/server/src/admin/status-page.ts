/*
 * The status page: one self-contained HTML document (inline style and
 * script, no external resource, no build step), served at `GET /`. Its
 * script polls `status.json` beside it every 2 seconds and draws what it
 * reads with DOM text nodes and inline SVG (never as HTML: method names
 * come from the server's registry, not from the page).
 *
 * The script is plain ES2017 in a TypeScript string: keep it free of
 * backticks and dollar-brace, which the string would take for its own.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>zrpc status</title>
<style>
  :root { color-scheme: light dark; --fg: #1d2330; --muted: #667085; --bg: #f6f7f9; --card: #fff;
    --line: #e3e6ea; --ok: #1a7f37; --bad: #c62828; --warn: #b26a00; --accent: #2f6fde; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #9aa3b2; --bg: #14171c;
    --card: #1c2027; --line: #2c313a; --ok: #3fb950; --bad: #f85149; --warn: #d29922; --accent: #58a6ff; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
    color: var(--fg); background: var(--bg); }
  header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 12px; padding: 16px 24px;
    border-bottom: 1px solid var(--line); background: var(--card); }
  h1 { font-size: 18px; margin: 0; }
  h2 { font-size: 14px; margin: 24px 0 8px; color: var(--muted); font-weight: 600;
    text-transform: uppercase; letter-spacing: .04em; }
  main { padding: 8px 24px 24px; max-width: 1200px; }
  .badge { padding: 2px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff;
    background: var(--muted); }
  .badge.serving { background: var(--ok); } .badge.draining { background: var(--warn); }
  .badge.closed, .badge.unreachable { background: var(--bad); }
  .meta { color: var(--muted); }
  .tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; }
  .tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
  .tile .label { color: var(--muted); font-size: 12px; }
  .tile .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
  table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line);
    border-radius: 8px; overflow: hidden; }
  th, td { text-align: right; padding: 6px 10px; border-bottom: 1px solid var(--line);
    font-variant-numeric: tabular-nums; white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  th { color: var(--muted); font-weight: 600; font-size: 12px; }
  td.name { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
  td.chart { width: 260px; }
  .bad { color: var(--bad); }
  svg { display: block; }
  .spark-calls { fill: none; stroke: var(--accent); stroke-width: 1.5; }
  .spark-errors { fill: none; stroke: var(--bad); stroke-width: 1.5; }
  .spark-base { stroke: var(--line); }
  .empty { color: var(--muted); text-align: center; padding: 16px; }
  footer { color: var(--muted); padding: 0 24px 24px; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1 id="name">zrpc server</h1>
  <span id="state" class="badge">loading</span>
  <span class="meta" id="meta"></span>
</header>
<main>
  <div class="tiles" id="tiles"></div>
  <h2>Methods, last minute</h2>
  <table id="methods">
    <thead><tr><th>method</th><th>calls/s</th><th>error rate</th><th>p50</th><th>p99</th>
      <th>calls/s over 60 s <span class="bad">errors</span></th></tr></thead>
    <tbody></tbody>
  </table>
  <h2>Calls by status</h2>
  <table id="statuses">
    <thead><tr><th>status</th><th>last minute</th><th>since start</th></tr></thead>
    <tbody></tbody>
  </table>
</main>
<footer id="footer">Refreshes every 2 s.</footer>
<script>
(function () {
  'use strict';
  var REFRESH_MS = 2000;
  var REFUSALS = ['unknown_method', 'bad_arguments', 'refused_busy', 'refused_peer_limit', 'refused_closing'];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    return node;
  }
  function rate(n) { return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2); }
  function percent(n) { return (n * 100).toFixed(n > 0 && n < 0.01 ? 2 : 1) + ' %'; }
  function ms(n) {
    if (n === null || n === undefined) return '-';
    if (n >= 1000) return (n / 1000).toFixed(2) + ' s';
    return (n >= 10 ? n.toFixed(0) : n >= 1 ? n.toFixed(1) : n.toFixed(2)) + ' ms';
  }
  function bytes(n) {
    if (n >= 1048576) return (n / 1048576).toFixed(1) + ' MiB';
    if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
    return n + ' B';
  }
  function duration(seconds) {
    var d = Math.floor(seconds / 86400), h = Math.floor(seconds / 3600) % 24;
    var m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + m + 'm';
    return m > 0 ? m + 'm ' + s + 's' : s + 's';
  }
  function sum(values) { return values.reduce(function (a, b) { return a + b; }, 0); }
  function replaceRows(table, rows) {
    var body = table.tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.forEach(function (row) { body.appendChild(row); });
  }

  /** A 60-second sparkline: calls per second, and errors per second over it. */
  function sparkline(calls, errors) {
    var width = 240, height = 36, top = Math.max(1, Math.max.apply(null, calls));
    var chart = svg('svg', { width: width, height: height, viewBox: '0 0 ' + width + ' ' + height,
      role: 'img', 'aria-label': 'calls per second over the last minute' });
    function points(values) {
      return values.map(function (v, i) {
        var x = (i / (values.length - 1)) * (width - 2) + 1;
        var y = height - 2 - (v / top) * (height - 4);
        return x.toFixed(1) + ',' + y.toFixed(1);
      }).join(' ');
    }
    chart.appendChild(svg('line', { x1: 0, y1: height - 1, x2: width, y2: height - 1, 'class': 'spark-base' }));
    chart.appendChild(svg('polyline', { points: points(calls), 'class': 'spark-calls' }));
    if (sum(errors) > 0) chart.appendChild(svg('polyline', { points: points(errors), 'class': 'spark-errors' }));
    return chart;
  }

  function tile(label, value, bad) {
    return el('div', { 'class': 'tile' }, [
      el('div', { 'class': 'label' }, [label]),
      el('div', { 'class': 'value' + (bad ? ' bad' : '') }, [value]),
    ]);
  }

  function render(status) {
    var server = status.server, load = status.load, minute = status.calls.lastMinute;
    document.title = server.name + ' - zrpc status';
    document.getElementById('name').textContent = server.name;
    var state = document.getElementById('state');
    state.textContent = server.state;
    state.className = 'badge ' + server.state;
    document.getElementById('meta').textContent = [
      'up ' + duration(server.uptimeSeconds),
      server.version ? 'version ' + server.version : null,
      '@zrpc/server ' + server.zrpcVersion,
      'node ' + server.node,
      'pid ' + server.pid,
      server.endpoints.join(', '),
    ].filter(Boolean).join(' \\u00b7 ');

    var calls = 0, errors = 0;
    status.methods.forEach(function (m) { calls += m.calls; errors += m.errors; });
    var refused = sum(REFUSALS.map(function (s) { return minute[s]; }));
    var tiles = document.getElementById('tiles');
    while (tiles.firstChild) tiles.removeChild(tiles.firstChild);
    [
      tile('calls/s', rate(calls / Math.max(1, Math.min(status.windowSeconds, server.uptimeSeconds || 1)))),
      tile('error rate', percent(calls ? errors / calls : 0), errors > 0),
      tile('in flight', String(load.running)),
      tile('queued', String(load.queued), load.queued > 0),
      tile('peers', String(load.peers)),
      tile('refused, last minute', String(refused), refused > 0),
      tile('lost / cancelled', minute.lost + ' / ' + minute.cancelled),
      tile('loop delay p99', ms(load.loopDelayMs.p99)),
      tile('send queue', bytes(load.bytesWaiting)),
    ].forEach(function (t) { tiles.appendChild(t); });

    var methods = document.getElementById('methods');
    if (status.methods.length === 0) {
      replaceRows(methods, [el('tr', {}, [el('td', { colspan: '6', 'class': 'empty' }, ['no methods'])])]);
    } else {
      replaceRows(methods, status.methods.map(function (m) {
        return el('tr', { 'data-method': m.name }, [
          el('td', { 'class': 'name' }, [m.name]),
          el('td', {}, [rate(m.callsPerSecond)]),
          el('td', { 'class': m.errors > 0 ? 'bad' : '' }, [percent(m.errorRate)]),
          el('td', {}, [ms(m.p50Ms)]),
          el('td', {}, [ms(m.p99Ms)]),
          el('td', { 'class': 'chart' }, [sparkline(m.callsSeries, m.errorsSeries)]),
        ]);
      }));
    }

    var statuses = Object.keys(status.calls.total).filter(function (s) { return status.calls.total[s] > 0; });
    replaceRows(document.getElementById('statuses'), statuses.length === 0
      ? [el('tr', {}, [el('td', { colspan: '3', 'class': 'empty' }, ['no calls yet'])])]
      : statuses.map(function (s) {
          return el('tr', { 'data-status': s }, [
            el('td', { 'class': s === 'ok' ? '' : 'bad' }, [s]),
            el('td', {}, [String(minute[s])]),
            el('td', {}, [String(status.calls.total[s])]),
          ]);
        }));
    document.getElementById('footer').textContent =
      'Refreshes every 2 s. Updated ' + new Date().toLocaleTimeString() + '.';
  }

  function refresh() {
    fetch('status.json', { cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) throw new Error('status.json answered ' + response.status);
        return response.json();
      })
      .then(render, function (error) {
        var state = document.getElementById('state');
        state.textContent = 'unreachable';
        state.className = 'badge unreachable';
        document.getElementById('footer').textContent = 'Cannot read status.json (' + error.message + '); retrying.';
      })
      .then(function () { setTimeout(refresh, REFRESH_MS); });
  }
  refresh();
})();
</script>
</body>
</html>
`;
