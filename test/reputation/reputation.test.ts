import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAccount, requireAccount } from '../../src/accounts/accounts.js';
import { createKey } from '../../src/accounts/apiKeys.js';
import { addDomain } from '../../src/domains/domains.js';
import { atLeast, reinstateAccount } from '../../src/reputation/reputation.js';
import { SEED_REQUEST, eventually, type TestApp } from '../helpers/app.js';
import { BOUNCE_DOMAIN, startBounceLoop, type BounceLoop } from '../helpers/bounceLoop.js';
import { countOf } from '../helpers/database.js';

/**
 * The 5% rule with real deliveries: each account sends through the mx transport to a local MX
 * sink that refuses `bad-*` recipients with 550 5.1.1 (hard bounces during delivery), and
 * complaints arrive at the inbound MX as ARF reports. Then the reputation check runs.
 */
let loop: BounceLoop;
let app: TestApp;
let sink: BounceLoop['sink'];
const keys: Record<string, string> = {};

before(async () => {
  // The test runs the check itself, at the moments it chooses.
  loop = await startBounceLoop((address) => (address.startsWith('bad-') ? [550, '5.1.1 User unknown'] : null), { MAILROOM_REPUTATION_CHECK_SECONDS: '3600' });
  ({ app, sink } = loop);
  for (const name of ['warned-co', 'bouncy-co', 'small-co', 'complained-co']) {
    const account = await createAccount(app.mailroom.db, app.mailroom.secrets, name);
    await addDomain(app.mailroom.db, app.mailroom.secrets, account.id, `${name}.test`, { verified: true });
    keys[name] = (await createKey(app.mailroom.db, { accountName: name })).key;
  }
});
after(async () => loop?.stop());

/**
 * Sends `total` messages from the account, `bad` of them to refused addresses, and waits until
 * every one is final. The good ones go first and are final before the bad ones are sent: the
 * check runs after every recorded result, so any moment in between must be below the final
 * rate (bounces first would cross 5% on the way to 4.9%, and suspend rightly).
 */
async function sendBatch(account: string, total: number, bad: number): Promise<void> {
  const accountId = (await requireAccount(app.mailroom.db, account)).id;
  const send = async (addresses: string[], finalBefore: number) => {
    for (let start = 0; start < addresses.length; start += 1000) {
      const messages = addresses.slice(start, start + 1000).map((to) => ({ ...SEED_REQUEST, from: `news@${account}.test`, callbacks: [], to }));
      const response = await app.api('/emails/bulk', { method: 'POST', json: { messages }, key: keys[account]! });
      assert.equal(response.status, 200, await response.clone().text());
    }
    await eventually(async () => {
      app.mailroom.worker!.wakeUp();
      return (await countOf(app.mailroom.db, "SELECT count(*) AS n FROM messages WHERE account_id = $1 AND status IN ('DELIVERED', 'BOUNCED')", [accountId])) === finalBefore + addresses.length;
    }, 60_000, `${account}: messages final`);
  };
  await send(Array.from({ length: total - bad }, (_, i) => `good-${account}-${i}@customer.test`), 0);
  await send(Array.from({ length: bad }, (_, i) => `bad-${account}-${i}@customer.test`), total - bad);
}

interface Reputation {
  status: string;
  outcomes: number;
  hardBounces: number;
  complaints: number;
  bounceRate: number;
  enforced: boolean;
  suspendedReason: string | null;
}

async function reputation(account: string): Promise<Reputation> {
  const response = await app.api('/account/reputation', { key: keys[account]! });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: Reputation }).data;
}

async function accountEvents(account: string): Promise<string[]> {
  const accountId = (await requireAccount(app.mailroom.db, account)).id;
  const rows = await app.mailroom.db.query<{ type: string }>('SELECT type FROM message_events WHERE account_id = $1 AND message_id IS NULL ORDER BY id', [accountId]);
  return rows.map((row) => row.type);
}

async function sendStatus(account: string): Promise<number> {
  const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, from: `news@${account}.test`, to: 'later@customer.test' }, key: keys[account]! });
  return response.status;
}

test('rates are decided in integers: 50 of 1,000 is 5%, 49 is not', () => {
  assert.equal(atLeast(50, 1000, 0.05), true);
  assert.equal(atLeast(49, 1000, 0.05), false);
  assert.equal(atLeast(5, 1000, 0.005), true);
  assert.equal(atLeast(1, 1000, 0.001), true);
  assert.equal(atLeast(0, 0, 0.05), false);
});

