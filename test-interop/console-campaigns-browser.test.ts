import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import type { Browser, Page } from 'playwright-core';
import { setOperatorPassword } from '../src/accounts/operators.js';
import { startTestApp, type TestApp } from '../test/helpers/app.js';
import { createTestStore, onPostgres, type TestStore } from '../test/helpers/database.js';
import { prepareStore } from '../test/helpers/process.js';
import { checkPage, launchChromium, PASSWORD, signIn } from './consoleHarness.js';

/**
 * The console's lists, campaigns and reports (issue 18) as a person uses them, in Debian's
 * Chromium against a real Mailroom on each database, its worker delivering into the sandbox
 * catcher: a list created, a CSV of 300 contacts (and two bad rows) imported with its progress to
 * the end, a member added, found and removed; a campaign refused at its field, then created, tested,
 * started and followed to its end without a reload; opens and clicks on its messages shown in its
 * report, chart and links table; the reports page and its CSV download, read back. axe-core on
 * every page, a screenshot of each in artifacts/console/, and one page at phone width.
 */
let browser: Browser;

before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

const READERS = 300;

function readersCsv(): { csv: string; refusedLines: number[] } {
  const rows = Array.from({ length: READERS }, (_, index) => `reader${index}@readers.example,Reader ${index},City${index % 7}`);
  rows.splice(100, 0, 'not-an-email,Nobody,Nowhere'); // line 102 (the header is line 1)
  rows.splice(200, 0, 'two@fields.example,Only two'); // line 202: a field short
  return { csv: `email,name,city\n${rows.join('\n')}\n`, refusedLines: [102, 202] };
}

/** Opens and clicks on a few of the campaign's messages, as readers' mail clients would: URLs read from what the sandbox caught. */
async function engage(app: TestApp, opens: number, clicks: number): Promise<void> {
  const caught = (await (await app.api('/sandbox/messages?limit=100')).json()) as { data: { id: number; envelope: { to: string[] } }[] };
  const ours = caught.data.filter((entry) => entry.envelope.to[0]?.endsWith('@readers.example')).slice(0, opens);
  assert.equal(ours.length, opens);
  // The links name MAILROOM_PUBLIC_URL; the test's server listens elsewhere.
  const local = (url: string) => `${app.url}${new URL(url).pathname}`;
  for (const [index, entry] of ours.entries()) {
    const raw = ((await (await app.api(`/sandbox/messages/${entry.id}`)).json()) as { data: { raw: string } }).data.raw;
    const html = String((await simpleParser(Buffer.from(raw, 'utf8'))).html);
    const pixel = /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(html)?.[1];
    const link = /href="([^"]+\/t\/c\/[^"]+)"/.exec(html)?.[1];
    assert.ok(pixel && link, 'tracked: a pixel and a click link');
    const person = { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)' };
    assert.equal((await fetch(local(pixel), { headers: person })).status, 200);
    if (index < clicks) assert.equal((await fetch(local(link), { headers: person, redirect: 'manual' })).status, 302);
  }
}

/** A control by its whole label, which a required one follows with an asterisk. */
function field(page: Page, label: string) {
  return page.getByLabel(new RegExp(`^${label}\\s*\\*?$`));
}

