import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { KeyRing, keyIdOf } from '../../src/crypto/keyring.js';
import { Sealer } from '../../src/crypto/sealed.js';
import { callbackSecretContext } from '../../src/secrets/contexts.js';
import { TrackingLinks } from '../../src/tracking/links.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { dkimResults, sandboxRaw, sendMessage, signedWith } from '../helpers/signedMail.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhookReceiver.js';
import { CLI_ARGS } from '../helpers/paths.js';

/**
 * A change of the master key (docs/SECURITY.md): start with key A; restart with B and A as a
 * previous key, and everything sealed or signed with A still works; `mailroom secrets rotate`
 * re-seals every secret with B; then B alone is enough. B alone before the rotation fails
 * clearly, naming A's key id.
 */
const [A, B] = [randomBytes(32), randomBytes(32)];
const [idA, idB] = [keyIdOf(A), keyIdOf(B)];
const KEY_A = { MAILROOM_ENCRYPTION_KEY: A.toString('base64') };
const KEY_B_AND_A = { MAILROOM_ENCRYPTION_KEY: B.toString('base64'), MAILROOM_ENCRYPTION_KEYS_PREVIOUS: A.toString('base64') };
const KEY_B = { MAILROOM_ENCRYPTION_KEY: B.toString('base64') };
const PUBLIC_URL = 'http://mail.rotation.test';

