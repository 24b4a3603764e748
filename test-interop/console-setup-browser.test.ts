import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { setOperatorPassword } from '../src/accounts/operators.js';
import { ManualClock } from '../src/shared/clock.js';
import { eventually, startTestApp, type TestApp } from '../test/helpers/app.js';
import { createTestStore, onPostgres, type TestStore } from '../test/helpers/database.js';
import { prepareStore } from '../test/helpers/process.js';
import { startWebhookReceiver, type Received } from '../test/helpers/webhookReceiver.js';
import { checkPage as checkWholePage, launchChromium, PASSWORD, signIn } from './consoleHarness.js';

/**
 * The console's set-up pages (issue 18) in Debian's Chromium, on each database: a webhook made
 * in the console to a real receiver on loopback, its test event and the attempt with its status,
 * its secret rotated (the next event is signed with the new one, checked with the
 * standardwebhooks package), a delivery sent again, a field error, paused; a sender added and its
 * confirmation resent (both mails caught by the sandbox); a template written with a live preview
 * that fills its placeholder, saved as versions, and a template whose <script> cannot run.
 * axe-core and a screenshot on every page, one at phone width.
 */
let browser: Browser;

before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** The harness's screenshot and axe, from the top of the page (a scrolled page draws its fixed header mid-screenshot). */
async function checkPage(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await checkWholePage(page, name);
}

/** Whether one of the request's v1 signatures is that of `secret`, as the standardwebhooks package computes it. */
function signedWith(received: Received, secret: string): boolean {
  const timestamp = new Date(Number(received.headers['webhook-timestamp']) * 1000);
  const expected = new Webhook(secret).sign(received.headers['webhook-id']!, timestamp, received.body);
  return received.headers['webhook-signature']!.split(' ').includes(expected);
}

async function data<T>(app: TestApp, path: string): Promise<T> {
  const response = await app.api(path);
  assert.equal(response.status, 200, path);
  return ((await response.json()) as { data: T }).data;
}

/** How many confirmation mails to `to` the sandbox caught. */
async function confirmationsTo(app: TestApp, to: string): Promise<number> {
  app.mailroom.worker?.wakeUp();
  const caught = await data<{ subject: string; envelope: { to: string[] } }[]>(app, '/sandbox/messages?limit=100');
  return caught.filter((mail) => mail.envelope.to.includes(to) && mail.subject === 'Confirm your sender address').length;
}

