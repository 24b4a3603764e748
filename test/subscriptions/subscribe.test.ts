import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { createKey } from '../../src/accounts/apiKeys.js';
import { createAccount } from '../../src/accounts/accounts.js';
import { ManualClock } from '../../src/shared/clock.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, sealerOf, type TestStore } from '../helpers/database.js';
import { prepareStore } from '../helpers/process.js';

/**
 * Double opt-in end to end over HTTP (the browser run is test-interop/subscribe-browser.test.ts):
 * the public sign-up, the confirmation mail read from the sandbox catcher, the link's page (GET
 * asks, POST confirms), and the ways a public form gets abused: re-subscribing a confirmed
 * contact, a second list, honeypots, floods, stale and expired links, and the purge.
 */
const PUBLIC_URL = 'https://lists.shop.example';
let store: TestStore;
let app: TestApp;
let otherKey: string;
const clock = new ManualClock(new Date('2026-05-04T09:00:00Z'));

before(async () => {
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  const db = await store.open();
  try {
    await createAccount(db, sealerOf(store), 'other-co');
    otherKey = (await createKey(db, { accountName: 'other-co' })).key;
  } finally {
    await db.close();
  }
  app = await startTestApp({ MAILROOM_PUBLIC_URL: PUBLIC_URL, MAILROOM_SUBSCRIBE_PER_IP_PER_MINUTE: '1000', MAILROOM_UNCONFIRMED_PURGE_DAYS: '30' }, { store, clock });
});
after(async () => {
  await app.stop();
  await store.dispose();
});

interface List { id: string; token: string; optIn: string }
interface Member { status: string }

async function createList(name: string, optIn: 'single' | 'double'): Promise<List> {
  const response = await app.api('/lists', { method: 'POST', json: { name, optIn, fromAddress: 'news@elipackage.com', fromName: 'Eli News' } });
  const body = (await response.json()) as { data: List };
  assert.equal(response.status, 201, JSON.stringify(body));
  return body.data;
}

const signUp = (list: List, json: Record<string, unknown>) => fetch(`${app.url}/subscribe/${list.token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });
const formPost = (list: List, fields: Record<string, string>) => fetch(`${app.url}/subscribe/${list.token}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });

async function member(list: List, email: string): Promise<Member | null> {
  const response = await app.api(`/lists/${list.id}/contacts/${encodeURIComponent(email)}`);
  if (response.status === 404) return null;
  assert.equal(response.status, 200);
  return ((await response.json()) as { data: Member }).data;
}

const lastCaught = async () => ((await (await app.api('/sandbox/messages?limit=1')).json()) as { data: { id: number }[] }).data[0]?.id ?? 0;

/** The confirmation link of the newest mail to `to` caught after `since`. */
async function caughtLink(to: string, since: number): Promise<string> {
  return eventually(async () => {
    app.mailroom.worker?.wakeUp();
    const caught = (await (await app.api('/sandbox/messages?limit=100')).json()) as { data: { id: number; envelope: { to: string[] } }[] };
    const entry = caught.data.find((item) => item.id > since && item.envelope.to.includes(to));
    if (!entry) return undefined;
    const raw = ((await (await app.api(`/sandbox/messages/${entry.id}`)).json()) as { data: { raw: string } }).data.raw;
    const parsed = await simpleParser(raw);
    assert.match(parsed.subject ?? '', /^Confirm your subscription to /);
    assert.match(parsed.from?.text ?? '', /Eli News.*news@elipackage\.com/);
    assert.equal(parsed.headers.get('list-unsubscribe'), undefined, 'transactional: no unsubscribe header');
    return /https:\/\/lists\.shop\.example\/subscribe\/confirm\/\S+/.exec(parsed.text ?? '')?.[0];
  }, 15_000, `a confirmation mail to ${to}`);
}

async function mailsTo(to: string, since: number): Promise<number> {
  app.mailroom.worker?.wakeUp();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const caught = (await (await app.api('/sandbox/messages?limit=100')).json()) as { data: { id: number; envelope: { to: string[] } }[] };
  return caught.data.filter((item) => item.id > since && item.envelope.to.includes(to)).length;
}

