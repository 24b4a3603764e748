import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { pino } from 'pino';
import { after, before, describe, test } from 'node:test';
import { createKey } from '../../src/accounts/apiKeys.js';
import { KeyRing } from '../../src/crypto/keyring.js';
import { Sealer } from '../../src/crypto/sealed.js';
import type { Database, Queryable } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { callbackSecretContext, dkimKeyContext, webhookSecretContext } from '../../src/secrets/contexts.js';
import { sealClearSecrets, sealSecretsAtStart } from '../../src/secrets/reseal.js';
import { newSigningSecret } from '../../src/webhooks/signing.js';
import { eventually, otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, onPostgres, type TestStore } from '../helpers/database.js';
import { dkimResults, sandboxRaw, sendMessage, signedWith } from '../helpers/signedMail.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhookReceiver.js';

/**
 * Secrets at rest (issue 15): DKIM private keys, webhook secrets and callback secrets are stored
 * sealed, so that a dump of the database signs nothing; what clients see and what receivers
 * verify is unchanged. Values an earlier version stored in clear are sealed at start.
 */

const PLACES = [
  'accounts.callback_secret', 'webhooks.secret', 'webhooks.previous_secret',
  'domains.dkim_private_key', 'domains.dkim_ed25519_private_key', 'domain_dkim_keys.private_key',
];

/** Every stored secret, read with plain SQL as a dump would show it. */
async function storedSecrets(db: Queryable): Promise<{ place: string; id: number; value: string }[]> {
  return db.query<{ place: string; id: number; value: string }>(`
    SELECT 'accounts.callback_secret' AS place, id, callback_secret AS value FROM accounts
    UNION ALL SELECT 'webhooks.secret', id, secret FROM webhooks
    UNION ALL SELECT 'webhooks.previous_secret', id, previous_secret FROM webhooks WHERE previous_secret IS NOT NULL
    UNION ALL SELECT 'domains.dkim_private_key', id, dkim_private_key FROM domains
    UNION ALL SELECT 'domains.dkim_ed25519_private_key', id, dkim_ed25519_private_key FROM domains WHERE dkim_ed25519_private_key IS NOT NULL
    UNION ALL SELECT 'domain_dkim_keys.private_key', id, private_key FROM domain_dkim_keys WHERE private_key IS NOT NULL
    ORDER BY 1, 2`);
}

/** Each stored secret is sealed with the app's current key and holds none of `clear` (nor their base64 body). */
function assertSealed(stored: { place: string; id: number; value: string }[], app: TestApp, clear: string[]): void {
  const prefix = `enc:v1:${app.mailroom.secrets.ring.current.id}:`;
  for (const { place, value } of stored) {
    assert.ok(value.startsWith(prefix), `${place} is sealed with the current key: ${value.slice(0, 30)}...`);
    assert.doesNotMatch(value, /BEGIN|PRIVATE KEY|whsec_/, place);
    for (const secret of clear) {
      const body = secret.replace(/^whsec_/, '').replace(/-----[^-]+-----|\s/g, '').slice(0, 40);
      assert.ok(!value.includes(secret) && !value.includes(body), `${place} holds no secret in clear`);
    }
  }
}

async function json<T>(response: Response): Promise<T> {
  const text = await response.text();
  assert.ok(response.ok, `${response.status}: ${text}`);
  return (JSON.parse(text) as { data: T }).data;
}

/** A key pair as the code before 011 generated and stored it: PKCS#8 and SPKI PEM text. */
function pemPair(type: 'rsa' | 'ed25519'): { publicKey: string; privateKey: string } {
  return type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
    : generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
}