async function chooseOption(page: Page, label: string, option: string): Promise<void> {
  await field(page, label).first().click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

async function scenario(kind: string, store: TestStore): Promise<void> {
  await prepareStore(store, ['elipackage.com']);
  const app = await startTestApp({}, { store });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  try {
    await setOperatorPassword(app.mailroom.db, 'default', 'alice', PASSWORD);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${app.url}/login`);
    await signIn(page, 'alice', PASSWORD);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

    // A list: none yet, then one created.
    await page.getByRole('link', { name: 'Lists', exact: true }).click();
    await page.getByText('No lists yet').waitFor();
    await page.getByLabel('Name').fill('Readers');
    await page.getByRole('button', { name: 'Create list' }).click();
    await page.getByRole('heading', { name: 'Readers' }).waitFor();
    await page.getByText('No imports yet.').waitFor();

    // A CSV of 300 contacts and two bad rows: the upload, then the job's progress to its end, its counts and refused lines.
    const { csv, refusedLines } = readersCsv();
    await page.locator('input[type=file]').setInputFiles({ name: 'readers.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const result = page.locator('[data-testid="import-result"][data-state="finished"]');
    await result.waitFor({ timeout: 20_000 });
    assert.match((await result.textContent()) ?? '', /302 rows read: 300 added, 0 updated, 0 unchanged, 2 refused/);
    assert.equal(await page.locator('[data-step="ended"]').getAttribute('data-progress'), '100');
    for (const line of refusedLines) await page.locator(`[data-refused-line="${line}"]`).waitFor();
    await page.locator('[data-count="subscribed"]', { hasText: String(READERS) }).waitFor();
    await page.locator('table[aria-label="Imports"] [data-status="finished"]').waitFor();
    await page.locator('tr[data-member="reader0@readers.example"]').waitFor();

    // A member added, found by its address, and taken off again.
    await page.getByLabel('Add an address').fill('extra@readers.example');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByTestId('member-added').filter({ hasText: 'added' }).waitFor();
    await page.locator('[data-count="members"]', { hasText: String(READERS + 1) }).waitFor();
    await page.getByLabel('Find a member by address').fill('extra@readers.example');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    const found = page.getByTestId('member-found');
    await found.getByText('subscribed').waitFor();
    await checkPage(page, `${kind}-list`);
    await found.getByRole('button', { name: 'Remove extra@readers.example' }).click();
    await page.locator('[data-count="members"]', { hasText: String(READERS) }).waitFor();
    await page.getByRole('link', { name: '← All lists' }).click();
    await page.locator('tr[data-list-id]', { hasText: 'Readers' }).waitFor();
    await checkPage(page, `${kind}-lists`);

    // A campaign: a From that is no address is refused at its field; corrected, it is created.
    await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    await page.getByText('No campaigns yet.').waitFor();
    await page.getByRole('link', { name: 'New campaign' }).click();
    await page.getByRole('heading', { name: 'New campaign' }).waitFor();
    await field(page, 'Name').fill('Spring');
    await field(page, 'From').fill('not an address');
    await field(page, 'Subject').fill('Hello {{name}}');
    await page.getByLabel('HTML').fill('<p>Hi {{name}} from {{city}}: <a href="https://shop.example/sale">the sale</a></p>');
    await chooseOption(page, 'Lists', 'Readers');
    await page.keyboard.press('Escape');
    await chooseOption(page, 'Track opens', 'On');
    await chooseOption(page, 'Track clicks', 'On');
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.locator('input[aria-invalid="true"]').first().waitFor();
    assert.equal(await field(page, 'From').getAttribute('aria-invalid'), 'true', 'the error is at the From field');
    await checkPage(page, `${kind}-campaign-editor`);
    await field(page, 'From').fill('News <news@elipackage.com>');
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.locator('[data-campaign-state="draft"]').waitFor();
    const campaignId = decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');
    assert.match(campaignId, /^cmp_/);

    // A test send, then the start, followed to the end without a reload.
    // A contact's address gets its placeholders; another address has none for {{name}} and is refused, with why.
    await page.getByLabel('Send a test to').fill('reader1@readers.example, qa@elipackage.com');
    await page.getByRole('button', { name: 'Send test' }).click();
    await page.locator('[data-testid="test-results"] [data-status="QUEUED"]').waitFor();
    await page.getByTestId('test-results').getByText('PLACEHOLDER_MISSING').waitFor();
    await checkPage(page, `${kind}-campaign-draft`);
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.locator('[data-live="true"]').waitFor();
    await page.locator('[data-campaign-state="finished"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('campaign-processed').textContent(), `${READERS} of ${READERS} contacts processed`);
    assert.equal(await page.locator('[data-bar="processed"]').getAttribute('data-progress'), '100');
    await page.locator('[data-bar="outcomes"][data-progress="100"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'no reload');

    // Readers open five messages and click in three: the report, its chart and its links table show them.
    await engage(app, 5, 3);
    await app.mailroom.reports!.catchUp();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('tr[data-url="https://shop.example/sale"] [data-cell="clicked"]', { hasText: '3' }).waitFor();
    await page.locator('[data-stat="Opened"]', { hasText: '5' }).waitFor();
    assert.equal(await page.locator('[data-stat="Delivered"]').textContent(), String(READERS));
    await page.locator('[role="img"][aria-label^="The campaign\'s deliveries"] canvas').first().waitFor();
    await checkPage(page, `${kind}-campaign-report`);

    await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    await page.locator(`tr[data-campaign-id="${campaignId}"] [data-status="finished"]`).waitFor();
    await checkPage(page, `${kind}-campaigns`);

    // The account's reports: the campaign's row, a chart, and the table as the API's CSV, downloaded and read.
    await page.getByRole('link', { name: 'Reports', exact: true }).click();
    const row = page.locator(`tr[data-report-key="${campaignId}"]`);
    await row.locator('[data-cell="requested"]', { hasText: String(READERS) }).waitFor();
    await page.locator('[role="img"][aria-label^="Deliveries"] canvas').first().waitFor();
    await checkPage(page, `${kind}-reports`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download the table as CSV' }).click()]);
    const lines = (await readFile((await download.path())!, 'utf8')).trim().split(/\r?\n/);
    const header = lines[0]!.split(',');
    assert.equal(header[0], 'campaign');
    const cells = lines.find((line) => line.startsWith(`${campaignId},`))?.split(',');
    assert.ok(cells, `the campaign's row in ${lines.join(' | ')}`);
    const cell = (name: string) => cells[header.indexOf(name)];
    assert.deepEqual([cell('requested'), cell('delivered'), cell('openedUnique'), cell('clickedUnique')], [String(READERS), String(READERS), '5', '3']);

    // A phone-width screen: the campaign's page still reads.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${app.url}/#/campaigns/${campaignId}`);
    await page.locator('[data-campaign-state="finished"]').waitFor();
    await page.getByTestId('links-table').waitFor();
    await checkPage(page, `${kind}-campaign-phone`);
    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    await context.close();
    await app.stop();
  }
}

for (const kind of onPostgres ? ['postgres', 'pglite'] : ['pglite']) {
  test(`lists, campaigns and reports in the console in Chromium on ${kind}: an import's progress, a campaign's test, live progress and report, the reports' CSV; axe on every page`, async () => {
    const store = await createTestStore({ pglite: kind === 'pglite' });
    try {
      await scenario(kind, store);
    } finally {
      await store.dispose();
    }
  });
}