const open = (link: string, method: 'GET' | 'POST') => fetch(link.replace(PUBLIC_URL, app.url), { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' } : {}) });

test('double opt-in: the sign-up mails a link; GET of the link confirms nothing, the button POST does, twice is harmless', async () => {
  const list = await createList('weekly', 'double');
  const since = await lastCaught();
  const response = await signUp(list, { email: 'Ann@Example.org', name: 'Ann' });
  assert.equal(response.status, 202);
  const body = (await response.json()) as { data: { optIn: string; message: string } };
  assert.equal(body.data.optIn, 'double');
  assert.equal(response.headers.get('access-control-allow-origin'), '*');
  assert.equal((await member(list, 'ann@example.org'))?.status, 'unconfirmed');

  const link = await caughtLink('ann@example.org', since);
  const page = await open(link, 'GET');
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<form method="post"[^>]*><button type="submit">Confirm my subscription<\/button>/);
  assert.equal((await member(list, 'ann@example.org'))?.status, 'unconfirmed', 'a GET (a link scanner) confirms nothing');

  const confirmed = await open(link, 'POST');
  assert.equal(confirmed.status, 200);
  assert.match(await confirmed.text(), /You are subscribed/);
  assert.equal((await member(list, 'ann@example.org'))?.status, 'subscribed');
  const again = await open(link, 'POST');
  assert.equal(again.status, 200);
  assert.match(await again.text(), /confirmed already/);
  assert.equal((await member(list, 'ann@example.org'))?.status, 'subscribed');
});

test('re-subscribing a confirmed contact leaves it subscribed and mails nothing; another list still asks for its own confirmation', async () => {
  const first = await createList('first', 'double');
  const second = await createList('second', 'double');
  const since = await lastCaught();
  await signUp(first, { email: 'bob@example.org' });
  await open(await caughtLink('bob@example.org', since), 'POST');
  assert.equal((await member(first, 'bob@example.org'))?.status, 'subscribed');

  const before = await lastCaught();
  const again = await signUp(first, { email: 'BOB@example.org', name: 'Mallory was here' });
  assert.equal(again.status, 202, 'the same answer, whoever the address is');
  assert.equal((await member(first, 'bob@example.org'))?.status, 'subscribed');
  assert.equal(await mailsTo('bob@example.org', before), 0);
  const contact = (await (await app.api('/contacts/bob@example.org')).json()) as { data: { name: string | null } };
  assert.equal(contact.data.name, null, 'a stranger\'s post never renames a contact');

  await signUp(second, { email: 'bob@example.org' });
  assert.equal((await member(second, 'bob@example.org'))?.status, 'unconfirmed');
  const link = await caughtLink('bob@example.org', before);
  assert.equal((await open(link, 'POST')).status, 200);
  assert.equal((await member(second, 'bob@example.org'))?.status, 'subscribed');
});

test('single opt-in subscribes at once; a plain form post gets a page; a contact who unsubscribed must confirm by mail', async () => {
  const list = await createList('offers', 'single');
  const page = await formPost(list, { email: 'cleo@example.org', name: 'Cleo', submit: 'Sign up' });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await page.text(), /Thank you for subscribing/);
  assert.equal((await member(list, 'cleo@example.org'))?.status, 'subscribed');

  const patched = await app.api(`/lists/${list.id}/contacts/cleo@example.org`, { method: 'PATCH', json: { status: 'unsubscribed' } });
  assert.equal(patched.status, 200);
  const since = await lastCaught();
  await formPost(list, { email: 'cleo@example.org' });
  assert.equal((await member(list, 'cleo@example.org'))?.status, 'unsubscribed', 'nobody re-subscribes a person who left');
  const link = await caughtLink('cleo@example.org', since);
  assert.equal((await open(link, 'POST')).status, 200);
  assert.equal((await member(list, 'cleo@example.org'))?.status, 'subscribed');
});

