import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { eventually, otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';
import { countOf, createTestStore, type TestStore } from '../helpers/database.js';
import { addContacts, createList, json, members, type ErrorBody } from '../helpers/lists.js';
import { prepareStore } from '../helpers/process.js';
import { startSmtpSink } from '../helpers/smtpSink.js';

/**
 * Campaigns through the API with real parts: a relay transport to an SMTP sink on loopback, the
 * database of the run (PGlite or PostgreSQL). Each test uses its own lists and addresses, so the
 * sink's messages are told apart by recipient.
 */
interface CampaignBody {
  id: string;
  state: string;
  templateVersion: number | null;
  counts: { total: number | null; processed: number; queued: number; rejected: number; refused: number; remaining: number | null };
  error: { code: string; message: string } | null;
  report?: Record<string, number | null> | null;
}

let app: TestApp;
let store: TestStore;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;

before(async () => {
  sink = await startSmtpSink();
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  app = await startTestApp({ MAILROOM_TRANSPORT: 'relay', MAILROOM_RELAY_URL: sink.url }, { store });
});

after(async () => {
  await app?.stop();
  await store?.dispose();
  await sink?.close();
});

async function campaign(id: string, key?: string): Promise<CampaignBody> {
  return (await json<{ data: CampaignBody }>(await app.api(`/campaigns/${id}`, key ? { key } : {}))).data;
}

async function create(body: Record<string, unknown>): Promise<CampaignBody> {
  return (await json<{ data: CampaignBody }>(await app.api('/campaigns', { method: 'POST', json: { from: 'News <news@elipackage.com>', subject: 'News for {{email}}', ...body } }), 201)).data;
}

async function act(id: string, action: string, status = 200): Promise<CampaignBody> {
  return (await json<{ data: CampaignBody }>(await app.api(`/campaigns/${id}/${action}`, { method: 'POST' }), status)).data;
}

async function finished(id: string, timeoutMs = 30_000): Promise<CampaignBody> {
  return eventually(async () => {
    const body = await campaign(id);
    return body.state === 'finished' ? body : undefined;
  }, timeoutMs, `campaign ${id} finished`);
}

function sunkTo(domain: string) {
  return sink.messages.filter((message) => message.to.some((address) => address.endsWith(`@${domain}`)));
}

async function waitForSink(domain: string, count: number, timeoutMs = 30_000) {
  return eventually(async () => (sunkTo(domain).length >= count ? sunkTo(domain) : undefined), timeoutMs, `${count} messages to ${domain}`);
}

test('a campaign mails every subscribed contact once, with its placeholders, as marketing mail; the ledger and the counts agree', async () => {
  const list = await createList(app, { name: 'Readers' });
  const contacts = Array.from({ length: 40 }, (_, index) => ({ email: `reader${index}@basic.test`, name: `Reader ${index}`, attributes: { city: `City${index}` }, status: 'subscribed' }));
  await addContacts(app, list.id, contacts);
  await addContacts(app, list.id, [{ email: 'pending@basic.test', status: 'unconfirmed' }, { email: 'gone@basic.test', status: 'unsubscribed' }]);
  const created = await create({ name: 'Spring', subject: 'Hello {{name}}', lists: [list.id], html: '<p>Hi {{name}} from {{city}}</p>', tags: ['spring'] });
  assert.equal(created.state, 'draft');
  assert.equal(created.counts.total, null);
  const started = await act(created.id, 'start');
  assert.equal(started.state, 'running');
  const done = await finished(created.id);
  assert.deepEqual(done.counts, { total: 40, processed: 40, queued: 40, rejected: 0, refused: 0, remaining: 0 });
  const mails = await waitForSink('basic.test', 40);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(sunkTo('basic.test').length, 40, 'each contact once');
  assert.deepEqual(new Set(mails.map((mail) => mail.to[0])).size, 40);
  const sample = mails.find((mail) => mail.to[0] === 'reader7@basic.test')!;
  const parsed = await simpleParser(sample.raw);
  assert.equal(parsed.subject, 'Hello Reader 7');
  assert.match(String(parsed.html), /Hi Reader 7 from City7/);
  assert.equal(parsed.to && 'value' in parsed.to ? parsed.to.value[0]!.name : null, 'Reader 7');
  const head = sample.raw.toString('latin1').split('\r\n\r\n')[0]!;
  assert.match(head, /^List-Unsubscribe:\s*<http[^>]+>/m, 'marketing: List-Unsubscribe');
  assert.match(head, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click/m);

  // The ledger: one row per contact, each with its message, in contact order.
  const ledger = (await json<{ data: { contactId: number; email: string; outcome: string; messageId: string }[] }>(await app.api(`/campaigns/${created.id}/recipients?limit=1000`))).data;
  assert.equal(ledger.length, 40);
  assert.ok(ledger.every((entry) => entry.outcome === 'queued' && entry.messageId));
  const stored = await countOf(app.mailroom.db, `SELECT count(*) AS n FROM messages WHERE campaign_id = '${created.id}'`);
  assert.equal(stored, 40);
  // The report sees the campaign's messages under its id.
  await app.mailroom.reports!.catchUp();
  const report = await json<{ data: { requested: number } }>(await app.api(`/campaigns/${created.id}/report`));
  assert.equal(report.data.requested, 40);
});

test('exclusion lists, suppressed contacts (stored REJECTED, counted), refused recipients and contacts added after the start', async () => {
  const list = await createList(app, { name: 'Main' });
  const vip = await createList(app, { name: 'Exclude' });
  await addContacts(app, list.id, Array.from({ length: 20 }, (_, index) => ({ email: `m${index}@mixed.test`, status: 'subscribed' })));
  await addContacts(app, list.id, [{ email: 'postmaster@mixed.test', status: 'subscribed' }]); // a role address: refused by policy
  await addContacts(app, vip.id, [{ email: 'm0@mixed.test', status: 'unsubscribed' }, { email: 'm1@mixed.test', status: 'subscribed' }]);
  await json(await app.api('/suppressions', { method: 'POST', json: { addresses: [{ address: 'm2@mixed.test' }, { address: 'm3@mixed.test', reason: 'HARD_BOUNCE' }] } }), 201);
  const created = await create({ name: 'Mixed', lists: [list.id], excludeLists: [vip.id], text: 'Hello {{email}}', ratePerMinute: 6000 });
  await act(created.id, 'start');
  // Added after the start: not in the audience that was fixed then.
  await addContacts(app, list.id, [{ email: 'late@mixed.test', status: 'subscribed' }]);
  const done = await finished(created.id);
  assert.deepEqual(done.counts, { total: 19, processed: 19, queued: 16, rejected: 2, refused: 1, remaining: 0 });
  const mails = await waitForSink('mixed.test', 16);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const addresses = new Set(sunkTo('mixed.test').map((mail) => mail.to[0]));
  assert.equal(addresses.size, 16);
  assert.equal(mails.length, 16);
  for (const absent of ['m0@mixed.test', 'm1@mixed.test', 'm2@mixed.test', 'm3@mixed.test', 'postmaster@mixed.test', 'late@mixed.test']) assert.ok(!addresses.has(absent), absent);
  const ledger = (await json<{ data: { email: string; outcome: string; refusal: string | null; status: string | null }[] }>(await app.api(`/campaigns/${created.id}/recipients?limit=1000`))).data;
  assert.deepEqual(ledger.filter((entry) => entry.outcome === 'rejected').map((entry) => [entry.email, entry.status]).sort(), [['m2@mixed.test', 'REJECTED'], ['m3@mixed.test', 'REJECTED']]);
  assert.deepEqual(ledger.filter((entry) => entry.outcome === 'refused').map((entry) => [entry.email, entry.refusal]), [['postmaster@mixed.test', 'ROLE_ADDRESS_NOT_ALLOWED']]);
  await app.mailroom.reports!.catchUp();
  const report = await json<{ data: { requested: number; rejected: number } }>(await app.api(`/campaigns/${created.id}/report`));
  assert.equal(report.data.rejected, 2, 'the report counts the suppressed ones as rejected, from the event log');
});

test('pause stops the feeding, resume goes on where it stopped, cancel ends it; nobody is mailed twice', async () => {
  const list = await createList(app, { name: 'Paced' });
  await addContacts(app, list.id, Array.from({ length: 60 }, (_, index) => ({ email: `p${String(index).padStart(2, '0')}@paced.test`, status: 'subscribed' })));
  const created = await create({ name: 'Paced', lists: [list.id], text: 'Paced', ratePerMinute: 600 });
  await act(created.id, 'start');
  await waitForSink('paced.test', 10);
  const paused = await act(created.id, 'pause');
  assert.equal(paused.state, 'paused');
  // What was stored before the pause (the horizon of a paced campaign) still goes out; then nothing.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const atPause = sunkTo('paced.test').length;
  const processed = (await campaign(created.id)).counts.processed;
  assert.equal(atPause, processed, 'every processed contact was sent, no more');
  assert.ok(processed < 60);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.equal(sunkTo('paced.test').length, atPause, 'nothing goes out while paused');
  assert.equal((await json<ErrorBody>(await app.api(`/campaigns/${created.id}/pause`, { method: 'POST' }), 409)).error.code, 'INVALID_CAMPAIGN_STATE');
  await act(created.id, 'resume');
  await finished(created.id, 30_000);
  await waitForSink('paced.test', 60);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const all = sunkTo('paced.test').map((mail) => mail.to[0]);
  assert.equal(all.length, 60);
  assert.equal(new Set(all).size, 60);

  const cancelList = await createList(app, { name: 'Canceled' });
  await addContacts(app, cancelList.id, Array.from({ length: 50 }, (_, index) => ({ email: `c${index}@cancel.test`, status: 'subscribed' })));
  const toCancel = await create({ name: 'Canceled', lists: [cancelList.id], text: 'x', ratePerMinute: 600 });
  await act(toCancel.id, 'start');
  await waitForSink('cancel.test', 5);
  const canceled = await act(toCancel.id, 'cancel');
  assert.equal(canceled.state, 'canceled');
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const sent = sunkTo('cancel.test').length;
  assert.equal(sent, (await campaign(toCancel.id)).counts.processed);
  assert.ok(sent < 50);
  await act(toCancel.id, 'resume', 409);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.equal(sunkTo('cancel.test').length, sent);
});

test('the send rate is held: measured from the sink\'s own timestamps, within 10%', async () => {
  const list = await createList(app, { name: 'Rate' });
  await addContacts(app, list.id, Array.from({ length: 200 }, (_, index) => ({ email: `r${index}@rate.test`, status: 'subscribed' })));
  const created = await create({ name: 'Rate', lists: [list.id], text: 'Rate', ratePerMinute: 1200 });
  await act(created.id, 'start');
  await finished(created.id, 60_000);
  const times = (await waitForSink('rate.test', 200, 60_000)).map((mail) => mail.at).sort((a, b) => a - b);
  // Between the 20th and the 90th percentile of the deliveries: the start (the first connection,
  // the first page on a busy machine, then the catching up) is not the campaign's rate.
  const from = Math.floor(times.length * 0.2);
  const to = Math.floor(times.length * 0.9);
  const perMinute = ((to - from) / (times[to]! - times[from]!)) * 60_000;
  assert.ok(Math.abs(perMinute - 1200) <= 120, `sent at ${perMinute.toFixed(0)} a minute, asked 1200`);
});

test('scheduled: start with sendAt ahead waits for it; test sends are not counted; a template campaign pins its version', async () => {
  const list = await createList(app, { name: 'Scheduled' });
  await addContacts(app, list.id, [{ email: 'a@sched.test', name: 'Ann', attributes: { plan: 'gold' }, status: 'subscribed' }, { email: 'b@sched.test', status: 'subscribed' }]);
  const template = await json<{ data: { id: string } }>(await app.api('/templates', {
    method: 'POST', json: { name: `news-${Date.now()}`, subject: 'For {{name}}', html: '<p>Your plan: {{plan}}</p>', defaults: { name: 'friend', plan: 'basic' } },
  }), 201);
  const sendAt = new Date(Date.now() + 2_500).toISOString();
  const created = await create({ name: 'Later', lists: [list.id], subject: null, templateId: template.data.id, sendAt });
  const test = await json<{ data: { to: string; id?: string; error?: { code: string } }[] }>(await app.api(`/campaigns/${created.id}/test`, { method: 'POST', json: { to: ['a@sched.test', 'qa@tester.test'] } }));
  assert.equal(test.data.length, 2);
  assert.ok(test.data.every((result) => result.id), JSON.stringify(test.data));
  const scheduled = await act(created.id, 'start');
  assert.equal(scheduled.state, 'scheduled');
  assert.equal(scheduled.templateVersion, 1);
  // The template changes after the start: the campaign sends the version it pinned.
  await json(await app.api(`/templates/${template.data.id}`, { method: 'PUT', json: { subject: 'CHANGED', html: '<p>changed</p>' } }));
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal((await campaign(created.id)).state, 'scheduled');
  const done = await finished(created.id);
  assert.equal(done.counts.queued, 2);
  await waitForSink('sched.test', 3);
  const toAnn = await Promise.all(sunkTo('sched.test').filter((mail) => mail.to[0] === 'a@sched.test').map((mail) => simpleParser(mail.raw)));
  assert.deepEqual(toAnn.map((mail) => mail.subject).sort(), ['For Ann', 'For Ann']);
  assert.ok(toAnn.every((mail) => String(mail.html).includes('Your plan: gold')));
  const toB = await simpleParser(sunkTo('sched.test').find((mail) => mail.to[0] === 'b@sched.test')!.raw);
  assert.equal(toB.subject, 'For friend');
  assert.equal(await countOf(app.mailroom.db, `SELECT count(*) AS n FROM messages WHERE campaign_id = '${created.id}'`), 2, 'the test sends carry no campaignId');
});

test('an unsubscribe from a campaign message removes the contact from the campaign\'s lists and suppresses the address', async () => {
  const list = await createList(app, { name: 'Unsub' });
  await addContacts(app, list.id, [{ email: 'leaver@unsub.test', status: 'subscribed' }, { email: 'stayer@unsub.test', status: 'subscribed' }]);
  const created = await create({ name: 'Unsub', lists: [list.id], html: '<p>bye</p>' });
  await act(created.id, 'start');
  const [mail] = await waitForSink('unsub.test', 2).then((mails) => mails.filter((message) => message.to[0] === 'leaver@unsub.test'));
  const unsubscribe = /^List-Unsubscribe:\s*<(http[^>]+)>/m.exec(mail!.raw.toString('latin1'))![1]!;
  const local = new URL(unsubscribe);
  const response = await fetch(`${app.url}${local.pathname}${local.search}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  assert.ok(response.status < 300, String(response.status));
  const statuses = new Map((await members(app, list.id)).map((member) => [member.email, member.listStatus]));
  assert.equal(statuses.get('leaver@unsub.test'), 'unsubscribed');
  assert.equal(statuses.get('stayer@unsub.test'), 'subscribed');
  const suppression = await app.api('/suppressions/leaver@unsub.test');
  assert.equal(suppression.status, 200);
});

test('validation, states and tenant isolation on every campaign route', async () => {
  const list = await createList(app, { name: 'Iso' });
  const bad = await json<ErrorBody>(await app.api('/campaigns', { method: 'POST', json: { name: 'x', from: 'not an address', subject: null, lists: [list.id] } }), 400);
  assert.deepEqual(bad.error.details.map((detail) => detail.field).sort(), ['from', 'subject', 'text']);
  const badSyntax = await json<ErrorBody>(await app.api('/campaigns', { method: 'POST', json: { name: 'x', from: 'news@elipackage.com', subject: 'Hi {{#open}}', text: 'x', lists: [list.id] } }), 400);
  assert.equal(badSyntax.error.details[0]!.field, 'subject');
  const unknownList = await json<ErrorBody>(await app.api('/campaigns', { method: 'POST', json: { name: 'x', from: 'news@elipackage.com', subject: 's', text: 't', lists: ['list_0000000000000000000000'] } }), 422);
  assert.equal(unknownList.error.code, 'LIST_NOT_FOUND');
  const unverified = await create({ name: 'Unverified', from: 'someone@unverified.test', lists: [list.id], text: 't' });
  const refused = await json<ErrorBody>(await app.api(`/campaigns/${unverified.id}/start`, { method: 'POST' }), 403);
  assert.equal(refused.error.code, 'SENDER_NOT_VERIFIED');
  assert.equal((await campaign(unverified.id)).state, 'draft');

  const mine = await create({ name: 'Mine', lists: [list.id], text: 't' });
  const patched = await json<{ data: { name: string; subject: string } }>(await app.api(`/campaigns/${mine.id}`, { method: 'PATCH', json: { name: 'Renamed', subject: 'New' } }));
  assert.deepEqual([patched.data.name, patched.data.subject], ['Renamed', 'New']);
  // null clears a field (it was once coerced to "" or false by the validator).
  const scheduled = await json<{ data: { sendAt: string | null; trackOpens: boolean | null } }>(await app.api(`/campaigns/${mine.id}`, { method: 'PATCH', json: { sendAt: new Date(Date.now() + 3_600_000).toISOString(), trackOpens: false } }));
  assert.deepEqual([typeof scheduled.data.sendAt, scheduled.data.trackOpens], ['string', false]);
  const cleared = await json<{ data: { sendAt: string | null; trackOpens: boolean | null } }>(await app.api(`/campaigns/${mine.id}`, { method: 'PATCH', json: { sendAt: null, trackOpens: null } }));
  assert.deepEqual([cleared.data.sendAt, cleared.data.trackOpens], [null, null]);
  // Not started: its report is zeros, not a 404.
  assert.equal((await json<{ data: { requested: number } }>(await app.api(`/campaigns/${mine.id}/report`))).data.requested, 0);
  const other = await otherAccountKey(app, `campaign-intruder-${Date.now()}`);
  const otherList = await createList(app, { name: 'Theirs' }, other);
  // Another account's list cannot be an audience; its key sees none of this account's campaigns.
  const theirs = await json<ErrorBody>(await app.api('/campaigns', { method: 'POST', key: other, json: { name: 'x', from: 'news@elipackage.com', subject: 's', text: 't', lists: [list.id] } }), 422);
  assert.equal(theirs.error.code, 'LIST_NOT_FOUND');
  for (const [method, path, body] of [
    ['GET', `/campaigns/${mine.id}`], ['PATCH', `/campaigns/${mine.id}`, { name: 'stolen' }], ['DELETE', `/campaigns/${mine.id}`],
    ['POST', `/campaigns/${mine.id}/start`], ['POST', `/campaigns/${mine.id}/pause`], ['POST', `/campaigns/${mine.id}/resume`], ['POST', `/campaigns/${mine.id}/cancel`],
    ['POST', `/campaigns/${mine.id}/test`, { to: ['x@example.com'] }], ['GET', `/campaigns/${mine.id}/recipients`], ['GET', `/campaigns/${mine.id}/report`],
    ['GET', `/campaigns/${mine.id}/links`], ['GET', `/campaigns/${mine.id}/recipients.csv?event=delivered`],
  ] as const) {
    const response = await app.api(path, { method, key: other, ...(body ? { json: body } : {}) });
    assert.equal(response.status, 404, `${method} ${path}: ${await response.text()}`);
  }
  const theirList = (await json<{ data: { id: string }[] }>(await app.api('/campaigns', { key: other }))).data;
  assert.equal(theirList.length, 0);
  assert.ok(otherList.id);
  assert.equal((await campaign(mine.id)).state, 'draft');

  // States: a draft cannot pause or resume; a running campaign cannot be edited or deleted.
  assert.equal((await json<ErrorBody>(await app.api(`/campaigns/${mine.id}/pause`, { method: 'POST' }), 409)).error.code, 'INVALID_CAMPAIGN_STATE');
  assert.equal((await json<ErrorBody>(await app.api(`/campaigns/${mine.id}/resume`, { method: 'POST' }), 409)).error.code, 'INVALID_CAMPAIGN_STATE');
  assert.equal((await app.api(`/campaigns/${mine.id}/explode`, { method: 'POST' })).status, 400);
  assert.equal((await app.api('/campaigns/not-an-id')).status, 404);
  assert.equal((await app.api('/campaigns/cmp_%00')).status, 400);
  await act(mine.id, 'cancel');
  assert.equal((await json<ErrorBody>(await app.api(`/campaigns/${mine.id}`, { method: 'PATCH', json: { name: 'late' } }), 409)).error.code, 'INVALID_CAMPAIGN_STATE');
  const deleted = await json<{ data: { deleted: boolean } }>(await app.api(`/campaigns/${mine.id}`, { method: 'DELETE' }));
  assert.equal(deleted.data.deleted, true);
  assert.equal((await app.api(`/campaigns/${mine.id}`)).status, 404);
});
