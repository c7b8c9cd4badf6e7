// The solobridge dashboard. Every value from the bridge is put into the page as text
// (textContent), never as markup: worker names and user agents come from strangers.
'use strict';

const state = {
  summary: null,
  sort: 'name',
  desc: false,
  offset: 0,
  limit: 50,
  filter: '',
  stateFilter: '',
  chainFilter: '',
  chartChain: '',    // with chains of different algorithms: the chain the overview and chart show
  range: 3600,
  scope: 'scope=bridge',  // the chart's series (/api/v1/history)
  chart: null,
  live: [],          // [t, H/s] from WebSocket updates, for the 1 h view
  fetching: false,
  refetch: false,
};

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function hashrate(h) {
  if (h === null || h === undefined || !isFinite(h)) return '–';
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s', 'EH/s', 'ZH/s'];
  let i = 0;
  while (h >= 1000 && i < units.length - 1) { h /= 1000; i++; }
  return (h >= 100 ? h.toFixed(0) : h >= 10 ? h.toFixed(1) : h.toFixed(2)) + ' ' + units[i];
}

function difficulty(d) {
  if (d === null || d === undefined || !isFinite(d)) return '–';
  if (d === 0) return '0';
  const units = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let i = 0;
  while (d >= 1000 && i < units.length - 1) { d /= 1000; i++; }
  return (d >= 100 ? d.toFixed(0) : d >= 1 ? d.toFixed(2) : d.toPrecision(3)) + units[i];
}

function duration(s) {
  if (s === null || s === undefined || !isFinite(s)) return 'never';
  if (s < 1) return 'under 1 s';
  if (s < 120) return s.toFixed(0) + ' s';
  if (s < 7200) return (s / 60).toFixed(0) + ' min';
  if (s < 172800) return (s / 3600).toFixed(1) + ' h';
  if (s < 2 * 365.25 * 86400) return (s / 86400).toFixed(1) + ' days';
  return (s / (365.25 * 86400)).toPrecision(3) + ' years';
}

// Base units (satoshis; Ravencoin's have the same 8 decimals) as coins.
function coins(v) {
  if (v === null || v === undefined || !isFinite(v)) return '–';
  return (v / 1e8).toFixed(8).replace(/\.?0+$/, '');
}

function percent(p) {
  if (p === null || p === undefined || !isFinite(p)) return '–';
  const v = p * 100;
  if (v === 0) return '0 %';
  if (v < 0.001) return v.toExponential(1) + ' %';
  return (v < 10 ? v.toPrecision(2) : v.toFixed(1)) + ' %';
}

