import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { createKey } from '../../src/accounts/apiKeys.js';
import { createAccount } from '../../src/accounts/accounts.js';
import { ManualClock } from '../../src/shared/clock.js';
import { eventually, SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, sealerOf, type TestStore } from '../helpers/database.js';
import { prepareStore } from '../helpers/process.js';

/**
 * Sender addresses end to end: POST /senders mails a confirmation link through the pipeline into
 * the sandbox catcher; the test reads the link from the caught message and opens it as the
 * recipient would (GET shows a button, POST confirms); then the address may send. Expired,
 * replaced and forged links, resends, and addresses of a verified domain.
 */
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
  app = await startTestApp({ MAILROOM_REQUIRE_VERIFIED_SENDER: 'on', MAILROOM_PUBLIC_URL: 'https://mail.shop.example' }, { store, clock });
});
after(async () => {
  await app.stop();
  await store.dispose();
});

interface Sender { id: number; email: string; verified: boolean; verifiedBy: string | null; confirmationSentAt: string | null }

async function addSender(email: string): Promise<Sender> {
  const response = await app.api('/senders', { method: 'POST', json: { email } });
  const body = (await response.json()) as { data: Sender };
  assert.equal(response.status, 201, JSON.stringify(body));
  return body.data;
}

async function sender(id: number): Promise<Sender> {
  return ((await (await app.api(`/senders/${id}`)).json()) as { data: Sender }).data;
}

/** The newest confirmation link caught for `to`, read out of the delivered message's text part. */
async function caughtLink(to: string, after = 0): Promise<string> {
  return eventually(async () => {
    app.mailroom.worker?.wakeUp();
    const list = (await (await app.api('/sandbox/messages?limit=100')).json()) as { data: { id: number; envelope: { to: string[] } }[] };
    const entry = list.data.find((item) => item.id > after && item.envelope.to.includes(to));
    if (!entry) return undefined;
    const raw = ((await (await app.api(`/sandbox/messages/${entry.id}`)).json()) as { data: { raw: string } }).data.raw;
    const parsed = await simpleParser(raw);
    assert.equal(parsed.subject, 'Confirm your sender address');
    assert.match(parsed.from?.text ?? '', /no-reply@mail\.shop\.example/);
    return /https:\/\/mail\.shop\.example\/senders\/confirm\/\S+/.exec(parsed.text ?? '')?.[0];
  }, 15_000, `a confirmation mail to ${to}`);
}

const lastCaught = async () => ((await (await app.api('/sandbox/messages?limit=1')).json()) as { data: { id: number }[] }).data[0]?.id ?? 0;
/** Opens a link on this app (the public URL names another host, as it would behind a proxy). */
const open = (link: string, method: 'GET' | 'POST') => fetch(link.replace('https://mail.shop.example', app.url), { method });
const sendFrom = (from: string) => app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, from } });

test('the confirmation link, read from the caught mail: GET only asks, POST confirms, and then the address may send', async () => {
  assert.equal((await sendFrom('alice@freemail.example')).status, 403);
  const added = await addSender('Alice@Freemail.example');
  assert.deepEqual([added.email, added.verified, added.verifiedBy], ['alice@freemail.example', false, null]);
  assert.ok(added.confirmationSentAt);
  const link = await caughtLink('alice@freemail.example');

  const page = await open(link, 'GET');
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<form method="post"/);
  assert.equal((await sender(added.id)).verified, false, 'a link scanner opening the URL confirms nothing');

  const confirmed = await open(link, 'POST');
  assert.equal(confirmed.status, 200);
  assert.match(await confirmed.text(), /Address confirmed/);
  const after = await sender(added.id);
  assert.deepEqual([after.verified, after.verifiedBy], [true, 'sandbox'], 'the link was read from the sandbox catcher');
  assert.equal((await sendFrom('Alice <alice@freemail.example>')).status, 200);
  // A second click changes nothing and says so.
  assert.match(await (await open(link, 'POST')).text(), /confirmed already/);
});

test('links expire after 24 hours; a resend replaces the link; a forged link is a 404; resends are spaced a minute apart', async () => {
  const bob = await addSender('bob@freemail.example');
  const first = await caughtLink('bob@freemail.example');
  const resentTooSoon = await app.api(`/senders/${bob.id}/resend`, { method: 'POST' });
  assert.equal(resentTooSoon.status, 429);
  assert.ok(Number(resentTooSoon.headers.get('retry-after')) > 0);

  clock.advance(24 * 3600 * 1000 + 1000);
  const expired = await open(first, 'POST');
  assert.equal(expired.status, 410);
  assert.match(await expired.text(), /more than 24 hours old/);
  assert.equal((await sender(bob.id)).verified, false);

  const seen = await lastCaught();
  assert.equal((await app.api(`/senders/${bob.id}/resend`, { method: 'POST' })).status, 200);
  const second = await caughtLink('bob@freemail.example', seen);
  assert.notEqual(second, first);

  clock.advance(61_000);
  const seenAgain = await lastCaught();
  assert.equal((await app.api(`/senders/${bob.id}/resend`, { method: 'POST' })).status, 200);
  const third = await caughtLink('bob@freemail.example', seenAgain);
  const replaced = await open(second, 'POST');
  assert.equal(replaced.status, 410);
  assert.match(await replaced.text(), /newer confirmation link/);

  const forged = third.replace(/\.([A-Za-z0-9_-])([A-Za-z0-9_-]{42})$/, (_match, head: string, rest: string) => `.${head === 'A' ? 'B' : 'A'}${rest}`);
  assert.notEqual(forged, third);
  assert.equal((await open(forged, 'GET')).status, 404);
  assert.equal((await open(forged, 'POST')).status, 404);
  const otherSender = third.replace(/\/confirm\/(\d+)\./, (_match, id: string) => `/confirm/${Number(id) + 1}.`);
  assert.equal((await open(otherSender, 'POST')).status, 404, 'the id is signed too');

  assert.equal((await open(third, 'POST')).status, 200);
  assert.equal((await sender(bob.id)).verified, true);
});

test('an address of a verified domain is verified at once, with no mail; other accounts see none of it', async () => {
  const seen = await lastCaught();
  const billing = await addSender('billing@elipackage.com');
  assert.deepEqual([billing.verified, billing.verifiedBy, billing.confirmationSentAt], [true, 'domain', null]);
  assert.equal(await lastCaught(), seen, 'nothing was mailed');

  const list = (await (await app.api('/senders')).json()) as { data: Sender[] };
  assert.deepEqual(list.data.map((entry) => [entry.email, entry.verified]), [['alice@freemail.example', true], ['billing@elipackage.com', true], ['bob@freemail.example', true]]);
  assert.equal((await app.api(`/senders/${billing.id}`, { key: otherKey })).status, 404);
  assert.equal((await app.api(`/senders/${billing.id}`, { method: 'DELETE', key: otherKey })).status, 404);
  assert.deepEqual(((await (await app.api('/senders', { key: otherKey })).json()) as { data: Sender[] }).data, []);

  assert.equal((await app.api(`/senders/${billing.id}`, { method: 'DELETE' })).status, 204);
  assert.equal((await app.api('/senders', { method: 'POST', json: { email: 'Billing <billing@elipackage.com>' } })).status, 400);
});