test('a link stops working after a newer one, after 7 days, and after an unsubscribe; a forged one is not valid', async () => {
  const list = await createList('stale', 'double');
  let since = await lastCaught();
  await signUp(list, { email: 'dan@example.org' });
  const firstLink = await caughtLink('dan@example.org', since);
  since = await lastCaught();
  await signUp(list, { email: 'dan@example.org' });
  const secondLink = await caughtLink('dan@example.org', since);
  assert.notEqual(firstLink, secondLink);
  assert.equal((await open(firstLink, 'POST')).status, 410);
  assert.equal((await member(list, 'dan@example.org'))?.status, 'unconfirmed');

  const forged = secondLink.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
  assert.equal((await open(forged, 'GET')).status, 404);
  assert.equal((await open(forged, 'POST')).status, 404);

  clock.advance(7 * 24 * 3600 * 1000 + 1000);
  assert.equal((await open(secondLink, 'POST')).status, 410);
  assert.equal((await member(list, 'dan@example.org'))?.status, 'unconfirmed');

  // A link found in the mailbox after the person unsubscribed subscribes nobody.
  since = await lastCaught();
  await signUp(list, { email: 'erin@example.org' });
  const erinLink = await caughtLink('erin@example.org', since);
  clock.advance(1000);
  assert.equal((await app.api(`/lists/${list.id}/contacts/erin@example.org`, { method: 'PATCH', json: { status: 'unsubscribed' } })).status, 200);
  assert.equal((await open(erinLink, 'POST')).status, 410);
  assert.equal((await member(list, 'erin@example.org'))?.status, 'unsubscribed');
});

test('the honeypot: answered as usual, nobody signed up, nothing mailed', async () => {
  const list = await createList('honey', 'double');
  const since = await lastCaught();
  const response = await signUp(list, { email: 'bot-target@example.org', website: 'http://spam.example' });
  assert.equal(response.status, 202);
  assert.equal(await member(list, 'bot-target@example.org'), null);
  assert.equal(await mailsTo('bot-target@example.org', since), 0);
});

test('bad input is a clear error (JSON, or a page for a form post); an unknown token is 404; CORS preflight answers', async () => {
  const list = await createList('errors', 'double');
  const bad = await signUp(list, { email: 'not an address' });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'VALIDATION_ERROR');
  const badForm = await formPost(list, { email: 'x@' });
  assert.equal(badForm.status, 400);
  assert.match(await badForm.text(), /<h1>Please check the form<\/h1>/);
  assert.equal((await signUp(list, { email: 'a\u0000b@example.org' })).status, 400);
  assert.equal((await signUp(list, { name: 'no address' })).status, 400);
  assert.equal((await signUp({ ...list, token: 'nope' }, { email: 'x@example.org' })).status, 404);
  const preflight = await fetch(`${app.url}/subscribe/${list.token}`, { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' } });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
  assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  // Another account's key changes nothing here: the endpoint is public, and the token decides.
  assert.equal((await app.api(`/lists/${list.id}`, { key: otherKey })).status, 404);
});

test('sign-ups are throttled per list and address (3 an hour by default), with Retry-After', async () => {
  const list = await createList('throttled', 'double');
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await signUp(list, { email: 'flood@example.org' })).status);
  assert.deepEqual(statuses, [202, 202, 202, 429]);
  const limited = await signUp(list, { email: 'flood@example.org' });
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
});

test('sign-ups nobody confirmed are purged after the configured days, with contacts left on no list', async () => {
  const list = await createList('purge', 'double');
  const kept = await createList('kept', 'single');
  await signUp(list, { email: 'old-unconfirmed@example.org' });
  await signUp(list, { email: 'also-elsewhere@example.org' });
  await signUp(kept, { email: 'also-elsewhere@example.org' });
  clock.advance(31 * 24 * 3600 * 1000);
  await signUp(list, { email: 'fresh@example.org' });
  const purged = await app.mailroom.subscriptions.purgeUnconfirmed();
  assert.ok(purged >= 2, `purged ${purged}`);
  assert.equal(await member(list, 'old-unconfirmed@example.org'), null);
  assert.equal((await app.api('/contacts/old-unconfirmed@example.org')).status, 404, 'the contact went with its only list');
  assert.equal(await member(list, 'also-elsewhere@example.org'), null);
  assert.equal((await member(kept, 'also-elsewhere@example.org'))?.status, 'subscribed');
  assert.equal((await member(list, 'fresh@example.org'))?.status, 'unconfirmed');
});