function ago(t) {
  if (!t) return 'never';
  const s = Date.now() / 1000 - t;
  if (s < 0) return 'now';
  return duration(s) + ' ago';
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

// SHA-256d and KAWPOW hashes are not alike: every hashrate is shown with its chain, and
// hashrates of chains of different algorithms are never added up.
const algorithmNames = { sha256d: 'SHA-256d', kawpow: 'KAWPOW' };

function algorithmName(a) { return algorithmNames[a] || a || '?'; }

// Several chains: the workers, devices and blocks tables get a chain column.
function multiChain() { return !!state.summary && state.summary.chains.length > 1; }

// "btc · SHA-256d": a chain id with its algorithm (the id alone before the first summary).
function chainLabel(id) {
  const c = state.summary && state.summary.chains.find((x) => x.id === id);
  return c ? id + ' · ' + algorithmName(c.algorithm) : id;
}

// Options of a chain <select>: "any" first (when given), then every chain; rebuilt only
// when the chains change, so that an open list is not disturbed.
function chainOptions(select, chains, any) {
  const want = (any ? [['', any]] : []).concat(chains.map((c) => [c.id, chainLabel(c.id)]));
  const have = [...select.options].map((o) => [o.value, o.textContent]);
  if (JSON.stringify(want) === JSON.stringify(have)) return;
  const value = select.value;
  clear(select);
  for (const [v, t] of want) {
    const o = el('option', t);
    o.value = v;
    select.appendChild(o);
  }
  select.value = want.some(([v]) => v === value) ? value : want[0][0];
}

// ---- overview ------------------------------------------------------------------------

function renderSummary(s) {
  state.summary = s;
  $('version').textContent = 'v' + s.version + ' · up ' + duration(s.uptime_seconds);
  // SHA-256d and KAWPOW hashes do not add up (the bridge has no hashrate then): with both,
  // the overview and the chart show one chain's hashrate, named and chosen beside the
  // chart (the first chain's until then); each chain's card has its own.
  const mixed = s.hashrate_mixed_algorithms && s.chains.length > 0;
  const shown = mixed ? s.chains.find((c) => c.id === state.chartChain) || s.chains[0] : null;
  const rate = mixed ? shown.stats.hashrate : s.hashrate;
  const scope = mixed ? 'scope=chain&key=' + encodeURIComponent(shown.id) : 'scope=bridge';
  if (scope !== state.scope) { state.scope = scope; state.live = []; loadChart(); }
  const chartChain = $('chart-chain');
  chartChain.hidden = !mixed;
  if (mixed) {
    chainOptions(chartChain, s.chains);
    chartChain.value = shown.id;
  }
  for (const th of document.querySelectorAll('th.chain-col')) th.hidden = s.chains.length < 2;
  $('workers').classList.toggle('multi-chain', s.chains.length > 1);
  const chainFilter = $('chain-filter');
  chainFilter.hidden = s.chains.length < 2;
  chainOptions(chainFilter, s.chains, 'any chain');
  $('hr-label').textContent = 'Hashrate (5 m' + (mixed ? ', ' + chainLabel(shown.id) : '') + ')';
  $('hr5m').textContent = hashrate(rate['5m']);
  $('hr1h').textContent = hashrate(rate['1h']);
  $('hr1d').textContent = hashrate(rate['1d']);
  $('workers-online').textContent = s.workers.online + ' online';
  $('workers-idle').textContent = s.workers.idle;
  $('workers-offline').textContent = s.workers.offline;
  // Statistics never stop mining: a history that cannot be written is said here.
  const notice = $('notice');
  if (s.history.enabled && !s.history.available) {
    notice.textContent = 'History unavailable: ' + (s.history.error || 'not opened') +
      '. Mining goes on; statistics are kept in memory only and are lost at a restart.';
    notice.hidden = false;
  } else {
    notice.hidden = true;
  }
  let found = 0, last = 0;
  const chains = $("chains");
  clear(chains);
  for (const c of s.chains) {
    found += c.blocks.found;
    if (c.stats.last_block_found && c.stats.last_block_found > last) last = c.stats.last_block_found;
    chains.appendChild(renderChain(c));
  }
  if (s.chains.length > 0) {
    // One chain's odds (chains of different coins have no common odds; each chain's card has
    // its own): the chain the overview's hashrate shows, else the first.
    const oddsChain = shown || s.chains[0];
    $('ttb-label').textContent = 'Expected time to a block' + (s.chains.length > 1 ? ' (' + oddsChain.id + ')' : '');
    const o = oddsChain.stats.odds;
    $('ttb').textContent = duration(o.expected_seconds);
    $('pday').textContent = percent(o.day);
    $('pweek').textContent = percent(o.week);
    $('pmonth').textContent = percent(o.month);
    $('pyear').textContent = percent(o.year);
  }
  $('blocks-found').textContent = found;
  $('last-block').textContent = last ? ago(last) : 'never';
  renderDevices(s.devices);
  renderEvents(s.events, s.chains.length > 1);
  if (state.range === 3600) {
    state.live.push([s.time, rate['1m']]);
    while (state.live.length > 3600) state.live.shift();
  }
}

// A node's state as the template source reports it: only 'connected' supplies work;
// starting, syncing and connecting are on their way; the rest need the operator.
function nodeClass(state) {
  if (state === 'connected') return 'ok';
  if (state === 'connecting' || state === 'starting' || state === 'syncing') return 'warn';
  return 'bad';
}

function nodeText(n) {
  let t = n.state;
  if (n.state !== 'connected' && n.last_error) t += ': ' + n.last_error;
  return t;
}

function renderChain(c) {
  const box = el('div', null, 'card chain');
  const title = el('div', null, 'label');
  title.textContent = c.id + ' · ' + c.network + ' · ' + algorithmName(c.algorithm);
  box.appendChild(title);
  const dl = el('dl');
  const row = (k, v, cls) => { dl.appendChild(el('dt', k)); dl.appendChild(el('dd', v, cls)); };
  const nodes = c.nodes && c.nodes.length ? c.nodes : [c.node];
  for (const n of nodes) {
    const label = nodes.length > 1 ? 'Node ' + n.rpc_url + (n.active ? ' (work)' : '') : 'Node';
    row(label, nodeText(n), nodeClass(n.state));
  }
  row('Height', c.tip ? c.tip.height : '–');
  row('Network difficulty', difficulty(c.template.network_difficulty));
  row('Template', c.template.transactions + ' txs, fees ' + coins(c.template.fees) + ', weight ' + c.template.weight +
      ', coinbase ' + coins(c.template.coinbase_value));
  const peers = c.p2p_peers.length;
  row('P2P peers', peers === 0 ? 'none configured' : c.p2p_peers_connected + ' of ' + peers + ' connected',
      peers === 0 || c.p2p_peers_connected > 0 ? 'ok' : 'warn');
  row('Work', c.work_mode === 'full' ? 'full templates' : 'header-only (node RPC down)', c.work_mode === 'full' ? '' : 'warn');
  row('Hashrate', hashrate(c.stats.hashrate['5m']) + ' (5 m) · ' + hashrate(c.stats.hashrate['1h']) + ' (1 h)');
  row('Odds', duration(c.stats.odds.expected_seconds) + ' to a block · ' + percent(c.stats.odds.day) + ' a day');
  const b = c.blocks;
  const fates = ['pending', 'accepted', 'confirmed', 'orphaned', 'stale', 'rejected', 'abandoned']
    .filter((f) => b[f] > 0).map((f) => b[f] + ' ' + f);
  row('Blocks', b.found + ' found' + (fates.length ? ' · ' + fates.join(' · ') : ''),
      // A rejected block points at a fault (the node's reason says which); orphans and
      // stale blocks are races that solo mining loses now and then.
      b.rejected > 0 ? 'bad' : b.orphaned + b.stale + b.abandoned > 0 ? 'warn' : '');
  row('Best share', difficulty(c.stats.best_share_round) + ' this round · ' + difficulty(c.stats.best_share_all_time) + ' all time');
  row('Shares', c.stats.shares.accepted + ' accepted · ' + c.stats.shares.rejected + ' rejected · stale ' +
      c.stats.shares.stale_percent.toFixed(2) + ' %');
  box.appendChild(dl);
  return box;
}

function renderDevices(devices) {
  const body = $('devices').tBodies[0];
  clear(body);
  if (devices.length === 0) {
    const tr = el('tr');
    const td = el('td', 'no local devices configured', 'muted');
    td.colSpan = multiChain() ? 7 : 6;
    tr.appendChild(td);
    body.appendChild(tr);
    return;
  }
  for (const d of devices) {
    const tr = el('tr');
    tr.appendChild(el('td', d.id + ' (' + d.name + ')' + (d.algorithm ? ' · ' + algorithmName(d.algorithm) : ''), 'name'));
    let st = d.state;
    // KAWPOW: the epoch's dataset being built on the device, then the epoch searched.
    if (d.dag && d.dag.building_epoch >= 0) st += ' (epoch ' + d.dag.building_epoch + ' dataset ' + percent(d.dag.progress) + ')';
    else if (d.dag && d.dag.epoch >= 0) st += ' (epoch ' + d.dag.epoch + ')';
    if (d.error) st += ': ' + d.error;
    tr.appendChild(el('td', st, d.state === 'mining' ? 'ok' : d.state === 'failed' ? 'bad' : 'warn'));
    tr.appendChild(el('td', hashrate(d.hashrate_1m), 'num'));
    tr.appendChild(el('td', d.shares.accepted + ' / ' + d.shares.rejected, 'num'));
    tr.appendChild(el('td', d.hardware_errors, 'num'));
    tr.appendChild(el('td', d.blocks, 'num'));
    if (multiChain()) tr.appendChild(el('td', chainLabel(d.chain), 'chain'));
    body.appendChild(tr);
  }
}

// Several chains: each event names its chain ("new tip at height 259" alone does not say which).
function renderEvents(events, withChain) {
  const ul = $('events');
  clear(ul);
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    const li = el('li');
    li.appendChild(el('span', new Date(e.at * 1000).toLocaleString() + ' ', 'muted'));
    li.appendChild(el('span', (withChain && e.chain ? e.chain + ': ' : '') + (e.detail || e.kind)));
    ul.appendChild(li);
  }
}

