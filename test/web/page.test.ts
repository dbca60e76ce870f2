/* eslint-disable @typescript-eslint/no-explicit-any -- page functions run in the browser, typed without the DOM lib */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { twoNodeCib } from '../helpers/cibs.js';
import { DaemonProc, ROOT } from '../helpers/daemon.js';
import { killAll, spawnNamed, uniqueName } from '../helpers/procs.js';
import { tempDir } from '../helpers/wrappers.js';

const daemons: DaemonProc[] = [];
let browser: BrowserContext | null = null;
afterEach(async () => {
  killAll();
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
});
after(async () => {
  await browser?.close();
});

/** Debian's chromium, headless, with a fresh profile and nothing that calls home. */
async function launch(): Promise<BrowserContext> {
  browser = await chromium.launchPersistentContext(tempDir('chromium-profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  return browser;
}

test('the live page shows a running process, the failure within 2 s of the kill without a reload, and its related events on click', async () => {
  const dir = tempDir('web');
  const name = uniqueName('web');
  const p = spawnNamed(name);
  const d = new DaemonProc(['--cib', twoNodeCib(dir, name), '--node', 'node1', '--interval', '0.1', '--journal', join(dir, 'j.db'), '--http', '127.0.0.1:0']);
  daemons.push(d);
  const base = `http://${(await d.waitFor('http', (l) => typeof l.http === 'string')).http}`;
  await d.waitFor('found', (l) => l.event === 'process-found');

  const ctx = await launch();
  const page = await ctx.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + '/');

  const row = page.locator('#resources tr[data-resource="watch"][data-process="proc_app"]');
  await row.and(page.locator('[data-state="running"]')).waitFor({ timeout: 10_000 });
  assert.equal(await row.locator('.pid').textContent(), String(p.pid));
  assert.equal(await row.locator('.state').textContent(), 'running');
  await page.locator('#conn.live').waitFor({ timeout: 10_000 });
  const loads = requests.filter((u) => u === base + '/').length;

  p.kill('SIGKILL');
  // The bar: the failure is on the page within 2 s, pushed through SSE (no reload).
  await page.locator('#events li.event[data-kind="process-lost"]').waitFor({ timeout: 2000 });
  await row.and(page.locator('[data-state="lost"]')).waitFor({ timeout: 5000 });
  assert.equal(requests.filter((u) => u === base + '/').length, loads, 'the page was not reloaded');
  const lost = await d.waitFor('lost', (l) => l.event === 'process-lost');
  const item = page.locator(`#events li.event[data-kind="process-lost"][data-failure="${lost.failureId}"]`);
  assert.match((await item.textContent())!, new RegExp(`pid ${p.pid} ${lost.reason}`));
  await page.locator('#events li.event[data-kind="failure-reported"]').waitFor({ timeout: 15_000 });
  await page.locator('#resources td.failcount', { hasText: '1' }).waitFor({ timeout: 5000 });

  // Clicking the failure shows its related events: the same failure id, the same resource.
  await item.click();
  const sameFailure = page.locator('#related-failure li.event');
  await sameFailure.nth(4).waitFor({ timeout: 5000 });
  assert.deepEqual(await sameFailure.evaluateAll((els: any[]) => els.map((e) => e.dataset.kind)), [
    'process-lost', 'wrapper-started', 'wrapper-finished', 'failcount-written', 'failure-reported',
  ]);
  assert.deepEqual(new Set(await sameFailure.evaluateAll((els: any[]) => els.map((e) => e.dataset.failure))), new Set([String(lost.failureId)]));
  const sameResource = page.locator('#related-resource li.event');
  assert.ok((await sameResource.count()) >= 6);
  assert.deepEqual(new Set(await sameResource.evaluateAll((els: any[]) => els.map((e) => e.dataset.resource))), new Set(['watch']));
  assert.match((await page.locator('#detail-json').textContent())!, new RegExp(`"failureId": "${lost.failureId}"`));

  mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'test-artifacts/web-page.png'), fullPage: true });

  // Filters: by kind, then by resource.
  await page.selectOption('#f-kind', 'process-found');
  await page.waitForFunction(`[...document.querySelectorAll('#events li.event')].every((e) => e.dataset.kind === 'process-found')`);
  assert.equal(await page.locator('#events li.event').count(), 1);
  await page.selectOption('#f-kind', '');
  await page.selectOption('#f-resource', 'watch');
  await page.waitForFunction(`document.querySelectorAll('#events li.event[data-kind="daemon-started"]').length === 0 && document.querySelectorAll('#events li.event').length > 0`);

  assert.deepEqual(errors, []);
  assert.deepEqual(requests.filter((u) => !u.startsWith(base)), [], 'nothing is loaded from outside the daemon');
});
