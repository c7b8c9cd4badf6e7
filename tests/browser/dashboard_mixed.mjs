// The dashboard of a bridge with a SHA-256d chain and a KAWPOW chain, in a real browser:
// Debian's Chromium driven by playwright-core (no browser download). Called by
// tests/integration/dashboard_mixed_test.cpp with the web server running and miners on both
// chains:
//
//   node tests/browser/dashboard_mixed.mjs URL SCREENSHOT.png EXPECTED.json
//
// EXPECTED.json says what the test fed: the chains (id, network, algorithm, the unit their
// hashrate reads in, their hashrate, network difficulty and height), the workers (name,
// chain, hashrate), the devices (id, chain, the state text, hashrate), the found blocks and
// the hostile worker name. The page must show each chain's hashrate on its own (never the
// two algorithms added up, in the overview, the chain cards or the chart), both chains'
// difficulty and odds, every worker and device and block under its own chain, the KAWPOW
// dataset being built, and the hostile name as text; the console must have no error. The
// values the page formats are compared with the page's own formatting of the summary it
// rendered (state.summary) and with the figures the test fed. Exit 0 when every check
// passed, otherwise prints why and exits 1.
import { checkDashboard } from './session.mjs';
import { readFileSync } from 'node:fs';

const [url, screenshot, expectedFile] = process.argv.slice(2);
if (!url || !screenshot || !expectedFile) {
  console.error('usage: dashboard_mixed.mjs URL SCREENSHOT.png EXPECTED.json');
  process.exit(2);
}
const expected = JSON.parse(readFileSync(expectedFile, 'utf8'));

