import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { createAccount, requireAccount } from '../../src/accounts/accounts.js';
import { createKey } from '../../src/accounts/apiKeys.js';
import { keyIdOf } from '../../src/crypto/keyring.js';
import { addDomain } from '../../src/domains/domains.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { freePort, prepareStore, runCli } from '../helpers/process.js';

/**
 * Issue 17, item 3's key ring: a HIPAA message accepted under master key A waits in the queue;
 * the installation moves to key B (A kept as previous), `mailroom keys rotate-encryption`
 * re-wraps its data key and the account's index key under B, and with B alone the message is
 * still opened and delivered, and look-ups by recipient (keyed hashes) still find it.
 */
const [A, B] = [randomBytes(32), randomBytes(32)];
const KEY_A = { MAILROOM_ENCRYPTION_KEY: A.toString('base64') };
const KEY_B_AND_A = { MAILROOM_ENCRYPTION_KEY: B.toString('base64'), MAILROOM_ENCRYPTION_KEYS_PREVIOUS: A.toString('base64') };
const KEY_B = { MAILROOM_ENCRYPTION_KEY: B.toString('base64') };
const insecure = new Agent({ connect: { rejectUnauthorized: false } });
let store: TestStore;
let key: string;
let hipaaPort: number;

before(async () => {
  store = await createTestStore();
  await prepareStore(store, [], A);
  hipaaPort = await freePort();
});

after(async () => {
  await store?.dispose();
  await insecure.close();
});

function start(roles: string, keys: Record<string, string>): Promise<TestApp> {
  // The sandbox transport composes (so opens) each message it catches, and keeps nothing of a HIPAA one.
  return startTestApp({ MAILROOM_ROLES: roles, MAILROOM_TRANSPORT: 'sandbox', MAILROOM_HIPAA_HTTP_PORT: String(hipaaPort), ...keys }, { store });
}

async function hipaa(app: TestApp, path: string, body?: unknown): Promise<{ status: number; json: { data: unknown } }> {
  const response = await undiciFetch(`${app.mailroom.hipaa.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST', dispatcher: insecure,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as { data: unknown } };
}

test('a queued HIPAA message survives a master key change: re-wrapped by keys rotate-encryption, opened and delivered under the new key alone', async () => {
  let id: string;
  const first = await start('api', KEY_A);
  try {
    const { db, secrets } = first.mailroom;
    await createAccount(db, secrets, 'clinic', { hipaa: true });
    key = (await createKey(db, { accountName: 'clinic' })).key;
    await addDomain(db, secrets, (await requireAccount(db, 'clinic')).id, 'clinic.example', { verified: true });
    const sent = await hipaa(first, '/emails', { from: 'lab@clinic.example', to: 'patient@example.org', subject: 'Results', text: 'Ready' });
    assert.equal(sent.status, 200, JSON.stringify(sent.json));
    id = (sent.json.data as { id: string }).id;
    const [row] = await db.query<{ wrapped: string }>('SELECT wrapped FROM message_keys WHERE message_id = $1', [id]);
    assert.match(row!.wrapped, new RegExp(`^enc:v1:${keyIdOf(A)}:`));
  } finally {
    await first.stop();
  }

  const rotated = await runCli(['keys', 'rotate-encryption'], { ...store.env, ...KEY_B_AND_A });
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, /message-data-key: 1 re-encrypted/);
  assert.match(rotated.stdout, /hipaa-index-key: 1 re-encrypted/);

  // Read before a worker runs: it may deliver and shred the message the moment it starts.
  const opened = await store.open();
  try {
    const [row] = await opened.query<{ wrapped: string }>('SELECT wrapped FROM message_keys WHERE message_id = $1', [id]);
    assert.match(row?.wrapped ?? 'no key row', new RegExp(`^enc:v1:${keyIdOf(B)}:`));
  } finally {
    await opened.close();
  }

  const second = await start('api,worker', KEY_B);
  try {
    second.mailroom.worker!.wakeUp();
    await eventually(async () => {
      const [message] = await second.mailroom.db.query<{ status: string }>('SELECT status FROM messages WHERE id = $1', [id]);
      return message?.status === 'DELIVERED';
    }, 15_000, 'delivered under key B');
    // The catcher kept that it caught it, not what it said nor to whom.
    const caught = await second.mailroom.db.query<{ row: string }>('SELECT c::text AS row FROM sandbox_messages c WHERE message_id = $1', [id]);
    assert.equal(caught.length, 1);
    assert.doesNotMatch(caught[0]!.row, /patient|Results|Ready/i);
    // The index key opened under B hashes as it did under A.
    const found = await hipaa(second, `/emails?to=${encodeURIComponent('Patient@Example.org')}`);
    assert.deepEqual((found.json.data as { id: string }[]).map((entry) => entry.id), [id]);
    // Final: shredded at the next sweep, which also means its key is gone.
    await eventually(async () => {
      await second.mailroom.shredder!.sweep();
      const [left] = await second.mailroom.db.query<{ n: number }>('SELECT count(*)::int AS n FROM message_keys');
      return Number(left!.n) === 0;
    }, 10_000, 'shredded');
  } finally {
    await second.stop();
  }
});
