import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { addContacts, createList, json } from '../helpers/lists.js';
import { prepareStore } from '../helpers/process.js';
import { startSmtpSink } from '../helpers/smtpSink.js';

/**
 * The feeder against the account's own limits and against refusals of the whole campaign, with a
 * relay to an SMTP sink on loopback. The account may send 10 messages a second: a campaign
 * without a rate of its own waits for the windows, and none of its messages fails.
 */
interface CampaignBody {
  id: string;
  state: string;
  counts: { total: number | null; processed: number; queued: number; rejected: number; refused: number; remaining: number | null };
  error: { code: string; message: string } | null;
}

const PER_SECOND = 10;
let app: TestApp;
let store: TestStore;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;

before(async () => {
  sink = await startSmtpSink();
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  app = await startTestApp({ MAILROOM_TRANSPORT: 'relay', MAILROOM_RELAY_URL: sink.url, MAILROOM_RATE_LIMIT_PER_SECOND: String(PER_SECOND) }, { store });
});

after(async () => {
  await app?.stop();
  await store?.dispose();
  await sink?.close();
});

async function campaign(id: string): Promise<CampaignBody> {
  return (await json<{ data: CampaignBody }>(await app.api(`/campaigns/${id}`))).data;
}

async function create(body: Record<string, unknown>): Promise<CampaignBody> {
  return (await json<{ data: CampaignBody }>(await app.api('/campaigns', { method: 'POST', json: { from: 'news@elipackage.com', subject: 'News', ...body } }), 201)).data;
}

async function state(id: string, wanted: string, timeoutMs = 30_000): Promise<CampaignBody> {
  return eventually(async () => {
    const body = await campaign(id);
    return body.state === wanted ? body : undefined;
  }, timeoutMs, `campaign ${id} ${wanted}`);
}

test('the account\'s rate limit paces a campaign: it waits for the windows and every contact gets its message', async () => {
  const list = await createList(app, { name: 'Limited' });
  await addContacts(app, list.id, Array.from({ length: 50 }, (_, index) => ({ email: `l${index}@limited.test`, status: 'subscribed' })));
  const created = await create({ name: 'Limited', lists: [list.id], text: 'Hello' });
  const started = Date.now();
  await json(await app.api(`/campaigns/${created.id}/start`, { method: 'POST' }));
  const done = await state(created.id, 'finished');
  assert.deepEqual(done.counts, { total: 50, processed: 50, queued: 50, rejected: 0, refused: 0, remaining: 0 });
  await eventually(async () => sink.messages.filter((message) => message.to[0]!.endsWith('@limited.test')).length === 50, 30_000, '50 messages');
  const times = sink.messages.filter((message) => message.to[0]!.endsWith('@limited.test')).map((message) => message.at).sort((a, b) => a - b);
  // 50 messages at 10 a second take five one-second windows. The start may fall anywhere in the
  // first, so the fifth opens more than three seconds (not four) after it; anything sooner means
  // a window granted more than ten.
  assert.ok(times.at(-1)! - started > 3_000, `took ${times.at(-1)! - started} ms`);
  assert.equal(new Set(sink.messages.filter((message) => message.to[0]!.endsWith('@limited.test')).map((message) => message.to[0])).size, 50);
});

test('a refusal of the whole campaign pauses it with the reason; resume goes on; an empty audience finishes at once', async () => {
  const list = await createList(app, { name: 'Templated' });
  await addContacts(app, list.id, Array.from({ length: 30 }, (_, index) => ({ email: `t${index}@templated.test`, status: 'subscribed' })));
  const name = `paused-${Date.now()}`;
  await json(await app.api('/templates', { method: 'POST', json: { name, subject: 'Hi', text: 'Hello {{email}}' } }), 201);
  const created = await create({ name: 'Templated', lists: [list.id], subject: null, templateId: name, ratePerMinute: 300 });
  await json(await app.api(`/campaigns/${created.id}/start`, { method: 'POST' }));
  await eventually(async () => (await campaign(created.id)).counts.processed > 0, 15_000, 'a first page');
  await json(await app.api(`/templates/${name}`, { method: 'DELETE' }));
  const paused = await state(created.id, 'paused', 15_000);
  assert.equal(paused.error?.code, 'TEMPLATE_NOT_FOUND');
  assert.ok(paused.counts.processed < 30);
  assert.equal(paused.counts.refused, 0, 'no contact is refused for what concerns the campaign');
  // The template comes back (a new one under the same name, version 1 again): resume goes on.
  await json(await app.api('/templates', { method: 'POST', json: { name, subject: 'Hi', text: 'Hello again {{email}}' } }), 201);
  const resumed = await json<{ data: CampaignBody }>(await app.api(`/campaigns/${created.id}/resume`, { method: 'POST' }));
  assert.equal(resumed.data.error, null);
  const done = await state(created.id, 'finished', 30_000);
  assert.equal(done.counts.queued, 30);

  const empty = await createList(app, { name: 'Empty' });
  const none = await create({ name: 'Nobody', lists: [empty.id], text: 'x' });
  await json(await app.api(`/campaigns/${none.id}/start`, { method: 'POST' }));
  const finished = await state(none.id, 'finished', 10_000);
  assert.deepEqual(finished.counts, { total: 0, processed: 0, queued: 0, rejected: 0, refused: 0, remaining: 0 });
});

test('large content: a page holds no more than a statement\'s worth of messages, and every contact still gets one', async () => {
  const list = await createList(app, { name: 'Large' });
  await addContacts(app, list.id, Array.from({ length: 25 }, (_, index) => ({ email: `big${index}@large.test`, status: 'subscribed' })));
  const html = `<p>${'Large newsletter content. '.repeat(16_000)}</p>`; // about 400 KB
  const created = await create({ name: 'Large', lists: [list.id], html });
  await json(await app.api(`/campaigns/${created.id}/start`, { method: 'POST' }));
  const done = await state(created.id, 'finished', 60_000);
  assert.deepEqual(done.counts, { total: 25, processed: 25, queued: 25, rejected: 0, refused: 0, remaining: 0 });
  // Each page's ledger rows share one created_at: no page held more than 4 MB of content.
  const pages = await app.mailroom.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM campaign_recipients r JOIN campaigns c ON c.seq = r.campaign_seq WHERE c.id = $1 GROUP BY r.created_at`, [created.id],
  );
  assert.ok(pages.length >= 3, `${pages.length} pages`);
  assert.ok(pages.every((page) => page.n <= 10), JSON.stringify(pages));
  await eventually(async () => sink.messages.filter((message) => message.to[0]!.endsWith('@large.test')).length === 25, 60_000, '25 large messages');
});