// ---- workers -------------------------------------------------------------------------

function rejectText(w) {
  const r = w.shares.rejected_by_reason;
  const parts = Object.keys(r).map((k) => k + ' ' + r[k]);
  return parts.length ? parts.join(', ') : '0';
}

async function loadWorkers() {
  if (state.fetching) { state.refetch = true; return; }
  state.fetching = true;
  try {
    const p = new URLSearchParams({ offset: state.offset, limit: state.limit, sort: state.sort,
                                    order: state.desc ? 'desc' : 'asc' });
    if (state.filter) p.set('q', state.filter);
    if (state.stateFilter) p.set('state', state.stateFilter);
    if (state.chainFilter) p.set('chain', state.chainFilter);
    const r = await fetch('/api/v1/workers?' + p.toString(), { cache: 'no-store' });
    if (!r.ok) return;
    renderWorkers(await r.json());
  } catch (e) {
    // The WebSocket's reconnect shows that the bridge is unreachable.
  } finally {
    state.fetching = false;
    if (state.refetch) { state.refetch = false; loadWorkers(); }
  }
}

function renderWorkers(page) {
  const body = $('workers').tBodies[0];
  const rows = [];
  for (const w of page.workers) {
    const tr = el('tr');
    const name = el('td', w.name, 'name');
    name.title = w.name + (w.user_agent ? ' — ' + w.user_agent : '');
    tr.appendChild(name);
    // A name used on two chains is two workers: the chain says which row is which.
    if (multiChain()) tr.appendChild(el('td', chainLabel(w.chain), 'chain'));
    tr.appendChild(el('td', w.state, w.state === 'online' ? 'ok' : w.state === 'idle' ? 'warn' : 'bad'));
    tr.appendChild(el('td', hashrate(w.hashrate['5m']), 'num'));
    tr.appendChild(el('td', hashrate(w.hashrate['1h']), 'num'));
    tr.appendChild(el('td', hashrate(w.hashrate['1d']), 'num'));
    tr.appendChild(el('td', difficulty(w.difficulty), 'num'));
    tr.appendChild(el('td', difficulty(w.best_share_all_time), 'num'));
    tr.appendChild(el('td', ago(w.last_share)));
    tr.appendChild(el('td', rejectText(w)));
    tr.appendChild(el('td', w.firmware || '–'));
    rows.push(tr);
  }
  clear(body);
  for (const r of rows) body.appendChild(r);
  $('workers-total').textContent = '(' + page.total + ')';
  const pages = Math.max(1, Math.ceil(page.total / state.limit));
  const current = Math.floor(state.offset / state.limit) + 1;
  $('page').textContent = 'page ' + current + ' of ' + pages;
  $('prev').disabled = state.offset === 0;
  $('next').disabled = state.offset + state.limit >= page.total;
}

