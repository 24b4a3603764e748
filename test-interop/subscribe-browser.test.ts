import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { chromium, type Browser } from 'playwright-core';
import { eventually, startTestApp, type TestApp } from '../test/helpers/app.js';
import { createTestStore, type TestStore } from '../test/helpers/database.js';
import { prepareStore } from '../test/helpers/process.js';
import { findExecutable, INSTALL_HINT } from './peers.js';

/**
 * Double opt-in as a person does it, in Debian's Chromium driven by playwright-core: a plain HTML
 * form on "the customer's site" (a page served by this test on another origin) posts to the
 * public subscribe endpoint; the confirmation mail is read from the sandbox catcher; the link is
 * opened in the browser, which confirms nothing by itself, and the button is clicked.
 */
let store: TestStore;
let app: TestApp;
let site: Server;
let siteUrl: string;
let browser: Browser;

before(async () => {
  const executablePath = findExecutable('chromium', process.env.MAILROOM_INTEROP_CHROMIUM);
  assert.ok(executablePath, `chromium is not installed: ${INSTALL_HINT}`);
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  app = await startTestApp({ MAILROOM_PUBLIC_URL: 'http://127.0.0.1:1' }, { store });
  // The flags the machine notes ask for: as root, without a sandbox, and without the
  // background connections a closed network refuses (Playwright gives it a fresh profile).
  browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  site = createServer();
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
});
after(async () => {
  await browser?.close();
  if (site) await new Promise((resolve) => site.close(resolve));
  await app?.stop();
  await store?.dispose();
});

test('a plain <form> on another site signs up; the mailed link opened in Chromium confirms only when its button is clicked', async () => {
  const created = await app.api('/lists', { method: 'POST', json: { name: 'Eli Weekly', optIn: 'double', fromAddress: 'news@elipackage.com' } });
  assert.equal(created.status, 201);
  const list = ((await created.json()) as { data: { id: string; token: string } }).data;
  // What a customer pastes into their page: no script, a hidden honeypot.
  const form = `<!doctype html><html><body><form method="post" action="${app.url}/subscribe/${list.token}">
    <input name="email" type="email"><input name="name"><input name="website" style="display:none" tabindex="-1" autocomplete="off">
    <button type="submit">Subscribe</button></form></body></html>`;
  site.on('request', (_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end(form));

  const page = await browser.newPage();
  await page.goto(siteUrl);
  await page.fill('input[name=email]', 'reader@example.org');
  await page.fill('input[name=name]', 'Rea Der');
  await Promise.all([page.waitForURL(`${app.url}/subscribe/${list.token}`), page.click('button[type=submit]')]);
  assert.match(await page.textContent('h1') ?? '', /Almost done/);

  const member = async () => ((await (await app.api(`/lists/${list.id}/contacts/reader@example.org`)).json()) as { data: { status: string } }).data.status;
  assert.equal(await member(), 'unconfirmed');

  const link = await eventually(async () => {
    app.mailroom.worker?.wakeUp();
    const caught = (await (await app.api('/sandbox/messages?limit=10')).json()) as { data: { id: number; envelope: { to: string[] } }[] };
    const entry = caught.data.find((item) => item.envelope.to.includes('reader@example.org'));
    if (!entry) return undefined;
    const raw = ((await (await app.api(`/sandbox/messages/${entry.id}`)).json()) as { data: { raw: string } }).data.raw;
    const html = (await simpleParser(raw)).html || '';
    return /href="(http:\/\/127\.0\.0\.1:1\/subscribe\/confirm\/[^"]+)"/.exec(html)?.[1];
  }, 15_000, 'the confirmation mail');

  await page.goto(link.replace('http://127.0.0.1:1', app.url));
  assert.match(await page.textContent('h1') ?? '', /Confirm your subscription/);
  assert.equal(await member(), 'unconfirmed', 'opening the link (as a scanner would) confirms nothing');
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  await page.waitForSelector('text=You are subscribed');
  assert.equal(await member(), 'subscribed');
});