// What is wrong with the page now (in the page: its own state and formatting functions);
// [] when nothing is. `shown` is the chain the overview and the chart should show.
function problems({ spec, shown }) {
  const out = [];
  const s = state.summary;
  if (!s) return ['no summary rendered yet'];
  const unit = (text) => (text.match(/[kMGTPEZ]?H\/s/) || [''])[0];
  const near = (got, want) => isFinite(got) && Math.abs(got / want - 1) < 0.25;
  const labelOf = (id) => id + ' · ' + spec.chains.find((c) => c.id === id).algorithm;
  // A table's rows as {header: cell text} (the columns shown: a hidden header has no cells).
  const table = (id) => {
    const heads = [...document.querySelectorAll('#' + id + ' thead th')].filter((th) => !th.hidden).map((th) => th.textContent);
    return [...document.querySelectorAll('#' + id + ' tbody tr')].map((tr) => {
      const row = {};
      [...tr.querySelectorAll('td')].forEach((td, i) => { row[heads[i]] = td.textContent; });
      return row;
    });
  };

  if (s.hashrate_mixed_algorithms !== true) out.push('the summary does not say the algorithms are mixed');
  if (s.hashrate['5m'] !== null) out.push('the summary has a bridge hashrate summed over both algorithms: ' + s.hashrate['5m']);

  // The chain cards, in config order.
  const cards = [...document.querySelectorAll('#chains .card.chain')];
  if (cards.length !== spec.chains.length) out.push(cards.length + ' chain cards, not ' + spec.chains.length);
  spec.chains.forEach((want, i) => {
    const card = cards[i], c = s.chains[i];
    if (!card || !c) return;
    const title = card.querySelector('.label').textContent;
    if (title !== want.id + ' · ' + want.network + ' · ' + want.algorithm) out.push('chain card ' + i + ' title: ' + title);
    const rows = {};
    const dts = card.querySelectorAll('dt');
    for (const dt of dts) rows[dt.textContent] = dt.nextElementSibling.textContent;
    if (rows['Height'] !== String(want.height)) out.push(want.id + ' height: ' + rows['Height']);
    if (rows['Network difficulty'] !== difficulty(want.network_difficulty))
      out.push(want.id + ' network difficulty: ' + rows['Network difficulty'] + ', not ' + difficulty(want.network_difficulty));
    if (!near(c.stats.hashrate['5m'], want.rate))
      out.push(want.id + ' 5 m hashrate ' + c.stats.hashrate['5m'] + ' is not its miners\' ' + want.rate);
    const hr = hashrate(c.stats.hashrate['5m']) + ' (5 m) · ' + hashrate(c.stats.hashrate['1h']) + ' (1 h)';
    if (rows['Hashrate'] !== hr) out.push(want.id + ' hashrate row: ' + rows['Hashrate'] + ', not ' + hr);
    if (unit(rows['Hashrate'] || '') !== want.unit) out.push(want.id + ' hashrate not in ' + want.unit + ': ' + rows['Hashrate']);
    const odds = duration(c.stats.odds.expected_seconds) + ' to a block · ' + percent(c.stats.odds.day) + ' a day';
    if (rows['Odds'] !== odds) out.push(want.id + ' odds row: ' + rows['Odds'] + ', not ' + odds);
  });
  // Different difficulties and hashrates: the two chains' odds differ.
  if (cards.length === 2 && s.chains[0].stats.odds.expected_seconds === s.chains[1].stats.odds.expected_seconds)
    out.push('both chains have the same expected time to a block');

  // The overview and the chart: one chain, named, never the sum.
  const c = s.chains.find((x) => x.id === shown);
  const want = spec.chains.find((x) => x.id === shown);
  if (c && want) {
    const label = $('hr-label').textContent;
    if (label !== 'Hashrate (5 m, ' + labelOf(shown) + ')') out.push('overview label: ' + label);
    if ($('hr5m').textContent !== hashrate(c.stats.hashrate['5m'])) out.push('overview hashrate: ' + $('hr5m').textContent);
    if (unit($('hr5m').textContent) !== want.unit) out.push('overview hashrate not in ' + want.unit);
    if ($('ttb-label').textContent !== 'Expected time to a block (' + shown + ')') out.push('odds label: ' + $('ttb-label').textContent);
    if ($('ttb').textContent !== duration(c.stats.odds.expected_seconds)) out.push('overview odds: ' + $('ttb').textContent);
    const choice = $('chart-chain');
    if (!choice || choice.hidden || choice.value !== shown) out.push('no chain choice beside the chart showing ' + shown);
    if (state.scope !== 'scope=chain&key=' + encodeURIComponent(shown)) out.push('chart series: ' + state.scope);
    const chart = window.Chart && window.Chart.getChart('chart');
    const points = chart ? chart.data.datasets[0].data : [];
    if (points.length < 2) out.push('the chart has ' + points.length + ' points of ' + shown);
    else if (!near(points[points.length - 1].y, want.rate))
      out.push('the chart\'s last point ' + points[points.length - 1].y + ' is not ' + shown + '\'s ' + want.rate);
  } else {
    out.push('no chain ' + shown);
  }

  // Workers: each under its chain with its algorithm, online, its hashrate in its unit.
  const rows = table('workers');
  for (const w of spec.workers) {
    const row = rows.find((r) => r['Worker'] === w.name && r['Chain'] === labelOf(w.chain));
    if (!row) { out.push('no row for ' + w.name + ' on ' + labelOf(w.chain)); continue; }
    if (row['Status'] !== 'online') out.push(w.name + ' on ' + w.chain + ' is ' + row['Status']);
    if (unit(row['5 m']) !== unit(hashrate(w.rate)))
      out.push(w.name + ' on ' + w.chain + ' reads ' + row['5 m'] + ', not about ' + hashrate(w.rate));
  }
  if (rows.length !== spec.workers.length) out.push(rows.length + ' worker rows, not ' + spec.workers.length);
  const total = $('workers-total').textContent;
  if (total !== '(' + spec.workers.length + ')') out.push('workers total ' + total);

  // Devices: the KAWPOW dataset being built on one, searched on the other.
  for (const d of spec.devices) {
    const row = table('devices').find((r) => r['Device'].startsWith(d.id + ' ('));
    if (!row) { out.push('no device row ' + d.id); continue; }
    const algorithm = spec.chains.find((x) => x.id === d.chain).algorithm;
    if (!row['Device'].endsWith(' · ' + algorithm)) out.push('device ' + d.id + ': ' + row['Device']);
    if (row['State'] !== d.state) out.push('device ' + d.id + ' state: ' + row['State'] + ', not ' + d.state);
    if (row['Hashrate (1 m)'] !== hashrate(d.rate))
      out.push('device ' + d.id + ' hashrate: ' + row['Hashrate (1 m)'] + ', not ' + hashrate(d.rate));
    if (row['Chain'] !== labelOf(d.chain)) out.push('device ' + d.id + ' chain: ' + row['Chain']);
  }

  // Found blocks: each under its chain.
  for (const b of spec.blocks) {
    const row = table('blocks').find((r) => r['Hash'] === b.hash);
    if (!row) { out.push('no row for block ' + b.hash); continue; }
    if (row['Height'] !== String(b.height)) out.push('block ' + b.hash + ' height ' + row['Height']);
    if (row['Chain'] !== labelOf(b.chain)) out.push('block ' + b.hash + ' chain: ' + row['Chain']);
  }
  // Events name their chain.
  const events = [...document.querySelectorAll('#events li')].map((li) => li.textContent);
  for (const b of spec.blocks)
    if (!events.some((e) => e.includes(b.chain + ': block ' + b.height + ' found by ')))
      out.push('no event of block ' + b.height + ' naming ' + b.chain);

  // The hostile name is text: no element was made from it.
  const injected = document.querySelectorAll('main img, main script').length;
  if (injected !== 0) out.push(injected + ' img/script elements in the page: a name became markup');
  return out;
}