function setupWorkerControls() {
  for (const th of document.querySelectorAll('#workers th[data-sort]')) {
    th.addEventListener('click', () => {
      const f = th.dataset.sort;
      if (state.sort === f) state.desc = !state.desc;
      else { state.sort = f; state.desc = f !== 'name'; }
      state.offset = 0;
      for (const o of document.querySelectorAll('#workers th')) o.classList.remove('sorted', 'asc');
      th.classList.add('sorted');
      if (!state.desc) th.classList.add('asc');
      loadWorkers();
    });
  }
  let timer = null;
  $('filter').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.filter = $('filter').value; state.offset = 0; loadWorkers(); }, 250);
  });
  $('state-filter').addEventListener('change', () => { state.stateFilter = $('state-filter').value; state.offset = 0; loadWorkers(); });
  $('chain-filter').addEventListener('change', () => { state.chainFilter = $('chain-filter').value; state.offset = 0; loadWorkers(); });
  $('prev').addEventListener('click', () => { state.offset = Math.max(0, state.offset - state.limit); loadWorkers(); });
  $('next').addEventListener('click', () => { state.offset += state.limit; loadWorkers(); });
}

// ---- blocks --------------------------------------------------------------------------

// The submitter's fates (journal.hpp): accepted (in the node's main chain), confirmed
// (mature), pending (sent, no verdict yet), abandoned (no verdict before the submitter gave
// up: look the hash up on the node); orphaned, stale and rejected lost.
function fateClass(status) {
  if (status === 'accepted' || status === 'confirmed') return 'ok';
  if (status === 'pending' || status === 'abandoned') return 'warn';
  return 'bad';
}

