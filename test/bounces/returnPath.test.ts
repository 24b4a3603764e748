import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { requireAccount } from '../../src/accounts/accounts.js';
import { addDomain } from '../../src/domains/domains.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Issue 19: a VERP Return-Path is at bounces.<from domain> only when the account verified that
 * domain (its DNS records include that MX), or at MAILROOM_BOUNCE_DOMAIN. A sender confirmed
 * alone, in a domain the user does not own, never gets bounces.<their domain>.
 */
const apps: TestApp[] = [];
after(() => Promise.all(apps.map((app) => app.stop())));

async function appWith(env: Record<string, string>): Promise<TestApp> {
  const app = await startTestApp(env);
  apps.push(app);
  const account = await requireAccount(app.mailroom.db, 'default');
  await addDomain(app.mailroom.db, app.mailroom.secrets, account.id, 'owned.example', { verified: true });
  await addDomain(app.mailroom.db, app.mailroom.secrets, account.id, 'pending.example', { verified: false });
  return app;
}

async function envelopeFrom(app: TestApp, from: string): Promise<string> {
  const sent = await app.api('/emails', { method: 'POST', json: { from, to: 'reader@example.net', subject: 'Return-Path', text: 'Where do bounces go?' } });
  assert.equal(sent.status, 200, await sent.clone().text());
  const { data } = (await sent.json()) as { data: { id: string } };
  return eventually(async () => {
    const caught = await app.api(`/sandbox/messages/${data.id}`);
    return caught.status === 200 ? ((await caught.json()) as { data: { envelope: { from: string } } }).data.envelope.from : undefined;
  }, 15_000, 'the sandbox to catch it');
}

let plain: TestApp;
let withBounceDomain: TestApp;
before(async () => {
  plain = await appWith({});
  withBounceDomain = await appWith({ MAILROOM_BOUNCE_DOMAIN: 'bounces.mailroom.test' });
});

test('without MAILROOM_BOUNCE_DOMAIN: a verified domain bounces to bounces.<domain>; any other sender is its own Return-Path', async () => {
  assert.match(await envelopeFrom(plain, 'news@owned.example'), /^bounces\+[^@]+@bounces\.owned\.example$/);
  assert.equal(await envelopeFrom(plain, 'someone@elsewhere.example'), 'someone@elsewhere.example', 'a domain the account did not verify');
  assert.equal(await envelopeFrom(plain, 'news@pending.example'), 'news@pending.example', 'a domain added but not verified');
});

test('with MAILROOM_BOUNCE_DOMAIN: every sender gets a VERP Return-Path at it', async () => {
  for (const from of ['news@owned.example', 'someone@elsewhere.example']) {
    assert.match(await envelopeFrom(withBounceDomain, from), /^bounces\+[^@]+@bounces\.mailroom\.test$/, from);
  }
});

test('a sender says where its bounces go', async () => {
  const bounceDomainOf = async (app: TestApp, email: string) => {
    const added = await app.api('/senders', { method: 'POST', json: { email } });
    assert.ok(added.status < 300, await added.clone().text());
    return ((await added.json()) as { data: { bounceDomain: string | null } }).data.bounceDomain;
  };
  assert.equal(await bounceDomainOf(plain, 'news@owned.example'), 'bounces.owned.example');
  assert.equal(await bounceDomainOf(plain, 'someone@elsewhere.example'), null, 'its own address: not processed');
  assert.equal(await bounceDomainOf(withBounceDomain, 'someone@elsewhere.example'), 'bounces.mailroom.test');
  const listed = (await (await plain.api('/senders')).json()) as { data: { email: string; bounceDomain: string | null }[] };
  assert.deepEqual(listed.data.map((sender) => [sender.email, sender.bounceDomain]).sort(), [['news@owned.example', 'bounces.owned.example'], ['someone@elsewhere.example', null]]);
});
