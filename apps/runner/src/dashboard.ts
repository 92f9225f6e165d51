// The reliability dashboard: one static page that polls /readyz and /metrics and renders them.
// No external assets (the runner may sit on a network without internet); the operator token for
// the kill-switch controls is typed in and kept in the page's memory only.

/** The dashboard's HTML. */
export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Vellab runner</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { --bg:#0f1419; --panel:#182029; --text:#e6e9ec; --muted:#8b98a5; --ok:#3fb950; --bad:#f85149; --warn:#d29922; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; align-items:center; gap:16px; padding:14px 20px; border-bottom:1px solid #263039; }
  h1 { font-size:18px; margin:0; font-weight:600; }
  #ready { padding:3px 10px; border-radius:12px; font-weight:600; }
  .ok { background:rgba(63,185,80,.15); color:var(--ok); } .bad { background:rgba(248,81,73,.15); color:var(--bad); }
  main { display:grid; grid-template-columns:repeat(auto-fit, minmax(220px, 1fr)); gap:14px; padding:18px 20px; }
  .card { background:var(--panel); border-radius:8px; padding:14px 16px; }
  .card h2 { margin:0 0 6px; font-size:12px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); font-weight:600; }
  .big { font-size:28px; font-weight:600; font-variant-numeric: tabular-nums; }
  table { width:100%; border-collapse:collapse; font-variant-numeric: tabular-nums; }
  td { padding:2px 0; } td:last-child { text-align:right; }
  .wide { grid-column: 1 / -1; }
  input, button { font:inherit; padding:6px 10px; border-radius:6px; border:1px solid #30363d; background:#0d1117; color:var(--text); }
  button { cursor:pointer; } button.danger { border-color:var(--bad); color:var(--bad); }
  #updated { color:var(--muted); margin-left:auto; font-size:12px; }
</style>
</head>
<body>
<header><h1>Vellab runner</h1><span id="ready">…</span><span id="updated"></span></header>
<main>
  <section class="card"><h2>Ack latency p95</h2><div class="big" id="ack">–</div></section>
  <section class="card"><h2>Orders sent</h2><div class="big" id="sent">–</div></section>
  <section class="card"><h2>Broker rejects</h2><div class="big" id="rejects">–</div><table id="rejectCodes"></table></section>
  <section class="card"><h2>Rate-limit waits</h2><div class="big" id="waits">–</div></section>
  <section class="card"><h2>Reconnects · gaps</h2><div class="big" id="reconnects">–</div></section>
  <section class="card"><h2>Open reconcile tickets</h2><div class="big" id="tickets">–</div><table id="breaks"></table></section>
  <section class="card"><h2>Orders by state</h2><table id="states"></table></section>
  <section class="card"><h2>Parent orders working</h2><div class="big" id="parents">–</div><table id="parentProgress"></table></section>
  <section class="card wide"><h2>Readiness</h2><table id="checks"></table></section>
  <section class="card wide"><h2>Kill switches</h2><table id="switches"></table>
    <p><input id="token" type="password" placeholder="operator token" autocomplete="off">
    <input id="operator" placeholder="your name" value="">
    <button class="danger" id="engage">Engage global kill switch</button>
    <button id="release">Release global</button> <span id="ksmsg"></span></p>
  </section>
</main>
<script>
function parse(text) {
  const out = [];
  for (const line of text.split('\\n')) {
    if (!line || line[0] === '#') continue;
    const m = line.match(/^([a-zA-Z_:][\\w:]*)(?:\\{(.*)\\})? (\\S+)/);
    if (!m) continue;
    const labels = {};
    for (const p of (m[2] || '').matchAll(/(\\w+)="((?:[^"\\\\]|\\\\.)*)"/g)) labels[p[1]] = p[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}
const sum = (ms, name) => ms.filter((m) => m.name === name).reduce((a, m) => a + m.value, 0);
function quantile(ms, name, q) {
  const buckets = ms.filter((m) => m.name === name + '_bucket').sort((a, b) => Number(a.labels.le) - Number(b.labels.le));
  const total = buckets.length ? buckets[buckets.length - 1].value : 0;
  if (!total) return null;
  for (const b of buckets) if (b.value >= q * total) return Number(b.labels.le);
  return null;
}
function rows(el, pairs) {
  el.innerHTML = pairs.length ? pairs.map(([k, v]) => '<tr><td>' + k + '</td><td>' + v + '</td></tr>').join('') : '<tr><td>none</td><td></td></tr>';
}
async function refresh() {
  try {
    const [ready, metrics] = await Promise.all([fetch('/readyz').then((r) => r.json()), fetch('/metrics').then((r) => r.text())]);
    const el = document.getElementById('ready');
    el.textContent = ready.ok ? 'READY' : 'NOT READY'; el.className = ready.ok ? 'ok' : 'bad';
    rows(document.getElementById('checks'), Object.entries(ready.checks).map(([k, c]) => [(c.ok ? '✓ ' : '✗ ') + k, c.detail]));
    const ms = parse(metrics);
    const p95 = quantile(ms, 'vellab_order_ack_latency_seconds', 0.95);
    document.getElementById('ack').textContent = p95 === null ? '–' : (p95 === Infinity ? '> 5 s' : '≤ ' + Math.round(p95 * 1000) + ' ms');
    document.getElementById('sent').textContent = sum(ms, 'vellab_orders_sent_total');
    document.getElementById('rejects').textContent = sum(ms, 'vellab_broker_rejects_total');
    rows(document.getElementById('rejectCodes'), ms.filter((m) => m.name === 'vellab_broker_rejects_total').map((m) => [m.labels.code, m.value]));
    document.getElementById('waits').textContent = sum(ms, 'vellab_limiter_wait_seconds_count');
    document.getElementById('reconnects').textContent = sum(ms, 'vellab_ws_reconnects_total') + ' · ' + sum(ms, 'vellab_stream_gaps_total');
    document.getElementById('tickets').textContent = sum(ms, 'vellab_reconcile_open_tickets');
    rows(document.getElementById('breaks'), ms.filter((m) => m.name === 'vellab_reconcile_breaks_total').map((m) => ['breaks ' + m.labels.resolution.replace('_', ' '), m.value]));
    const prog = (of) => sum(ms.filter((m) => m.labels.of === of), 'vellab_parent_progress_shares');
    document.getElementById('parents').textContent = prog('parents');
    rows(document.getElementById('parentProgress'), [['shares filled', prog('filled')], ['shares remaining', prog('remaining')]]);
    rows(document.getElementById('states'), ms.filter((m) => m.name === 'vellab_orders').map((m) => [m.labels.state, m.value]));
    rows(document.getElementById('switches'), ms.filter((m) => m.name === 'vellab_kill_switch_engaged').map((m) => ['ENGAGED ' + m.labels.scope, m.labels.key]));
    document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById('ready').textContent = 'UNREACHABLE'; document.getElementById('ready').className = 'bad';
  }
}
async function killSwitch(action) {
  const token = document.getElementById('token').value;
  const operator = document.getElementById('operator').value || 'dashboard';
  const r = await fetch('/kill-switches/' + action, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
    body: JSON.stringify({ scope: 'global', reason: action + ' from the dashboard', operator }) });
  const body = await r.json();
  document.getElementById('ksmsg').textContent = r.ok ? action + 'd' : (body.error || r.status);
  refresh();
}
document.getElementById('engage').onclick = () => killSwitch('engage');
document.getElementById('release').onclick = () => killSwitch('release');
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>`
}