function fateText(b) {
  let t = b.status;
  if ((b.status === 'accepted' || b.status === 'confirmed') && b.confirmations > 0)
    t += ', ' + b.confirmations + (b.confirmations === 1 ? ' confirmation' : ' confirmations');
  return t;
}

async function loadBlocks() {
  try {
    const r = await fetch('/api/v1/blocks', { cache: 'no-store' });
    if (!r.ok) return;
    const blocks = await r.json();
    const body = $('blocks').tBodies[0];
    clear(body);
    if (blocks.length === 0) {
      const tr = el('tr');
      const td = el('td', 'no block found yet', 'muted');
      td.colSpan = multiChain() ? 6 : 5;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    for (const b of blocks.slice(0, 25)) {
      const tr = el('tr');
      tr.appendChild(el('td', b.height));
      const fate = el('td', fateText(b), 'fate ' + fateClass(b.status));
      if (b.reason) fate.appendChild(el('div', b.reason, 'reason muted'));
      tr.appendChild(fate);
      tr.appendChild(el('td', b.worker || '–', 'name'));
      tr.appendChild(el('td', b.found_at ? new Date(b.found_at * 1000).toLocaleString() : '–'));
      const h = el('td', b.hash, 'hash');
      h.title = b.hash;
      tr.appendChild(h);
      if (multiChain()) tr.appendChild(el('td', chainLabel(b.chain), 'chain'));
      body.appendChild(tr);
    }
    if (blocks.length > 25) {
      const tr = el('tr');
      const td = el('td', (blocks.length - 25) + ' older blocks in /api/v1/blocks', 'muted');
      td.colSpan = multiChain() ? 6 : 5;
      tr.appendChild(td);
      body.appendChild(tr);
    }
  } catch (e) {
    // Shown again at the next update.
  }
}

// ---- chart ---------------------------------------------------------------------------

function chartColors() {
  const dark = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
  return { line: dark ? '#6ea8fe' : '#2e6fd8', grid: dark ? '#2a3039' : '#e3e6ea', text: dark ? '#98a2b3' : '#667085' };
}

// Time axis ticks at round local times (seconds, minutes, hours, days), at most 8: Chart.js's own
// ticks on a linear axis fall on arbitrary seconds, and labels in minutes then repeat.
const tickSteps = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800];

function timeTicks(scale) {
  const span = scale.max - scale.min;
  if (!(span > 0)) return;
  const step = tickSteps.find((s) => span / s <= 7) || tickSteps[tickSteps.length - 1];
  // Local time = Unix time + offset: round in local time (midnights, whole hours).
  const offset = -new Date(scale.min * 1000).getTimezoneOffset() * 60;
  const ticks = [];
  for (let t = Math.ceil((scale.min + offset) / step) * step - offset; t <= scale.max; t += step) ticks.push({ value: t });
  scale.ticks = ticks;
  scale.tickStep = step;
}