async function webhooks(kind: string, page: Page, app: TestApp, receiverBase: string, received: Received[]): Promise<void> {
  const tests = () => received.filter((request) => request.json.type === 'WEBHOOK_TEST');
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
  await page.getByText('No webhooks yet').waitFor();
  await page.getByRole('checkbox', { name: 'DELIVERED' }).waitFor();
  await checkPage(page, `${kind}-webhooks`);

  // A URL the API refuses: its reason shows at the field.
  await page.getByRole('textbox', { name: 'URL' }).fill('ftp://files.example/hook');
  await page.getByRole('button', { name: 'Create webhook' }).click();
  await page.getByText('must be an http or https URL').waitFor();
  await page.getByRole('textbox', { name: 'URL' }).and(page.locator('[aria-invalid="true"]')).waitFor();

  await page.getByRole('textbox', { name: 'URL' }).fill(`${receiverBase}/hook`);
  await page.getByRole('textbox', { name: 'Description' }).fill('the shop <b>backend</b>');
  await page.getByRole('checkbox', { name: 'DELIVERED' }).check();
  await page.getByRole('checkbox', { name: 'BOUNCED' }).check();
  await page.getByRole('button', { name: 'Create webhook' }).click();
  const firstSecret = (await page.getByTestId('webhook-secret').textContent())!.trim();
  assert.match(firstSecret, /^whsec_/);
  await page.getByRole('heading', { name: `${receiverBase}/hook` }).waitFor();
  const id = /#\/webhooks\/(\d+)$/.exec(page.url())![1]!;
  const stored = await data<{ eventTypes: string[]; description: string; ordered: boolean }>(app, `/webhooks/${id}`);
  assert.deepEqual([stored.eventTypes.sort(), stored.description, stored.ordered], [['BOUNCED', 'DELIVERED'], 'the shop <b>backend</b>', true]);

  // A test event: its attempt appears with the receiver's status, signed with the secret shown.
  await page.getByRole('button', { name: 'Send test event' }).click();
  await page.locator('tr[data-event-type="WEBHOOK_TEST"] [data-status-code="204"]').waitFor({ timeout: 10_000 });
  assert.equal(tests().length, 1);
  assert.ok(signedWith(tests()[0]!, firstSecret), 'signed with the secret shown at creation');
  await checkPage(page, `${kind}-webhook`);

  // A new secret, shown once: the next event is signed with it (and, for 24 hours, with the old one too).
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByTestId('webhook-secret').filter({ hasNotText: firstSecret }).waitFor();
  const newSecret = (await page.getByTestId('webhook-secret').textContent())!.trim();
  assert.match(newSecret, /^whsec_/);
  await page.getByText('The previous secret also signs until').waitFor();
  await page.getByRole('button', { name: 'Send test event' }).click();
  await eventually(async () => tests().length === 2, 10_000, 'the second test event');
  assert.ok(signedWith(tests()[1]!, newSecret), 'signed with the new secret');
  assert.ok(new Webhook(newSecret).verify(tests()[1]!.body, tests()[1]!.headers), 'standardwebhooks verifies it with the new secret');
  await page.locator('tr[data-event-type="WEBHOOK_TEST"]').nth(1).waitFor();

  // The first delivery sent again: the same event (same webhook-id) reaches the receiver a third time.
  const firstDelivery = await page.locator('tr[data-event-type="WEBHOOK_TEST"]').last().getAttribute('data-delivery-id');
  await page.locator(`tr[data-delivery-id="${firstDelivery}"]`).getByRole('button', { name: /^Redeliver/ }).click();
  await page.getByText('is queued again').waitFor();
  await eventually(async () => tests().length === 3, 10_000, 'the redelivery');
  assert.equal(tests()[2]!.headers['webhook-id'], tests()[0]!.headers['webhook-id']);
  await page.locator('tr[data-event-type="WEBHOOK_TEST"]').nth(2).waitFor();

  // Changed, then paused: a paused webhook takes no test event.
  await page.getByRole('textbox', { name: 'Description' }).fill('the shop backend');
  await page.getByRole('checkbox', { name: 'OPENED' }).check();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Saved.').waitFor();
  assert.deepEqual((await data<{ eventTypes: string[] }>(app, `/webhooks/${id}`)).eventTypes.sort(), ['BOUNCED', 'DELIVERED', 'OPENED']);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.locator('[data-status="paused"]').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Send test event' }).isDisabled(), true);
  await page.getByRole('button', { name: 'Enable' }).click();
  await page.locator('[data-status="enabled"]').waitFor();
  // At phone width (read again, so that the navigation has folded away).
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await page.locator('tr[data-event-type="WEBHOOK_TEST"]').first().waitFor();
  await checkPage(page, `${kind}-webhook-phone`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function senders(kind: string, page: Page, app: TestApp, clock: ManualClock): Promise<void> {
  const address = `ops-${kind}@freemail.example`;
  await page.getByRole('link', { name: 'Senders' }).click();
  await page.getByRole('heading', { name: 'Senders' }).waitFor();
  await page.getByText('No sender addresses yet').waitFor();
  await page.getByRole('textbox', { name: 'Sender address' }).fill('not an address');
  await page.getByRole('button', { name: 'Add sender' }).click();
  await page.getByRole('textbox', { name: 'Sender address' }).and(page.locator('[aria-invalid="true"]')).waitFor();

  await page.getByRole('textbox', { name: 'Sender address' }).fill(address);
  await page.getByRole('button', { name: 'Add sender' }).click();
  await page.getByTestId('sender-notice').filter({ hasText: `A confirmation link was mailed to ${address}` }).waitFor();
  await page.locator(`tr[data-sender="${address}"] [data-status="pending"]`).waitFor();
  await eventually(async () => (await confirmationsTo(app, address)) === 1, 15_000, 'the first confirmation mail');
  await checkPage(page, `${kind}-senders`);

  // Within the minute a resend is refused (and says when to try); a minute later it is mailed.
  const resend = page.getByRole('button', { name: `Resend confirmation to ${address}` });
  await resend.click();
  await page.getByRole('alert').filter({ hasText: 'RATE_LIMITED' }).waitFor();
  clock.advance(61_000);
  await resend.click();
  await page.getByTestId('sender-notice').filter({ hasText: `A new confirmation link was mailed to ${address}` }).waitFor();
  await eventually(async () => (await confirmationsTo(app, address)) === 2, 15_000, 'the second confirmation mail');
}

async function templates(kind: string, page: Page, app: TestApp): Promise<void> {
  await page.getByRole('link', { name: 'Templates' }).click();
  await page.getByRole('heading', { name: 'Templates' }).waitFor();
  await page.getByText('No templates yet').waitFor();
  await checkPage(page, `${kind}-templates-empty`);
  await page.getByRole('link', { name: 'New template' }).click();
  await page.getByRole('heading', { name: 'New template' }).waitFor();

  await page.getByRole('textbox', { name: 'Name' }).fill('welcome');
  await page.getByRole('textbox', { name: 'Subject' }).fill('Welcome {{name}}');
  const html = page.getByRole('textbox', { name: 'HTML' });
  await html.fill('<p id="greeting">Hello </p>');
  // The placeholder the subject uses is offered; a click puts it at the caret in the HTML.
  await html.focus();
  await html.evaluate((element: HTMLTextAreaElement) => element.setSelectionRange(23, 23));
  await page.getByRole('button', { name: /^Insert \{\{name\}\} into the HTML/ }).click();
  assert.equal(await html.inputValue(), '<p id="greeting">Hello {{name}}</p>');
  // No value yet: the preview names it and offers sample values.
  await page.getByTestId('missing-placeholders').filter({ hasText: 'name' }).waitFor();
  await page.getByRole('textbox', { name: 'Sample values' }).fill('{"name": "Ada <Lovelace>"}');
  const frame = page.frameLocator('[data-testid="template-preview"]');
  await frame.locator('#greeting').filter({ hasText: 'Hello Ada <Lovelace>' }).waitFor();
  await page.getByTestId('preview-subject').filter({ hasText: 'Welcome Ada <Lovelace>' }).waitFor();

  // Typing in the HTML renders again, with the value filled (and HTML-escaped: no <lovelace> element).
  await html.fill('<p id="greeting">Dear {{name}}, welcome to {{shop}}</p>');
  await page.getByRole('textbox', { name: 'Default values' }).fill('{"shop": "the Shop"}');
  await frame.locator('#greeting').filter({ hasText: 'Dear Ada <Lovelace>, welcome to the Shop' }).waitFor();
  assert.equal(await frame.locator('lovelace').count(), 0);
  // A syntax error is shown at its field, as the API words it.
  await html.fill('<p id="greeting">{{#vip}}Dear {{name}}</p>');
  await page.getByText(/is not a valid template/).waitFor();
  await html.and(page.locator('[aria-invalid="true"]')).waitFor();
  await html.fill('<p id="greeting">Dear {{name}}, welcome to {{shop}}</p>');
  await frame.locator('#greeting').filter({ hasText: 'welcome to the Shop' }).waitFor();
  await page.getByRole('textbox', { name: 'Plain text' }).fill('Dear {{name}}');

  await page.getByRole('button', { name: 'Create template' }).click();
  await page.getByRole('heading', { name: 'welcome' }).waitFor();
  await page.getByText('Preview of version 1').waitFor();
  await frame.locator('#greeting').filter({ hasText: 'welcome to the Shop' }).waitFor();
  await page.locator('tr[data-version="1"]').waitFor();
  await html.fill('<p id="greeting">Hi {{name}}</p>');
  await page.getByText('Preview of the unsaved draft').waitFor();
  await frame.locator('#greeting').filter({ hasText: 'Hi Ada <Lovelace>' }).waitFor();
  await page.getByRole('button', { name: 'Save as a new version' }).click();
  await page.getByText('Saved as version 2.').waitFor();
  await page.locator('tr[data-version="2"]').waitFor();

  // Version 1 loaded back into the editor is previewed as it was stored. Pressed with the
  // keyboard: a click right after Playwright scrolls the button into view lands where the
  // (process-isolated) preview frame was before the scroll, in headless Chromium.
  await page.getByRole('button', { name: 'Load version 1 into the editor' }).press('Enter');
  await page.getByText('Preview of version 1').waitFor();
  assert.equal(await html.inputValue(), '<p id="greeting">Dear {{name}}, welcome to {{shop}}</p>');
  await frame.locator('#greeting').filter({ hasText: 'welcome to the Shop' }).waitFor();
  await checkPage(page, `${kind}-template`);
  // The drafts were rendered without being stored: only what was saved is there.
  const stored = await data<{ name: string; version: number }[]>(app, '/templates');
  assert.deepEqual(stored.map((template) => [template.name, template.version]), [['welcome', 2]]);

  // A template with a script and event handlers: shown in the frame, where none of it runs.
  const hostile = await app.api('/templates', { method: 'POST', json: {
    name: 'hostile', subject: 'Hostile',
    html: '<p id="hello">Hello</p><script>parent.document.body.dataset.pwned = "script"; document.body.dataset.ran = "1"</script>'
      + '<img src="x" onerror="parent.document.body.dataset.pwned = \'onerror\'"><svg onload="parent.document.body.dataset.pwned = \'svg\'"></svg>',
  } });
  assert.equal(hostile.status, 201);
  const hostileId = ((await hostile.json()) as { data: { id: string } }).data.id;
  await page.goto(`${app.url}/#/templates/${hostileId}`);
  await page.getByRole('heading', { name: 'hostile' }).waitFor();
  const hostileFrame = page.frameLocator('[data-testid="template-preview"]');
  await hostileFrame.locator('#hello').waitFor();
  assert.equal(await page.getAttribute('[data-testid="template-preview"]', 'sandbox'), '', 'sandboxed: no scripts, no same origin');
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => document.body.dataset.pwned ?? null), null, 'nothing ran in the console');
  assert.equal(await hostileFrame.locator('body').getAttribute('data-ran'), null, 'nothing ran in the frame either');

  // The list, then the editor at phone width.
  await page.getByRole('link', { name: '← Every template' }).click();
  await page.locator('tr[data-template="welcome"]').waitFor();
  await checkPage(page, `${kind}-templates`);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator('tr[data-template="welcome"] a').click();
  await page.getByText('Preview of version 2').waitFor();
  await page.frameLocator('[data-testid="template-preview"]').locator('#greeting').waitFor();
  // Chromium leaves a (process-isolated) frame below the fold blank in a full-page screenshot:
  // the screen is made as tall as the page (at the phone's width) for it.
  await page.setViewportSize({ width: 390, height: await page.evaluate(() => document.documentElement.scrollHeight) });
  await page.waitForTimeout(300);
  await checkPage(page, `${kind}-template-phone`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function scenario(kind: string, store: TestStore): Promise<void> {
  await prepareStore(store, ['elipackage.com']);
  const receiver = await startWebhookReceiver();
  // A clock of the test's: a confirmation may be mailed again only a minute after the last.
  const clock = new ManualClock(new Date());
  const app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' }, { store, clock });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    await setOperatorPassword(app.mailroom.db, 'default', 'alice', PASSWORD);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${app.url}/login`);
    await signIn(page, 'alice', PASSWORD);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

    await webhooks(kind, page, app, receiver.base, receiver.received);
    await senders(kind, page, app, clock);
    await templates(kind, page, app);
    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    await context.close();
    await app.stop();
    await receiver.close();
  }
}

for (const kind of onPostgres ? ['postgres', 'pglite'] : ['pglite']) {
  test(`the console's webhooks, senders and templates in Chromium on ${kind}: test event, rotation, redelivery, confirmation resent, live template preview; axe on every page`, async () => {
    const store = await createTestStore({ pglite: kind === 'pglite' });
    try {
      await scenario(kind, store);
    } finally {
      await store.dispose();
    }
  });
}
