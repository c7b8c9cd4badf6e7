// One browser session on the dashboard for the scripts in this folder: Debian's Chromium
// through playwright-core (executablePath is the system's; nothing is downloaded), a fresh
// profile, the page loaded and live over its WebSocket; then the caller's checks. Console
// errors, page errors and any dialog (a hostile worker name run as markup would open one)
// count as failures. Exits 1 printing every failure, or prints `done` and returns.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// check(page, failures): the caller's checks; push a text to failures for each one missed.
export async function checkDashboard(url, viewport, check, done) {
  const profile = mkdtempSync(join(tmpdir(), 'sb-chromium-'));
  const failures = [];
  const consoleErrors = [];
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport,
    });
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push('page error: ' + e.message));
    page.on('dialog', async (d) => { failures.push('a dialog opened: ' + d.message()); await d.dismiss(); });

    await page.goto(url, { waitUntil: 'load', timeout: 30000 });
    await page.waitForFunction(() => document.body.dataset.live === 'true', null, { timeout: 30000 });
    await check(page, failures);
  } catch (e) {
    failures.push(String(e && e.stack || e));
  } finally {
    if (context) await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  for (const e of consoleErrors) failures.push('console error: ' + e);
  if (failures.length) {
    for (const f of failures) console.error('FAIL: ' + f);
    process.exit(1);
  }
  console.log(done);
}
