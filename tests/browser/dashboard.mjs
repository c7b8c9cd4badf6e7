// The dashboard in a real browser: Debian's Chromium, driven by playwright-core (no browser
// download: executablePath is the system's). Called by tests/integration/dashboard_test.cpp
// with the daemon running and a miner mining:
//
//   node tests/browser/dashboard.mjs URL SCREENSHOT.png WORKER_NAME
//
// Loads the page, waits for live data over the WebSocket, checks the workers table (the
// worker with a non-zero hashrate, its hostile name shown as text), the chart (points
// drawn) and that the console had no error, then saves a screenshot. Exit 0 when every
// check passed; otherwise prints why and exits 1.
import { checkDashboard } from './session.mjs';

const [url, screenshot, worker] = process.argv.slice(2);
if (!url || !screenshot || !worker) {
  console.error('usage: dashboard.mjs URL SCREENSHOT.png WORKER_NAME');
  process.exit(2);
}

await checkDashboard(url, { width: 1280, height: 1300 }, async (page, failures) => {
  // Every text the live badge shows from here on.
  await page.evaluate(() => {
    const badge = document.getElementById('conn');
    window.connSeen = [];
    new MutationObserver(() => window.connSeen.push(badge.textContent))
      .observe(badge, { childList: true, characterData: true, subtree: true });
  });
  // The workers table: the miner's row, online, with a hashrate. Waited for as a whole: a
  // CPU miner on a busy machine can pause for a few seconds (it waits for the next tip after
  // each block) and read "idle" in between.
  const rowOk = await page.waitForFunction((name) => {
    for (const tr of document.querySelectorAll('#workers tbody tr')) {
      const cells = tr.querySelectorAll('td');
      if (cells.length > 3 && cells[0].textContent === name && cells[1].textContent === 'online' &&
          /[1-9]/.test(cells[2].textContent) && /H\/s/.test(cells[2].textContent)) return true;
    }
    return false;
  }, worker, { timeout: 60000 }).then(() => true, () => false);
  if (!rowOk) {
    const row = await page.evaluate((name) => {
      for (const tr of document.querySelectorAll('#workers tbody tr')) {
        const cells = [...tr.querySelectorAll('td')].map((c) => c.textContent);
        if (cells[0] === name) return cells;
      }
      return null;
    }, worker);
    failures.push(row ? 'the worker row never read online with a hashrate: ' + row.join(' | ') : 'the worker row is missing');
  }

  // Its name is text: no element was made from it.
  const injected = await page.evaluate(() => document.querySelectorAll('main img, main script').length);
  if (injected !== 0) failures.push(injected + ' img/script elements in the page: a name became markup');

  // The chart has points (live ones at least) and a canvas that was drawn on.
  await page.waitForFunction(() => {
    const c = window.Chart && window.Chart.getChart('chart');
    return c && c.data.datasets[0].data.length >= 2;
  }, null, { timeout: 30000 });
  const drawn = await page.evaluate(() => {
    const canvas = document.getElementById('chart');
    const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let nonblank = 0;
    for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) nonblank++;
    return nonblank;
  });
  if (drawn === 0) failures.push('the chart canvas is blank');
  // The time axis: round times, no label twice.
  const labels = await page.evaluate(() => window.Chart.getChart('chart').scales.x.ticks.map((t) => String(t.label)));
  if (labels.length < 2 || new Set(labels).size !== labels.length) failures.push('chart time labels: ' + JSON.stringify(labels));

  // Blocks found by the miner are listed with their fate.
  await page.waitForFunction(() => document.querySelectorAll('#blocks tbody tr td.hash').length > 0, null, { timeout: 30000 });

  // The WebSocket never dropped while the daemon ran (it was once cut every 20 s).
  const conn = await page.evaluate(() => [document.getElementById('conn').textContent, window.connSeen]);
  if (conn[0] !== 'live' || conn[1].some((t) => t !== 'live')) failures.push('the live badge read: ' + JSON.stringify(conn[1]) + ', now ' + conn[0]);

  await page.screenshot({ path: screenshot });
}, 'dashboard: live data, workers table, chart and blocks checked; no console errors; screenshot ' + screenshot);