// Polls problems() until there are none or the limit passes; the last ones otherwise.
async function settle(page, shown, limitMs) {
  const until = Date.now() + limitMs;
  let last = [];
  for (;;) {
    last = await page.evaluate(problems, { spec: expected, shown });
    if (last.length === 0 || Date.now() > until) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
}

await checkDashboard(url, { width: 1280, height: 1600 }, async (page, failures) => {
  // The first chain in the overview and the chart, then the second one chosen beside the
  // chart, as a miner of that chain would.
  const [first, second] = expected.chains.map((c) => c.id);
  for (const p of await settle(page, first, 60000)) failures.push('(' + first + ' shown) ' + p);
  await page.selectOption('#chart-chain', second);
  for (const p of await settle(page, second, 60000)) failures.push('(' + second + ' shown) ' + p);

  // The workers of one chain only, through the chain filter.
  await page.selectOption('#chain-filter', second);
  const filtered = await page.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('#workers tbody tr')];
    // The chain is the second column (shown with several chains).
    return rows.length > 0 && rows.every((tr) => tr.children[1].textContent.startsWith(id + ' · ')) &&
      document.getElementById('workers-total').textContent;
  }, second, { timeout: 30000 }).then((h) => h.jsonValue(), () => null);
  const want = '(' + expected.workers.filter((w) => w.chain === second).length + ')';
  if (filtered !== want) failures.push('the chain filter shows ' + filtered + ' workers of ' + second + ', not ' + want);
  await page.selectOption('#chain-filter', '');

  await page.screenshot({ path: screenshot, fullPage: true });

  // On a phone the workers table drops its 1 d and rejects columns, and keeps the chain.
  await page.setViewportSize({ width: 390, height: 844 });
  const phone = await page.evaluate(() => [...document.querySelectorAll('#workers thead th')]
    .filter((th) => getComputedStyle(th).display !== 'none').map((th) => th.textContent));
  const phoneWant = ['Worker', 'Chain', 'Status', '5 m', '1 h', 'Diff', 'Best share', 'Last share', 'Firmware'];
  if (phone.join('|') !== phoneWant.join('|')) failures.push('workers columns on a phone: ' + phone.join(', '));
}, 'dashboard (SHA-256d and KAWPOW): chain cards, overview and chart per chain, workers, devices, blocks and ' +
            'events under their chains, hostile name as text; no console errors; screenshot ' + screenshot);
