import assert from 'node:assert/strict';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { Webhook } from 'standardwebhooks';
import type { Queryable } from '../../src/db/database.js';
import { dkimRecord } from '../../src/domains/domains.js';
import { eventually, SEED_REQUEST, type TestApp } from './app.js';
import type { Received } from './webhookReceiver.js';

/**
 * Checks of what leaves a Mailroom signed, by independent implementations: DKIM signatures with
 * mailauth's verifier (the public keys given offline), webhook signatures with the
 * standardwebhooks package.
 */

/** Sends a message through the API; its id. */
export async function sendMessage(app: TestApp, fields: Record<string, unknown>, key?: string): Promise<string> {
  const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, callbacks: [], ...fields }, key });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: { id: string } }).data.id;
}

/** The bytes the sandbox transport "delivered" for a message. */
export async function sandboxRaw(app: TestApp, messageId: string, key?: string): Promise<string> {
  return eventually(async () => {
    const list = (await (await app.api('/sandbox/messages?limit=100', { key })).json()) as { data: { id: number; messageId: string }[] };
    const entry = list.data.find((item) => item.messageId === messageId);
    if (!entry) return undefined;
    return ((await (await app.api(`/sandbox/messages/${entry.id}`, { key })).json()) as { data: { raw: string } }).data.raw;
  }, 15_000, `message ${messageId} in the sandbox`);
}

/** The result of every DKIM signature on `raw` ('pass', 'fail', ...), checked against the domain's public keys as stored. */
export async function dkimResults(db: Queryable, raw: string, domain: string): Promise<string[]> {
  const [row] = await db.query<{ dkim_selector: string; dkim_public_key: string; dkim_ed25519_selector: string | null; dkim_ed25519_public_key: string | null }>(
    'SELECT dkim_selector, dkim_public_key, dkim_ed25519_selector, dkim_ed25519_public_key FROM domains WHERE domain = $1', [domain],
  );
  assert.ok(row, `no domain ${domain}`);
  const records = new Map([[`${row.dkim_selector}._domainkey.${domain}`, dkimRecord(row.dkim_public_key)]]);
  if (row.dkim_ed25519_selector && row.dkim_ed25519_public_key) records.set(`${row.dkim_ed25519_selector}._domainkey.${domain}`, dkimRecord(row.dkim_ed25519_public_key, 'ed25519'));
  const resolver = async (name: string, type: string) => {
    const record = type === 'TXT' ? records.get(name) : undefined;
    if (record) return [[record]];
    throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
  };
  const result = await dkimVerify(Buffer.from(raw, 'latin1'), { resolver });
  return result.results.map((entry) => entry.status.result);
}

/** Whether one of the request's v1 signatures is that of `secret`, as the standardwebhooks package computes it. */
export function signedWith(received: Received, secret: string): boolean {
  const timestamp = new Date(Number(received.headers['webhook-timestamp']) * 1000);
  const expected = new Webhook(secret).sign(received.headers['webhook-id']!, timestamp, received.body);
  return received.headers['webhook-signature']!.split(' ').includes(expected);
}