function mailroom(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      env: { ...process.env, MAILROOM_LOG_LEVEL: 'warn', ...store.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

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

async function json<T>(response: Response): Promise<T> {
  const text = await response.text();
  assert.ok(response.ok, `${response.status}: ${text}`);
  return (JSON.parse(text) as { data: T }).data;
}

async function withApp(env: Record<string, string>, fn: (app: TestApp) => Promise<void>): Promise<void> {
  const app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1', MAILROOM_PUBLIC_URL: PUBLIC_URL, ...env }, { store });
  try {
    await fn(app);
  } finally {
    await app.stop();
  }
}

/** Sends from the rotation domain; checks its DKIM signatures and the webhook's signatures of its events. */
async function sendsSigned(app: TestApp, webhookSecret: string): Promise<string> {
  const id = await sendMessage(app, { from: 'news@rotation.example', html: '<p>Hello <a href="https://shop.example/">shop</a></p>', trackOpens: true });
  assert.deepEqual(await dkimResults(app.mailroom.db, await sandboxRaw(app, id), 'rotation.example'), ['pass', 'pass']);
  const events = await eventually(async () => {
    const got = receiver.received.filter((r) => r.path === '/rotation' && r.json.messageId === id);
    return got.length >= 2 ? got : undefined;
  }, 15_000, 'QUEUED and DELIVERED at the webhook');
  for (const request of events) assert.ok(signedWith(request, webhookSecret), 'the webhook request verifies with its secret');
  return id;
}

test('key A, then B with A as previous, then `secrets rotate`, then B alone: secrets, DKIM, webhooks and links keep working', { timeout: 240_000 }, async () => {
  let callbackSecret = '';
  let webhookSecret = '';
  let openPath = '';
  await withApp(KEY_A, async (app) => {
    assert.equal(app.mailroom.secrets.ring.current.id, idA);
    await json(await app.api('/domains', { method: 'POST', json: { domain: 'rotation.example', algorithm: 'ed25519' } }));
    webhookSecret = (await json<{ secret: string }>(await app.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/rotation` } }))).secret;
    callbackSecret = (await json<{ callbackSecret: string }>(await app.api('/account'))).callbackSecret;
    const id = await sendsSigned(app, webhookSecret);
    openPath = new URL(new TrackingLinks(new KeyRing(A), PUBLIC_URL).openUrl(id)).pathname;
    assert.ok((await sandboxRaw(app, id)).replace(/=\r\n/g, '').includes(openPath), 'the mail carries the open pixel signed with key A');
  });

  const status = await mailroom(['secrets', 'status'], KEY_B_AND_A);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`^key ring: current ${idB}, previous ${idA}$`, 'm'));
  assert.match(status.stdout, new RegExp(`^dkim-private-key\\t${idA} \\(previous\\)\\t2$`, 'm'));
  assert.match(status.stdout, new RegExp(`^webhook-secret\\t${idA} \\(previous\\)\\t1$`, 'm'));
  assert.match(status.stdout, new RegExp(`^callback-secret\\t${idA} \\(previous\\)\\t1$`, 'm'));

  // B alone before the rotation: nothing sealed with A opens, and every error names A's key id.
  const [stored] = await (async () => {
    const db = await store.open();
    try {
      return await db.query<{ id: number; callback_secret: string }>("SELECT id, callback_secret FROM accounts WHERE name = 'default'");
    } finally {
      await db.close();
    }
  })();
  assert.throws(() => new Sealer(new KeyRing(B)).open(stored!.callback_secret, callbackSecretContext(stored!.id)), new RegExp(`sealed with key ${idA}, which is not in the key ring \\(current ${idB}, no previous keys\\)`));
  const early = await mailroom(['secrets', 'rotate'], KEY_B);
  assert.equal(early.code, 1);
  assert.match(early.stdout, /^dkim-private-key: 0 re-encrypted$/m);
  assert.match(early.stderr, /4 value\(s\) could not be opened/);
  assert.match(early.stderr, new RegExp(`domains\\.dkim_private_key id \\d+: a dkim-private-key value is sealed with key ${idA}, which is not in the key ring`));
  assert.doesNotMatch(early.stderr + early.stdout, /whsec_|BEGIN/);
  await withApp(KEY_B, async (app) => {
    // The operator's missing key, not the client's fault: 503 with its own code, never a 500.
    const account = await app.api('/account');
    assert.equal(account.status, 503);
    assert.equal(((await account.json()) as { error: { code: string } }).error.code, 'SECRET_UNAVAILABLE');
    const id = await sendMessage(app, { from: 'news@rotation.example' });
    const deferred = await eventually(async () => {
      const events = await json<{ type: string; details: { recipients?: { reply?: string }[] } }[]>(await app.api(`/emails/${id}/events`));
      return events.find((event) => event.type === 'DEFERRED');
    }, 15_000, 'the message deferred, not sent unsigned');
    assert.match(JSON.stringify(deferred.details), new RegExp(`sealed with key ${idA}, which is not in the key ring`));
    await app.api(`/emails/${id}/cancel`, { method: 'POST' });
  });

  // B with A as previous: what A sealed opens, what A signed verifies; new secrets are sealed with B.
  let newWebhookSecret = '';
  await withApp(KEY_B_AND_A, async (app) => {
    assert.equal((await json<{ callbackSecret: string }>(await app.api('/account'))).callbackSecret, callbackSecret);
    await sendsSigned(app, webhookSecret);
    assert.equal((await app.api(openPath)).status, 200, 'an open pixel signed with A still counts');
    newWebhookSecret = (await json<{ secret: string }>(await app.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/second` } }))).secret;
  });

  const rotated = await mailroom(['secrets', 'rotate'], KEY_B_AND_A);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, /^dkim-private-key: 2 re-encrypted$/m);
  assert.match(rotated.stdout, /^webhook-secret: 1 re-encrypted$/m, 'the webhook created under B was already sealed with B');
  assert.match(rotated.stdout, /^callback-secret: 1 re-encrypted$/m);
  assert.match(rotated.stdout, new RegExp(`every stored secret is sealed with key ${idB}`));
  const after = await mailroom(['secrets', 'status'], KEY_B);
  assert.equal(after.code, 0, after.stderr);
  assert.doesNotMatch(after.stdout, new RegExp(idA));
  assert.match(after.stdout, new RegExp(`^webhook-secret\\t${idB} \\(current\\)\\t2$`, 'm'));
  assert.equal((await mailroom(['secrets', 'rotate'], KEY_B)).stdout.split('\n').slice(0, 3).join('\n'),
    'dkim-private-key: 0 re-encrypted\nwebhook-secret: 0 re-encrypted\ncallback-secret: 0 re-encrypted', 'a second rotation has nothing to do');

  // B alone: every secret works; only links signed with A, now out of the ring, no longer verify.
  await withApp(KEY_B, async (app) => {
    assert.equal((await json<{ callbackSecret: string }>(await app.api('/account'))).callbackSecret, callbackSecret);
    await sendsSigned(app, webhookSecret);
    const second = await eventually(async () => {
      const got = receiver.received.filter((r) => r.path === '/second');
      return got.length > 0 ? got : undefined;
    }, 15_000, 'events at the webhook created under B');
    assert.ok(second.every((request) => signedWith(request, newWebhookSecret)));
    assert.equal((await app.api(openPath)).status, 404, 'a link signed with a key no longer in the ring');
  });
});