describe('secrets written by this version', () => {
  let app: TestApp;
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await startWebhookReceiver();
    app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' });
  });
  after(async () => {
    await app.stop();
    await receiver.close();
  });

  test('a domain, a webhook and the account: stored sealed, shown and used as before; mail verifies with DKIM, webhooks with standardwebhooks', async () => {
    const domain = await json<{ id: number }>(await app.api('/domains', { method: 'POST', json: { domain: 'sealed.example', algorithm: 'ed25519' } }));
    assert.equal((await app.api(`/domains/${domain.id}/rotate`, { method: 'POST' })).status, 200);
    const webhook = await json<{ id: number; secret: string }>(await app.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/hook` } }));
    const rotated = await json<{ secret: string }>(await app.api(`/webhooks/${webhook.id}/rotate-secret`, { method: 'POST' }));
    const account = await json<{ callbackSecret: string }>(await app.api('/account'));
    assert.match(account.callbackSecret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.match(rotated.secret, /^whsec_/);

    const stored = await storedSecrets(app.mailroom.db);
    assert.deepEqual([...new Set(stored.map((row) => row.place))].sort(), [...PLACES].sort());
    assertSealed(stored, app, [webhook.secret, rotated.secret, account.callbackSecret]);
    assert.equal((await json<{ callbackSecret: string }>(await app.api('/account'))).callbackSecret, account.callbackSecret);

    const id = await sendMessage(app, { from: 'promo@sealed.example', callbacks: [`${receiver.base}/cb`] });
    assert.deepEqual(await dkimResults(app.mailroom.db, await sandboxRaw(app, id), 'sealed.example'), ['pass', 'pass'], 'RSA and Ed25519 signatures verify');
    const ofMessage = (path: string) => receiver.received.filter((r) => r.path === path && r.json.messageId === id);
    await eventually(async () => ofMessage('/hook').length >= 2 && ofMessage('/cb').length >= 2, 15_000, 'QUEUED and DELIVERED at the webhook and the callback');
    for (const request of ofMessage('/hook')) {
      assert.ok(signedWith(request, rotated.secret), 'signed with the new secret');
      assert.ok(signedWith(request, webhook.secret), 'and, during the overlap, with the old one');
    }
    for (const request of ofMessage('/cb')) assert.ok(signedWith(request, account.callbackSecret), 'a callback is signed with the account secret');
  });

  test("a sealed secret copied into another account's row does not open there: an error, never the other account's secret", async () => {
    const otherKey = await otherAccountKey(app, 'copycat');
    const [row] = await app.mailroom.db.query<{ callback_secret: string }>("SELECT callback_secret FROM accounts WHERE name = 'default'");
    const [own] = await app.mailroom.db.query<{ callback_secret: string }>("SELECT callback_secret FROM accounts WHERE name = 'copycat'");
    await app.mailroom.db.query("UPDATE accounts SET callback_secret = $1 WHERE name = 'copycat'", [row!.callback_secret]);
    try {
      const response = await app.api('/account', { key: otherKey });
      assert.equal(response.status, 503);
      const text = await response.text();
      assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'SECRET_UNAVAILABLE');
      assert.doesNotMatch(text, /whsec_/);
    } finally {
      await app.mailroom.db.query("UPDATE accounts SET callback_secret = $1 WHERE name = 'copycat'", [own!.callback_secret]);
    }
    assert.equal((await app.api('/account', { key: otherKey })).status, 200);
  });
});

describe('secrets an earlier version stored in clear', () => {
  let store: TestStore;
  let receiver: WebhookReceiver;
  before(async () => {
    store = await createTestStore();
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await receiver.close();
    await store.dispose();
  });

  test('are sealed at the first start and keep working: the account secret, DKIM signatures, webhook signatures; a second start changes nothing', async () => {
    const [rsa, ed, next] = [pemPair('rsa'), pemPair('ed25519'), pemPair('ed25519')];
    const [callbackSecret, webhookSecret, previousSecret] = [newSigningSecret(), newSigningSecret(), newSigningSecret()];
    let legacyKey: string;
    let accountId: number;
    const db = await store.open();
    try {
      await migrate(db);
      // As the code before migration 011 wrote them.
      const [account] = await db.query<{ id: number }>("INSERT INTO accounts (name, callback_secret) VALUES ('legacy', $1) RETURNING id", [callbackSecret]);
      accountId = Number(account!.id);
      const [domain] = await db.query<{ id: number }>(
        `INSERT INTO domains (account_id, domain, verified, status, verification, dkim_selector, dkim_private_key, dkim_public_key,
                              dkim_ed25519_selector, dkim_ed25519_private_key, dkim_ed25519_public_key)
         VALUES ($1, 'legacy.example', true, 'verified', 'admin', 'old', $2, $3, 'olde', $4, $5) RETURNING id`,
        [accountId, rsa.privateKey, rsa.publicKey, ed.privateKey, ed.publicKey],
      );
      await db.query("INSERT INTO domain_dkim_keys (domain_id, selector, algorithm, state, private_key, public_key, created_at) VALUES ($1, 'newe', 'ed25519', 'pending', $2, $3, now())", [domain!.id, next.privateKey, next.publicKey]);
      await db.query(
        "INSERT INTO webhooks (account_id, url, secret, previous_secret, previous_secret_until, created_at, updated_at) VALUES ($1, $2, $3, $4, now() + interval '1 day', now(), now())",
        [accountId, `${receiver.base}/legacy`, webhookSecret, previousSecret],
      );
      legacyKey = (await createKey(db, { accountName: 'legacy' })).key;
    } finally {
      await db.close();
    }
    const clear = [callbackSecret, webhookSecret, previousSecret, rsa.privateKey, ed.privateKey, next.privateKey];

    let sealedAtFirstStart: { place: string; id: number; value: string }[];
    const app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' }, { store });
    try {
      sealedAtFirstStart = await storedSecrets(app.mailroom.db);
      assert.deepEqual([...new Set(sealedAtFirstStart.map((row) => row.place))].sort(), [...PLACES].sort());
      assertSealed(sealedAtFirstStart, app, clear);
      const [pending] = await app.mailroom.db.query<{ private_key: string }>("SELECT private_key FROM domain_dkim_keys WHERE selector = 'newe'");
      assert.equal(app.mailroom.secrets.open(pending!.private_key, dkimKeyContext(accountId)), next.privateKey, "a rotation's next key is sealed for its account");

      assert.equal((await json<{ callbackSecret: string }>(await app.api('/account', { key: legacyKey }))).callbackSecret, callbackSecret);
      const id = await sendMessage(app, { from: 'news@legacy.example', callbacks: [`${receiver.base}/legacy-cb`] }, legacyKey);
      assert.deepEqual(await dkimResults(app.mailroom.db, await sandboxRaw(app, id, legacyKey), 'legacy.example'), ['pass', 'pass']);
      const ofMessage = (path: string) => receiver.received.filter((r) => r.path === path && r.json.messageId === id);
      await eventually(async () => ofMessage('/legacy').length >= 2 && ofMessage('/legacy-cb').length >= 2, 15_000, 'the events at the webhook and the callback');
      for (const request of ofMessage('/legacy')) assert.ok(signedWith(request, webhookSecret) && signedWith(request, previousSecret));
      for (const request of ofMessage('/legacy-cb')) assert.ok(signedWith(request, callbackSecret));

      // A clear value written after the upgrade (an older process, or a hand in the database) is refused, not trusted...
      const planted = newSigningSecret();
      await app.mailroom.db.query("UPDATE accounts SET callback_secret = $1 WHERE name = 'legacy'", [planted]);
      const refused = await app.api('/account', { key: legacyKey });
      assert.equal(refused.status, 503);
      assert.doesNotMatch(await refused.text(), /whsec_/);
    } finally {
      await app.stop();
    }

    // ...until the next start seals it (with a warning); everything else is left as it was.
    const again = await startTestApp({}, { store });
    try {
      const stored = await storedSecrets(again.mailroom.db);
      const before = new Map(sealedAtFirstStart.map((row) => [`${row.place} ${row.id}`, row.value]));
      const changed = stored.filter((row) => row.value !== before.get(`${row.place} ${row.id}`));
      assert.equal(stored.length, sealedAtFirstStart.length);
      assert.deepEqual(changed.map((row) => `${row.place} ${row.id}`), [`accounts.callback_secret ${accountId}`]);
      assertSealed(stored, again, clear);
      const [legacy] = await again.mailroom.db.query<{ callback_secret: string }>("SELECT callback_secret FROM accounts WHERE name = 'legacy'");
      assert.ok(legacy!.callback_secret.startsWith('enc:v1:'));
      assert.equal(again.mailroom.secrets.open(legacy!.callback_secret, callbackSecretContext(accountId)).length, 50);
      assert.equal((await again.api('/account', { key: legacyKey })).status, 200);
    } finally {
      await again.stop();
    }
  });

  test('two processes sealing at once seal each value once, and what they seal opens', async () => {
    const fresh = await createTestStore();
    const handles: Database[] = [await fresh.open()];
    try {
      // On PGlite one process owns the data directory: the two sweeps share its handle.
      handles.push(onPostgres ? await fresh.open() : handles[0]!);
      await migrate(handles[0]!);
      const secrets = Array.from({ length: 30 }, () => newSigningSecret());
      for (const [index, secret] of secrets.entries()) {
        const [account] = await handles[0]!.query<{ id: number }>('INSERT INTO accounts (name, callback_secret) VALUES ($1, $2) RETURNING id', [`a${index}`, secret]);
        await handles[0]!.query("INSERT INTO webhooks (account_id, url, secret, created_at, updated_at) VALUES ($1, 'https://h.example/', $2, now(), now())", [account!.id, secret]);
      }
      const sealer = new Sealer(new KeyRing(Buffer.alloc(32, 5)));
      const reports = await Promise.all(handles.map((handle) => sealClearSecrets(handle, sealer)));
      assert.equal(reports.reduce((sum, report) => sum + report.counts['callback-secret'].sealed, 0), 30);
      assert.equal(reports.reduce((sum, report) => sum + report.counts['webhook-secret'].sealed, 0), 30);
      const rows = await handles[0]!.query<{ id: number; name: string; callback_secret: string; secret: string }>(
        'SELECT a.id, a.name, a.callback_secret, w.secret FROM accounts a JOIN webhooks w ON w.account_id = a.id ORDER BY a.id',
      );
      for (const row of rows) {
        const secret = secrets[Number(row.name.slice(1))]!;
        assert.equal(sealer.open(row.callback_secret, callbackSecretContext(row.id)), secret);
        assert.equal(sealer.open(row.secret, webhookSecretContext(row.id)), secret);
      }
      assert.deepEqual((await sealClearSecrets(handles[0]!, sealer)).counts['callback-secret'], { sealed: 0, reencrypted: 0 }, 'nothing left to seal');
    } finally {
      for (const handle of new Set(handles)) await handle.close();
      await fresh.dispose();
    }
  });

  test('the first sweep reports the upgrade; a clear value found after it is sealed with a warning naming its kind, never its value', async () => {
    const fresh = await createTestStore();
    const db = await fresh.open();
    const lines: { level: number; msg: string; sealed: Record<string, number> }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
    try {
      await migrate(db);
      const sealer = new Sealer(new KeyRing(Buffer.alloc(32, 6)));
      const [early, late] = [newSigningSecret(), newSigningSecret()];
      await db.query("INSERT INTO accounts (name, callback_secret) VALUES ('early', $1)", [early]);
      await sealSecretsAtStart(db, sealer, log);
      await sealSecretsAtStart(db, sealer, log);
      await db.query("INSERT INTO accounts (name, callback_secret) VALUES ('late', $1)", [late]);
      await sealSecretsAtStart(db, sealer, log);
      assert.deepEqual(lines.map(({ level, msg, sealed }) => ({ level, msg, sealed })), [
        { level: 30, msg: 'secrets stored in clear by an earlier version are now sealed', sealed: { 'callback-secret': 1 } },
        { level: 40, msg: 'secrets found in clear (written by an older version, or into the database directly) were sealed', sealed: { 'callback-secret': 1 } },
      ]);
      assert.ok(!JSON.stringify(lines).includes(early.slice(6)) && !JSON.stringify(lines).includes(late.slice(6)));
    } finally {
      await db.close();
      await fresh.dispose();
    }
  });
});