function timeLabel(v, scale) {
  const d = new Date(v * 1000);
  const step = scale && scale.tickStep ? scale.tickStep : 3600;
  if (step >= 86400) return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  const hm = d.toLocaleTimeString([], step < 60 ? { hour: '2-digit', minute: '2-digit', second: '2-digit' }
                                                  : { hour: '2-digit', minute: '2-digit' });
  // Beyond a day the same hour comes back: name the day as well.
  return scale && scale.max - scale.min > 86400 ? d.toLocaleDateString([], { weekday: 'short' }) + ' ' + hm : hm;
}

function makeChart() {
  const c = chartColors();
  state.chart = new Chart($('chart'), {
    type: 'line',
    data: { datasets: [{ label: 'hashrate', data: [], borderColor: c.line, backgroundColor: c.line, pointRadius: 0,
                         borderWidth: 2, tension: 0.2 }] },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
      plugins: { legend: { display: false },
                 tooltip: { callbacks: { title: (items) => new Date(items[0].parsed.x * 1000).toLocaleString(),
                                         label: (item) => hashrate(item.parsed.y) } } },
      scales: {
        x: { type: 'linear', grid: { color: c.grid }, afterBuildTicks: timeTicks,
             ticks: { color: c.text, autoSkip: false, callback(v) { return timeLabel(v, this); } } },
        y: { beginAtZero: true, grid: { color: c.grid }, ticks: { color: c.text, callback: (v) => hashrate(v) } },
      },
    },
  });
}

async function loadChart() {
  let points = [];
  try {
    const r = await fetch('/api/v1/history?' + state.scope + '&range=' + state.range, { cache: 'no-store' });
    if (r.ok) points = (await r.json()).points.map((p) => ({ x: p[0], y: p[1] }));
  } catch (e) {
    points = [];
  }
  state.history = points;
  drawChart();
}

function drawChart() {
  if (!state.chart) return;
  let data = (state.history || []).slice();
  if (state.range === 3600) {
    const after = data.length ? data[data.length - 1].x : 0;
    for (const [t, h] of state.live) if (t > after) data.push({ x: t, y: h });
  }
  const now = state.summary ? state.summary.time : Date.now() / 1000;
  // A bridge younger than the range: the chart starts when it started.
  const started = state.summary ? state.summary.started_at - 60 : 0;
  state.chart.options.scales.x.min = Math.max(now - state.range, Math.min(started, data.length ? data[0].x : started));
  state.chart.options.scales.x.max = now;
  state.chart.data.datasets[0].data = data;
  state.chart.update('none');
}

function setupChart() {
  for (const b of document.querySelectorAll('.tabs button')) {
    b.addEventListener('click', () => {
      for (const o of document.querySelectorAll('.tabs button')) o.classList.remove('active');
      b.classList.add('active');
      state.range = Number(b.dataset.range);
      loadChart();
    });
  }
  $('chart-chain').addEventListener('change', () => {
    state.chartChain = $('chart-chain').value;
    if (state.summary) renderSummary(state.summary);
  });
  if (typeof Chart === 'function') makeChart();
  loadChart();
  setInterval(loadChart, 60000);
}

// ---- live updates --------------------------------------------------------------------

let lastBlocks = '';

function connect() {
  const proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
  const ws = new WebSocket(proto + location.host + '/ws');
  ws.onopen = () => { const c = $('conn'); c.textContent = 'live'; c.className = 'pill ok'; };
  ws.onmessage = (m) => {
    let s;
    try { s = JSON.parse(m.data); } catch (e) { return; }
    renderSummary(s);
    drawChart();
    loadWorkers();
    // The blocks table again when a block is found or a fate or a confirmation count changes.
    const blocks = JSON.stringify(s.chains.map((c) => [c.blocks.found, c.blocks.recent.map((b) => [b.hash, b.status, b.confirmations])]));
    if (blocks !== lastBlocks) { lastBlocks = blocks; loadBlocks(); }
    document.body.dataset.live = 'true';
  };
  ws.onclose = () => {
    const c = $('conn');
    c.textContent = 'reconnecting…';
    c.className = 'pill warn';
    setTimeout(connect, 2000);
  };
  ws.onerror = () => ws.close();
}

document.addEventListener('DOMContentLoaded', () => {
  setupWorkerControls();
  setupChart();
  loadWorkers();
  loadBlocks();
  connect();
});
