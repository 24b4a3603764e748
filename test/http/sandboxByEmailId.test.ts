import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newMessageId } from '../../src/shared/ids.js';
import { eventually, otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Issue 19: GET /sandbox/messages/{id} (and /content, /links) also take the email's id, the one
 * POST /emails answered, and show the newest caught copy of that email; the catcher's own numeric
 * id still works, and another account's message is not found either way.
 */
let app: TestApp;

before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.stop();
});

interface Caught { id: number; messageId: string; subject: string; raw: string }

async function sendAndCatch(subject: string): Promise<{ emailId: string; caughtId: number }> {
  const sent = await app.api('/emails', { method: 'POST', json: { from: 'promo@elipackage.com', to: 'john.doe@example.com', subject, text: 'See https://example.com/offer' } });
  assert.equal(sent.status, 200, await sent.clone().text());
  const emailId = ((await sent.json()) as { data: { id: string } }).data.id;
  app.mailroom.worker?.wakeUp();
  const caughtId = await eventually(async () => {
    const list = (await (await app.api('/sandbox/messages?limit=100')).json()) as { data: { id: number; messageId: string }[] };
    return list.data.find((entry) => entry.messageId === emailId)?.id;
  }, 15_000, `${subject} caught`);
  return { emailId, caughtId };
}

async function dataOf<T>(path: string, key?: string): Promise<T> {
  const response = await app.api(path, key === undefined ? {} : { key });
  assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
  return ((await response.json()) as { data: T }).data;
}

test("the email's id finds its caught message, its content and its links, as the caught message's own id does", async () => {
  const { emailId, caughtId } = await sendAndCatch('By email id');
  const byEmail = await dataOf<Caught>(`/sandbox/messages/${emailId}`);
  assert.deepEqual(byEmail, await dataOf<Caught>(`/sandbox/messages/${caughtId}`));
  assert.equal(byEmail.id, caughtId);
  assert.equal(byEmail.messageId, emailId);
  assert.deepEqual(await dataOf(`/sandbox/messages/${emailId}/content`), await dataOf(`/sandbox/messages/${caughtId}/content`));
  const links = await dataOf<{ url: string }[]>(`/sandbox/messages/${emailId}/links`);
  assert.ok(links.some((link) => link.url === 'https://example.com/offer'), JSON.stringify(links));
});

test('an email caught more than once shows its newest copy', async () => {
  const { emailId, caughtId } = await sendAndCatch('Caught twice');
  // A second copy, as a retry after a crash between delivery and its record would leave.
  await app.mailroom.db.query(
    `INSERT INTO sandbox_messages (account_id, message_id, envelope_from, envelope_to, subject, raw, received_at)
     SELECT account_id, message_id, envelope_from, envelope_to, 'Caught twice (again)', raw, received_at FROM sandbox_messages WHERE id = $1`,
    [caughtId],
  );
  const newest = await dataOf<Caught>(`/sandbox/messages/${emailId}`);
  assert.equal(newest.subject, 'Caught twice (again)');
  assert.ok(newest.id > caughtId);
  assert.equal((await dataOf<Caught>(`/sandbox/messages/${caughtId}`)).subject, 'Caught twice', 'the numeric id still names its own copy');
});

test("another account's email, or one never caught, is not found; a malformed id is a 400", async () => {
  const { emailId } = await sendAndCatch('Not yours');
  const other = await otherAccountKey(app, 'other-co');
  for (const suffix of ['', '/content', '/links']) {
    const response = await app.api(`/sandbox/messages/${emailId}${suffix}`, { key: other });
    assert.equal(response.status, 404, suffix);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
  }
  assert.equal((await app.api(`/sandbox/messages/${newMessageId()}`)).status, 404, 'an email id never caught');
  for (const id of ['abc', '0', '1e30', `${emailId}x`]) {
    const response = await app.api(`/sandbox/messages/${id}`);
    assert.equal(response.status, 400, id);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'VALIDATION_ERROR', id);
  }
});