test('4.9% warns and does not suspend; 5.0% with the minimum volume suspends; below the minimum volume nothing happens', async () => {
  await Promise.all([sendBatch('warned-co', 1000, 49), sendBatch('bouncy-co', 1000, 50), sendBatch('small-co', 50, 25)]);
  // Each recorded bounce pokes the check (it runs within a second); run one more to be sure it has run.
  await app.mailroom.reputation!.check();

  const warned = await reputation('warned-co');
  assert.deepEqual([warned.status, warned.outcomes, warned.hardBounces, warned.bounceRate], ['active', 1000, 49, 0.049]);
  assert.deepEqual(await accountEvents('warned-co'), ['REPUTATION_WARNING']);
  assert.equal(await sendStatus('warned-co'), 200);

  const bouncy = await reputation('bouncy-co');
  assert.deepEqual([bouncy.status, bouncy.outcomes, bouncy.hardBounces], ['suspended', 1000, 50]);
  assert.match(bouncy.suspendedReason!, /bounce rate 5\.00%/);
  // On the way from 0 to 50 bounces the rate passes the warning threshold; a check that runs
  // there (a slow machine records the bounces in several batches) rightly warns first.
  const bouncyEvents = await accountEvents('bouncy-co');
  assert.equal(bouncyEvents.at(-1), 'ACCOUNT_SUSPENDED');
  assert.ok(bouncyEvents.slice(0, -1).every((type) => type === 'REPUTATION_WARNING'), bouncyEvents.join(', '));
  // The key's principal is cached for a few seconds; then every send is refused.
  await eventually(async () => (await sendStatus('bouncy-co')) === 403, 10_000, '403 for the suspended account');
  const refused = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, from: 'news@bouncy-co.test' }, key: keys['bouncy-co']! });
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'ACCOUNT_SUSPENDED');

  const small = await reputation('small-co');
  assert.deepEqual([small.status, small.outcomes, small.hardBounces, small.enforced], ['active', 50, 25, false]);
  assert.deepEqual(await accountEvents('small-co'), []);

  // A second check changes nothing: one warning a day, one suspension.
  assert.deepEqual(await app.mailroom.reputation!.check(), []);

  // Reinstated by an operator of the installation: its rates start over, so the same bounces do not suspend it again.
  assert.equal(await reinstateAccount(app.mailroom.db, 'bouncy-co', new Date(), 'test'), true);
  const reinstated = await reputation('bouncy-co');
  assert.deepEqual([reinstated.status, reinstated.outcomes, reinstated.hardBounces], ['active', 0, 0]);
  assert.deepEqual(await app.mailroom.reputation!.check(), []);
  await eventually(async () => (await sendStatus('bouncy-co')) === 200, 10_000, '200 after reinstatement');
  // The events so far (a warning on the way perhaps, then the suspension), and the reinstatement.
  assert.deepEqual(await accountEvents('bouncy-co'), [...bouncyEvents, 'ACCOUNT_REINSTATED']);
});

test('complaints: 1 of 200 (0.5%) suspends', async () => {
  await sendBatch('complained-co', 200, 0);
  const sunk = sink.messages.find((message) => message.to[0] === 'good-complained-co-7@customer.test')!;
  const report = [
    'From: fbl@isp.test', `To: fbl@${BOUNCE_DOMAIN}`, 'Subject: complaint', 'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report; boundary="b"', '',
    '--b', 'Content-Type: text/plain', '', 'An abuse report.', '',
    '--b', 'Content-Type: message/feedback-report', '', 'Feedback-Type: abuse', 'Version: 1', 'User-Agent: isp/1', '',
    '--b', 'Content-Type: text/rfc822-headers', '', `Return-Path: <${sunk.from}>`, 'From: news@complained-co.test', 'To: good-complained-co-7@customer.test', '',
    '--b--', '',
  ].join('\r\n');
  const reply = await loop.deliverReport(`fbl@${BOUNCE_DOMAIN}`, report);
  assert.ok(reply.accepted, reply.response);
  await app.mailroom.reputation!.check();
  const data = await reputation('complained-co');
  assert.deepEqual([data.status, data.outcomes, data.complaints], ['suspended', 200, 1]);
  assert.match(data.suspendedReason!, /complaint rate 0\.50%/);
  assert.deepEqual(await accountEvents('complained-co'), ['ACCOUNT_SUSPENDED']);
});

test("Mailroom's own mail (a sender confirmation, even one that bounces) is not the account's traffic: its reputation volume does not move", async () => {
  const account = await createAccount(app.mailroom.db, app.mailroom.secrets, 'confirming-co');
  keys['confirming-co'] = (await createKey(app.mailroom.db, { accountName: 'confirming-co' })).key;
  for (const email of ['owner@customer.test', 'bad-owner@customer.test']) {
    const added = await app.api('/senders', { method: 'POST', json: { email }, key: keys['confirming-co'] });
    assert.ok(added.status < 300, await added.clone().text());
  }
  await eventually(async () => {
    app.mailroom.worker!.wakeUp();
    return (await countOf(app.mailroom.db, "SELECT count(*) AS n FROM messages WHERE account_id = $1 AND status IN ('DELIVERED', 'BOUNCED')", [account.id])) === 2;
  }, 60_000, 'both confirmations final');
  const [bounced] = await app.mailroom.db.query<{ details: { system?: boolean } }>("SELECT details FROM message_events WHERE account_id = $1 AND type = 'BOUNCED'", [account.id]);
  assert.equal(bounced?.details.system, true, 'the bounce of a confirmation says it was system mail');
  const shown = await reputation('confirming-co');
  assert.equal(shown.outcomes, 0, 'no outcome counted');
  assert.equal(shown.hardBounces, 0, 'no hard bounce counted');
});
