import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createAccount } from '../src/accounts/accounts.js';
import { setOperatorPassword } from '../src/accounts/operators.js';
import { eventually, startTestApp, type TestApp } from '../test/helpers/app.js';
import { createTestStore, onPostgres, type TestStore } from '../test/helpers/database.js';
import { prepareStore } from '../test/helpers/process.js';
import { startDnsServer, type Zone } from '../test/helpers/dnsServer.js';
import { plainToken, SmtpClient } from '../test/helpers/smtpClient.js';
import { checkPage, launchChromium, PASSWORD, signIn as fillSignIn } from './consoleHarness.js';

/**
 * The web console (issue 18) as a person uses it, in Debian's Chromium driven by playwright-core,
 * against a real Mailroom on each database: sign in (a wrong password, a lock-out), the dashboard,
 * a message sent through the API turning DELIVERED on the messages page without a reload, its
 * timeline, an API key made, used and revoked, a domain added and verified against a DNS server of the test's, a suppression CSV imported with its
 * progress, a phone-width screen, sign out, an admin switching accounts. axe-core checks
 * every page (no serious or critical violation), and every page is written as a screenshot to
 * artifacts/console/ for a person to look at.
 */
let browser: Browser;

before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

async function scenario(kind: string, store: TestStore): Promise<void> {
  await prepareStore(store, ['elipackage.com']);
  // The domain checks look records up in a DNS server of the test's own (it publishes what the test says).
  const zone: Zone = {};
  const dns = await startDnsServer(zone);
  const app: TestApp = await startTestApp({ MAILROOM_DNS_SERVERS: dns.address, MAILROOM_ROLES: 'api,smtp,worker', MAILROOM_SMTP_PORT: '0', MAILROOM_SMTPS_PORT: '0' }, { store });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    await setOperatorPassword(app.mailroom.db, 'default', 'alice', PASSWORD);
    await setOperatorPassword(app.mailroom.db, 'default', 'mallory', PASSWORD);
    await setOperatorPassword(app.mailroom.db, 'default', 'root', PASSWORD, 'admin');
    await createAccount(app.mailroom.db, app.mailroom.secrets, 'second-co');
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('dialog', (dialog) => void dialog.accept());

    // Not signed in: the console sends the browser to /login. The page has its CSP.
    const first = await page.goto(`${app.url}/`);
    assert.match(first?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    await page.waitForURL(`${app.url}/login`);
    await page.getByRole('heading', { name: 'Sign in to Mailroom' }).waitFor();
    await checkPage(page, `${kind}-login`);

    const signIn = (operator: string, password: string) => fillSignIn(page, operator, password);
    await signIn('alice', 'not the password');
    await page.getByRole('alert').filter({ hasText: 'not right' }).waitFor();
    for (let i = 0; i < 5; i++) {
      await signIn('mallory', `wrong ${i}`);
      await page.getByRole('alert').waitFor();
    }
    await page.getByRole('alert').filter({ hasText: 'locked' }).waitFor();
    await checkPage(page, `${kind}-login-locked`);

    await signIn('alice', PASSWORD);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    assert.ok(!(await page.evaluate(() => document.cookie)).includes('mailroom_session'), 'the session cookie is HttpOnly');
    await checkPage(page, `${kind}-dashboard`);

    // A message sent through the API appears on the messages page and turns DELIVERED, live.
    await page.getByRole('link', { name: 'Messages' }).click();
    await page.getByRole('heading', { name: 'Messages' }).waitFor();
    await page.locator('[data-live="true"]').waitFor();
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const sent = await app.api('/emails', { method: 'POST', json: { from: 'promo@elipackage.com', to: 'john.doe@example.com', subject: `Console check ${kind}`, text: 'Hello from the console test', tags: ['console-check'] } });
    assert.equal(sent.status, 200);
    const id = ((await sent.json()) as { data: { id: string } }).data.id;
    app.mailroom.worker?.wakeUp();
    await page.locator(`tr[data-message-id="${id}"] [data-status="DELIVERED"]`).waitFor({ timeout: 20_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'no reload');
    await checkPage(page, `${kind}-messages`);
    // Searched by its tag: it, and not another message sent beside it.
    const untagged = await app.api('/emails', { method: 'POST', json: { from: 'promo@elipackage.com', to: 'jane@example.com', subject: `Untagged ${kind}`, text: 'No tag' } });
    await page.locator(`tr[data-message-id="${((await untagged.json()) as { data: { id: string } }).data.id}"]`).waitFor();
    await page.getByRole('textbox', { name: 'Tag' }).fill('console-check');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction((only) => {
      const rows = [...document.querySelectorAll('tr[data-message-id]')].map((row) => row.getAttribute('data-message-id'));
      return rows.length === 1 && rows[0] === only;
    }, id);

    // Its page: the fields and the timeline.
    await page.locator(`tr[data-message-id="${id}"] a`).click();
    await page.getByRole('heading', { name: `Console check ${kind}` }).waitFor();
    await page.locator('[data-event-type="DELIVERED"]').waitFor();
    assert.equal(await page.locator('[data-event-type="QUEUED"]').count(), 1);
    await page.getByText('No event of this message was sent to a callback or a webhook.').waitFor();
    await checkPage(page, `${kind}-message`);

    // A hostile HTML body: shown in a frame where its script and handlers cannot run, in the
    // frame or in the console's origin.
    const hostile = await app.api('/emails', { method: 'POST', json: {
      from: 'promo@elipackage.com', to: 'john.doe@example.com', subject: `Hostile ${kind}`,
      text: '<p id="hello">Hello</p><script>parent.document.body.dataset.pwned = "script"; document.body.dataset.ran = "1"</script>'
        + '<img src="x" onerror="parent.document.body.dataset.pwned = \'onerror\'"><svg onload="parent.document.body.dataset.pwned = \'svg\'"></svg>'
        + '<a href="http://127.0.0.1:9/admin">Internal admin</a>',
    } });
    assert.equal(hostile.status, 200);
    const hostileId = ((await hostile.json()) as { data: { id: string } }).data.id;
    await page.goto(`${app.url}/#/messages/${hostileId}`);
    await page.getByRole('heading', { name: `Hostile ${kind}` }).waitFor();
    const frame = page.frameLocator('[data-testid="html-preview"]');
    await frame.locator('#hello').waitFor();
    assert.equal(await page.getAttribute('[data-testid="html-preview"]', 'sandbox'), '', 'sandboxed: no scripts, no same origin');
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => document.body.dataset.pwned ?? null), null, 'nothing ran in the console');
    assert.equal(await frame.locator('body').getAttribute('data-ran'), null, 'nothing ran in the frame either');
    await checkPage(page, `${kind}-message-html`);

    // The sandbox catcher caught it: the same views, its raw source, and an HTML compatibility summary.
    await page.getByRole('link', { name: 'Sandbox' }).click();
    await page.getByRole('heading', { name: 'Sandbox' }).waitFor();
    await page.getByRole('link', { name: `Hostile ${kind}` }).click();
    await page.locator('[data-finding="script"]').waitFor();
    assert.equal(await page.locator('[data-finding="svg"]').count(), 1);
    await page.frameLocator('[data-testid="html-preview"]').locator('#hello').waitFor();
    // The link check: a link to a private address is refused, never called; the broken image's "x" is not a URL to call.
    await page.getByRole('button', { name: 'Check links' }).click();
    await page.locator('[data-link-verdict="refused"]', { hasText: 'Internal admin' }).waitFor();
    await page.getByTestId('link-summary').filter({ hasText: '2 checked: 1 with a problem' }).waitFor();
    await checkPage(page, `${kind}-sandbox-message`);
    await page.getByRole('tab', { name: 'Raw source' }).click();
    await page.getByText(`Subject: Hostile ${kind}`).waitFor();
    assert.equal(await page.evaluate(() => document.body.dataset.pwned ?? null), null);

    // An API key: made (shown once), used, revoked.
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('made in the console');
    await page.getByLabel(/^send/).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('new-key').textContent())?.trim() ?? '';
    assert.match(key, /^mr_/);
    assert.equal((await app.api('/emails', { method: 'POST', key, json: { from: 'promo@elipackage.com', to: 'jane@example.com', subject: 's', text: 't' } })).status, 200);
    assert.equal((await app.api('/emails', { key })).status, 403, 'a send-only key');
    await checkPage(page, `${kind}-api-keys`);
    const row = page.locator('tr', { hasText: 'made in the console' });
    await row.getByRole('button', { name: /^Revoke/ }).click();
    await row.getByText('revoked').waitFor();
    assert.equal((await app.api('/emails', { key })).status, 401);

    // An SMTP credential: made (the password shown once), used for AUTH on the submission port, revoked.
    await page.getByLabel('Credential name').fill('billing server');
    await page.getByRole('button', { name: 'Create SMTP credential' }).click();
    const username = (await page.getByTestId('new-smtp-username').textContent())?.trim() ?? '';
    const password = (await page.getByTestId('new-smtp-password').textContent())?.trim() ?? '';
    assert.match(username, /^smtp_/);
    const smtpAuth = async () => {
      const { client } = await SmtpClient.connect(app.mailroom.smtp!.smtps, { tls: true });
      try {
        await client.command('EHLO console.example');
        return (await client.command(`AUTH PLAIN ${plainToken(username, password)}`)).code;
      } finally {
        client.close();
      }
    };
    assert.equal(await smtpAuth(), 235, 'the credential signs in over SMTP');
    await checkPage(page, `${kind}-smtp-credentials`);
    await page.getByRole('button', { name: `Revoke SMTP credential ${username}` }).click();
    await page.locator(`tr[data-smtp-credential="${username}"]`).waitFor({ state: 'detached' });
    assert.equal(await smtpAuth(), 535, 'revoked');

    // A domain: added, its records shown with copy buttons; the DKIM record published, then verified.
    await page.getByRole('link', { name: 'Domains' }).click();
    await page.getByRole('heading', { name: 'Domains' }).waitFor();
    await page.getByRole('textbox', { name: 'Domain' }).fill('shop.console.example');
    await page.getByRole('button', { name: 'Add domain' }).click();
    const domainBox = page.locator('[data-domain="shop.console.example"]');
    const dkimRow = domainBox.locator('[data-record-purpose="dkim"]');
    await dkimRow.waitFor();
    assert.ok((await domainBox.getByRole('button', { name: /^Copy the value/ }).count()) >= 3, 'a copy button per record value');
    const dkimName = (await dkimRow.locator('code').first().textContent())!.trim();
    const dkimValue = (await dkimRow.locator('code').nth(1).textContent())!.trim();
    assert.match(dkimName, /\._domainkey\.shop\.console\.example$/);
    assert.match(dkimValue, /^v=DKIM1; k=rsa; p=/);
    zone[dkimName] = { TXT: [dkimValue] };
    await domainBox.getByRole('button', { name: 'Verify now' }).click();
    await dkimRow.locator('[data-status="verified"]').waitFor();
    await domainBox.locator('[data-record-purpose="spf"] [data-status="missing"]').waitFor();
    await checkPage(page, `${kind}-domains`);
    // A DKIM rotation: a second DKIM record (the new selector) to publish, beside the current one.
    await domainBox.getByRole('button', { name: 'Rotate DKIM key of shop.console.example' }).click();
    await eventually(async () => (await domainBox.locator('[data-record-purpose="dkim"]').count()) === 2, 10_000, 'the new DKIM record');

    // The suppression list: a CSV of 2,000 addresses imported with its progress shown to the end,
    // an address looked up, one removed, the list exported.
    await page.getByRole('link', { name: 'Suppressions' }).click();
    await page.getByRole('heading', { name: 'Suppressions' }).waitFor();
    const csv = `address,reason\n${Array.from({ length: 2000 }, (_, i) => `bounced${i}@list.example,HARD_BOUNCE`).join('\n')}\n`;
    await page.locator('input[type=file]').setInputFiles({ name: 'bounces.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByTestId('import-result').filter({ hasText: '2000 rows: 2000 added, 0 listed already' }).waitFor();
    assert.equal(await page.locator('[data-progress]').getAttribute('data-progress'), '100');
    const listed = page.locator('tr[data-address$="@list.example"]').first();
    await listed.waitFor();
    const removed = (await listed.getAttribute('data-address'))!;
    await page.getByLabel('Is this address suppressed?').fill('bounced7@list.example');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByTestId('lookup-result').filter({ hasText: 'HARD_BOUNCE' }).waitFor();
    await checkPage(page, `${kind}-suppressions`);
    await page.getByRole('button', { name: `Remove ${removed}` }).click();
    await page.locator(`tr[data-address="${removed}"]`).waitFor({ state: 'detached' });
    const exported = await context.request.get(`${app.url}/suppressions/export.csv`);
    assert.equal(exported.status(), 200);
    assert.equal((await exported.text()).trim().split('\n').length, 1 + 1999, 'the header and the 1,999 left');

    // A scheduled message waits in the queue; its page cancels it.
    const later = await app.api('/emails', { method: 'POST', json: {
      from: 'promo@elipackage.com', to: 'later@scheduled.example', subject: `Later ${kind}`, text: 'Tomorrow', sendAt: new Date(Date.now() + 86_400_000).toISOString(),
    } });
    assert.equal(later.status, 200, await later.clone().text());
    const laterId = ((await later.json()) as { data: { id: string } }).data.id;
    await page.getByRole('link', { name: 'Queue' }).click();
    await page.getByRole('heading', { name: 'Queue' }).waitFor();
    await page.locator('tr[data-destination="scheduled.example"]').waitFor();
    await checkPage(page, `${kind}-queue`);
    await page.goto(`${app.url}/#/messages/${laterId}`);
    await page.locator('[data-status="SCHEDULED"]').waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('[data-status="REJECTED"]').first().waitFor();

    // A phone-width screen: the navigation folds into a menu button.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${app.url}/#/messages`);
    await page.getByRole('heading', { name: 'Messages' }).waitFor();
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('link', { name: 'API keys' }).waitFor();
    await checkPage(page, `${kind}-phone-menu`);
    await page.setViewportSize({ width: 1280, height: 900 });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${app.url}/login`);
    await page.goto(`${app.url}/`);
    await page.waitForURL(`${app.url}/login`);

    // An admin operator switches the console to another account.
    await signIn('root', PASSWORD);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.locator('input[aria-label="Account"]').click();
    await page.getByRole('option', { name: 'second-co' }).click();
    await page.getByText('root · second-co').waitFor();
    await checkPage(page, `${kind}-admin-switched`);
    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    await context.close();
    await app.stop();
    await dns.close();
  }
}

for (const kind of onPostgres ? ['postgres', 'pglite'] : ['pglite']) {
  test(`the console in Chromium on ${kind}: sign-in and lock-out, dashboard, a message going DELIVERED live and its timeline, an API key, phone width, sign-out; axe on every page`, async () => {
    const store = await createTestStore({ pglite: kind === 'pglite' });
    try {
      await scenario(kind, store);
    } finally {
      await store.dispose();
    }
  });
}
