import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startTestApp, type TestApp } from '../test/helpers/app.js';
import { ARTIFACTS, launchChromium } from './consoleHarness.js';

/**
 * /docs in Debian's Chromium: the bundled Scalar page renders the API reference from this
 * Mailroom's /openapi.json under the page's Content-Security-Policy. Scalar 1.46 still reaches for
 * its font host and its document registry whatever its settings; the CSP refuses both, so nothing
 * reaches another host, and the page works without them (offline too).
 */
let app: TestApp;
let browser: Browser;
before(async () => {
  app = await startTestApp();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await app?.stop();
});

test('the API reference renders offline, within its CSP', async () => {
  const page = await browser.newPage();
  const reached: string[] = [];
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('requestfinished', (request) => {
    const url = new URL(request.url());
    if (!['data:', 'blob:'].includes(url.protocol) && url.origin !== new URL(app.url).origin) reached.push(request.url());
  });
  await page.goto(`${app.url}/docs`);
  // The reference is the document's: its operations' summaries, under their tags.
  await page.getByText('Create a contact list').first().waitFor({ timeout: 30_000 });
  for (const tag of ['emails', 'domains', 'webhooks', 'suppressions']) await page.getByText(tag, { exact: true }).first().waitFor({ timeout: 10_000 });
  await page.screenshot({ path: join(ARTIFACTS, 'api-reference.png') });
  assert.deepEqual(reached, [], 'no request reached another host');
  assert.deepEqual(errors, [], 'no script error in the page');
});
