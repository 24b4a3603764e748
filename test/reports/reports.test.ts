import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { ReportConsumer } from '../../src/reports/consumer.js';
import { recipientCsv, type RecipientEvent } from '../../src/reports/exports.js';
import { createLogger } from '../../src/shared/log.js';
import { otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';
import { assertRollupsMatchRecount } from '../helpers/reportRecount.js';

/**
 * The report routes over a known event log. Events are written straight into message_events
 * (with the times each case needs, days apart) by the statements' own INSERT, so the backlog
 * trigger sees them as it sees any; the consumer then folds them, and every answer is checked
 * against counts worked out by hand, and the rollups against a recount.
 */
let app: TestApp;
let consumer: ReportConsumer;
let accountId: number;
let otherKey: string;
let bulkKey: string;

const D1 = '2026-03-01';
const D2 = '2026-03-02';
const D3 = '2026-03-05';
const U1 = 'https://shop.example/sale';
const U2 = 'https://shop.example/terms?a=1';

type EventSpec = [type: string, at: string, details?: Record<string, unknown>];

async function accountOf(name: string): Promise<number> {
  return (await app.mailroom.db.query<{ id: number }>('SELECT id FROM accounts WHERE name = $1', [name]))[0]!.id;
}

async function message(account: number, id: string, fields: { to: string; campaign?: string; tags?: string[]; external?: string; client?: string }, events: EventSpec[]): Promise<void> {
  await app.mailroom.db.query(
    `INSERT INTO messages (id, account_id, operator_id, status, to_address, from_address, subject, external_id, client_id, campaign_id, tags, envelope, content, message_id_hdr, created_at, updated_at)
     VALUES ($1, $2, 1, 'QUEUED', $3, 'promo@elipackage.com', 's', $4, $5, $6, $7, '{}', '{}', 'h', now(), now())`,
    [id, account, fields.to, fields.external ?? null, fields.client ?? null, fields.campaign ?? null, JSON.stringify(fields.tags ?? [])],
  );
  await events_(account, id, events);
}

async function events_(account: number, id: string, events: EventSpec[]): Promise<void> {
  await app.mailroom.db.query(
    `INSERT INTO message_events (message_id, account_id, type, created_at, details)
     SELECT $1, $2, e.type, e.at, e.details FROM jsonb_to_recordset($3::jsonb) AS e(type text, at timestamptz, details jsonb)`,
    [id, account, JSON.stringify(events.map(([type, at, details]) => ({ type, at, details: details ?? {} })))],
  );
}

const human = (url?: string) => ({ machine: false, ...(url ? { url } : {}) });
const machine = (url?: string) => ({ machine: true, agent: 'google-image-proxy', ...(url ? { url } : {}) });

before(async () => {
  app = await startTestApp({ MAILROOM_ROLES: 'api' });
  consumer = new ReportConsumer(app.mailroom.db, createLogger('silent'), { batchSize: 50 });
  otherKey = await otherAccountKey(app, 'reports-other');
  bulkKey = await otherAccountKey(app, 'reports-bulk');
  accountId = await accountOf('default');
  const other = await accountOf('reports-other');
  const bulk = await accountOf('reports-bulk');

  await message(accountId, 'm1', { to: 'a@gmail.com', campaign: 'alpha', tags: ['news'], external: 'x1', client: 'k1' }, [
    ['QUEUED', `${D1}T10:05:00Z`], ['DELIVERED', `${D1}T10:06:00Z`],
    ['OPENED', `${D1}T10:30:00Z`, machine()], ['OPENED', `${D1}T11:00:00Z`, human()], ['OPENED', `${D2}T09:00:00Z`, human()],
    ['CLICKED', `${D1}T11:01:00Z`, human(U1)], ['CLICKED', `${D2}T09:01:00Z`, human(U1)], ['CLICKED', `${D2}T09:02:00Z`, human(U2)],
    ['CLICKED', `${D2}T09:03:00Z`, machine(U2)],
  ]);
  await message(accountId, 'm2', { to: 'b@yahoo.com', campaign: 'alpha', tags: ['news', 'vip', 'news'] }, [
    ['QUEUED', `${D1}T10:05:00Z`], ['BOUNCED', `${D1}T10:07:00Z`, { bounceClass: 'HARD', reason: 'userunknown', code: 550, enhancedCode: '5.1.1', reply: '550 5.1.1 no such user' }],
  ]);
  await message(accountId, 'm3', { to: 'c@gmail.com', campaign: 'alpha' }, [
    ['QUEUED', `${D1}T23:30:00Z`], ['DEFERRED', `${D1}T23:31:00Z`], ['DELIVERED', `${D2}T00:30:00Z`],
    ['COMPLAINED', `${D2}T05:00:00Z`, { recipient: 'c@gmail.com', feedbackType: 'abuse' }], ['UNSUBSCRIBED', `${D2}T05:00:00Z`, { via: 'one-click' }],
  ]);
  await message(accountId, 'm4', { to: 'd@Gmail.COM', campaign: 'beta', tags: ['vip'], external: 'x2' }, [
    ['SCHEDULED', `${D3}T08:00:00Z`], ['REJECTED', `${D3}T08:10:00Z`, { reason: 'CANCELED' }],
  ]);
  await message(accountId, 'm5', { to: 'e@outlook.com', client: '=HYPERLINK("http://evil.example")' }, [
    ['QUEUED', `${D3}T12:00:00Z`], ['SENT', `${D3}T12:01:00Z`], ['BOUNCED', `${D3}T13:00:00Z`, { async: true, bounceClass: 'SOFT', reason: 'mailboxfull' }],
    ['OPENED', `${D3}T14:00:00Z`, machine()],
  ]);
  // Another account with a campaign of the same id.
  await message(other, 'o1', { to: 'z@gmail.com', campaign: 'alpha' }, [['QUEUED', `${D1}T10:00:00Z`], ['DELIVERED', `${D1}T10:01:00Z`]]);
  // A third account's campaign of 2,100 recipients (several pages of an export when they are small).
  await app.mailroom.db.query(
    `INSERT INTO messages (id, account_id, operator_id, status, to_address, from_address, subject, external_id, campaign_id, tags, envelope, content, message_id_hdr, created_at, updated_at)
     SELECT 'b' || lpad(n::text, 5, '0'), $1, 1, 'DELIVERED', 'u' || n || '@bulk.test', 'promo@elipackage.com', 's', 'ext-' || n, 'bulk', '[]', '{}', '{}', 'h', now(), now()
     FROM generate_series(1, 2100) n`,
    [bulk],
  );
  await app.mailroom.db.query(
    `INSERT INTO message_events (message_id, account_id, type, created_at, details)
     SELECT 'b' || lpad(n::text, 5, '0'), $1, t.type, timestamptz '${D1}T08:00:00Z' + t.k * interval '1 minute', t.details
     FROM generate_series(1, 2100) n
     CROSS JOIN LATERAL (VALUES
       (1, 'QUEUED', '{}'::jsonb, true),
       (2, CASE WHEN n % 100 = 0 THEN 'BOUNCED' ELSE 'DELIVERED' END, CASE WHEN n % 100 = 0 THEN '{"bounceClass":"HARD","reason":"userunknown","code":550,"reply":"=cmd|x"}'::jsonb ELSE '{}'::jsonb END, true),
       (3, 'OPENED', '{"machine":false}'::jsonb, n % 7 = 0),
       (4, 'CLICKED', jsonb_build_object('machine', false, 'url', 'https://bulk.example/' || (n % 3)), n % 10 = 0),
       (5, 'CLICKED', jsonb_build_object('machine', false, 'url', 'https://bulk.example/x'), n % 50 = 0)
     ) t (k, type, details, wanted)
     WHERE t.wanted`,
    [bulk],
  );
  await consumer.catchUp();
});
after(async () => app?.stop());

interface Row { key: string; [field: string]: unknown }

async function getJson<T = { data: Row[]; meta: { pagination: { nextCursor: string | null } } }>(path: string, key?: string): Promise<T> {
  const response = await app.api(path, key ? { key } : {});
  assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
  return (await response.json()) as T;
}

/** The rows of a report as { key: [fields...] }. */
async function rows(path: string, fields: string[], key?: string): Promise<Record<string, unknown[]>> {
  const body = await getJson(path, key);
  return Object.fromEntries(body.data.map((row) => [row.key, fields.map((field) => row[field])]));
}

async function status(path: string, key?: string): Promise<{ status: number; code: string | undefined }> {
  const response = await app.api(path, key ? { key } : {});
  const body = (await response.json().catch(() => ({}))) as { error?: { code: string } };
  return { status: response.status, code: body.error?.code };
}

describe('grouped reports', () => {
  test('by campaign: counts and rates of the account\'s own messages only', async () => {
    const body = await getJson('/reports?groupBy=campaign');
    assert.deepEqual(body.data.map((row) => row.key), ['alpha', 'beta']);
    const alpha = body.data[0]!;
    assert.deepEqual(
      [alpha.requested, alpha.delivered, alpha.deferred, alpha.bounced, alpha.bouncedHard, alpha.bouncedSoft, alpha.complained, alpha.unsubscribed],
      [3, 2, 1, 1, 1, 0, 1, 1],
    );
    assert.deepEqual([alpha.opened, alpha.openedUnique, alpha.openedMachine, alpha.clicked, alpha.clickedUnique, alpha.clickedMachine], [2, 1, 1, 3, 1, 1]);
    assert.deepEqual([alpha.deliveryRate, alpha.bounceRate, alpha.complaintRate, alpha.openRate, alpha.clickRate, alpha.clickToOpenRate], [0.6667, 0.3333, 0.5, 0.5, 0.5, 1]);
    const beta = body.data[1]!;
    assert.deepEqual([beta.requested, beta.rejected, beta.deliveryRate, beta.complaintRate, beta.clickToOpenRate], [1, 1, 0, null, null]);
    assert.equal(body.meta.pagination.nextCursor, null);
  });

  test('by externalId, clientId, tag (a row per distinct tag of a message) and recipient domain (lower-cased)', async () => {
    assert.deepEqual(await rows('/reports?groupBy=externalId', ['requested', 'delivered', 'rejected']), { x1: [1, 1, 0], x2: [1, 0, 1] });
    assert.deepEqual(await rows('/reports?groupBy=clientId', ['requested', 'sent', 'bouncedSoft', 'openedMachine']), { k1: [1, 0, 0, 1], '=HYPERLINK("http://evil.example")': [1, 1, 1, 1] });
    assert.deepEqual(await rows('/reports?groupBy=tag', ['requested', 'bouncedHard', 'rejected']), { news: [2, 1, 0], vip: [2, 1, 1] });
    assert.deepEqual(await rows('/reports?groupBy=domain', ['requested', 'delivered', 'sent', 'bounced']), {
      'gmail.com': [3, 2, 0, 0], 'outlook.com': [1, 0, 1, 1], 'yahoo.com': [1, 0, 0, 1],
    });
  });

  test('by day and by hour: UTC buckets that have counts, in time order', async () => {
    assert.deepEqual(await rows('/reports?groupBy=day', ['requested', 'delivered', 'opened']), {
      [D1]: [3, 1, 1], [D2]: [0, 1, 1], [D3]: [2, 0, 0],
    });
    const hours = await rows(`/reports?groupBy=hour&from=${D1}T10:00:00Z&to=${D1}T12:00:00Z`, ['requested', 'openedUnique', 'openedMachine', 'clickedUnique']);
    assert.deepEqual(hours, { [`${D1}T10:00:00Z`]: [2, 0, 1, 0], [`${D1}T11:00:00Z`]: [0, 1, 0, 1] });
  });

  test('from/to: an hour counts when its start is in [from, to); days and edge hours add up', async () => {
    // Everything from D1 23:00 to D2 06:00: m3's whole story but its acceptance (23:30 is in).
    assert.deepEqual(await rows(`/reports?groupBy=campaign&from=${D1}T23:00:00Z&to=${D2}T06:00:00Z`, ['requested', 'deferred', 'delivered', 'complained']), { alpha: [1, 1, 1, 1] });
    assert.deepEqual(await rows(`/reports?groupBy=campaign&from=${D1}T23:30:00Z&to=${D2}T06:00:00Z`, ['requested', 'delivered']), { alpha: [0, 1] });
    // Whole days plus edge hours: from D1 11:00 to D3 12:59 (m5's QUEUED at 12:00 counts, its SENT at 12:01 too: same hour).
    const span = await rows(`/reports?groupBy=tag&from=${D1}T11:00:00Z&to=${D3}T12:59:00Z`, ['requested', 'opened', 'clicked', 'rejected']);
    assert.deepEqual(span, { news: [0, 2, 3, 0], vip: [1, 0, 0, 1] });
    assert.deepEqual(await rows(`/reports?groupBy=domain&from=${D3}`, ['requested', 'sent']), { 'gmail.com': [1, 0], 'outlook.com': [1, 1] });
    // Kept per day: a whole UTC day in any zone is taken.
    assert.deepEqual(await rows('/reports?groupBy=domain&from=2026-03-05T01:00:00%2B01:00', ['requested']), { 'gmail.com': [1], 'outlook.com': [1] });
    assert.deepEqual(await rows(`/reports?groupBy=campaign&to=${D1}T10:00:00Z`, ['requested']), {});
  });

  test('filters where a combined rollup exists; other combinations are refused, not scanned', async () => {
    assert.deepEqual(await rows('/reports?groupBy=domain&campaignId=alpha', ['requested', 'delivered']), { 'gmail.com': [2, 2], 'yahoo.com': [1, 0] });
    assert.deepEqual(await rows('/reports?groupBy=tag&campaignId=alpha', ['requested']), { news: [2], vip: [1] });
    assert.deepEqual(await rows('/reports?groupBy=tag&campaignId=alpha&tag=vip', ['requested']), { vip: [1] });
    assert.deepEqual(await rows('/reports?groupBy=domain&tag=vip', ['requested', 'rejected']), { 'gmail.com': [1, 1], 'yahoo.com': [1, 0] });
    assert.deepEqual(await rows('/reports?groupBy=campaign&campaignId=beta', ['requested']), { beta: [1] });
    assert.deepEqual(await rows('/reports?groupBy=tag&tag=news', ['requested']), { news: [2] });
    assert.deepEqual(await rows('/reports?groupBy=day&campaignId=alpha', ['requested', 'delivered']), { [D1]: [3, 1], [D2]: [0, 1] });
    assert.deepEqual(await rows('/reports?groupBy=day&tag=vip', ['requested']), { [D1]: [1], [D3]: [1] });
    assert.deepEqual(await rows('/reports?groupBy=day&campaignId=alpha&tag=news', ['requested', 'opened']), { [D1]: [2, 1], [D2]: [0, 1] });
    for (const query of ['groupBy=externalId&campaignId=alpha', 'groupBy=clientId&tag=vip', 'groupBy=campaign&tag=vip', 'groupBy=domain&campaignId=alpha&tag=vip']) {
      assert.deepEqual(await status(`/reports?${query}`), { status: 400, code: 'VALIDATION_ERROR' }, query);
    }
  });

  test('pages follow nextCursor to the end, in key order', async () => {
    const keys: string[] = [];
    let cursor: string | null = '';
    for (let page = 0; cursor !== null && page < 10; page += 1) {
      const body: { data: Row[]; meta: { pagination: { nextCursor: string | null } } } = await getJson(`/reports?groupBy=domain&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      keys.push(...body.data.map((row) => row.key));
      cursor = body.meta.pagination.nextCursor;
    }
    assert.deepEqual(keys, ['gmail.com', 'outlook.com', 'yahoo.com']);
    const days = await getJson(`/reports?groupBy=day&limit=2`);
    assert.deepEqual(days.data.map((row) => row.key), [D1, D2]);
    const rest = await getJson(`/reports?groupBy=day&limit=2&cursor=${days.meta.pagination.nextCursor}`);
    assert.deepEqual([rest.data.map((row) => row.key), rest.meta.pagination.nextCursor], [[D3], null]);
  });

  test('CSV: every row, the JSON fields as columns, cells neutralised against formulas', async () => {
    const response = await app.api('/reports?groupBy=clientId&format=csv');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/csv/);
    const text = await response.text();
    const [header, ...lines] = parse(text) as string[][];
    assert.deepEqual(header!.slice(0, 4), ['clientId', 'requested', 'sent', 'delivered']);
    assert.ok(header!.includes('clickToOpenRate'));
    assert.deepEqual(lines.map((line) => line[0]), ['\'=HYPERLINK("http://evil.example")', 'k1']);
    const json = await getJson('/reports?groupBy=clientId');
    assert.deepEqual(lines.map((line) => line.slice(1).map(Number)), json.data.map((row) => header!.slice(1).map((field) => Number(row[field] ?? 0))));
  });
});

describe('time series', () => {
  test('every bucket of the range, zeros included, for the account, a campaign, a tag', async () => {
    const series = (await getJson<{ data: { points: Row[] } }>(`/reports/timeseries?from=${D1}&to=2026-03-06`)).data.points;
    assert.deepEqual(series.map((point) => [point.time, point.requested]), [[D1, 3], [D2, 0], ['2026-03-03', 0], ['2026-03-04', 0], [D3, 2]]);
    const hourly = (await getJson<{ data: { points: Row[] } }>(`/reports/timeseries?interval=hour&campaignId=alpha&from=${D1}T22:00:00Z&to=${D2}T01:00:00Z`)).data.points;
    assert.deepEqual(hourly.map((point) => [point.time, point.requested, point.deferred, point.delivered]), [
      [`${D1}T22:00:00Z`, 0, 0, 0], [`${D1}T23:00:00Z`, 1, 1, 0], [`${D2}T00:00:00Z`, 0, 0, 1],
    ]);
    const vip = (await getJson<{ data: { points: Row[] } }>(`/reports/timeseries?tag=vip&from=${D3}&to=${D3}T23:00:00Z`)).data.points;
    assert.deepEqual(vip.map((point) => [point.time, point.rejected]), [[D3, 1]]);
    const byDefault = (await getJson<{ data: { points: Row[]; from: string; to: string } }>('/reports/timeseries')).data;
    assert.equal(byDefault.points.length, 30);
    const csv = await app.api(`/reports/timeseries?from=${D1}&to=${D2}T12:00:00Z&format=csv`);
    assert.deepEqual((parse(await csv.text()) as string[][]).map((line) => line.slice(0, 2)), [['day', 'requested'], [D1, '3'], [D2, '0']]);
  });
});

describe('campaign report, links and per-recipient exports', () => {
  test('a campaign\'s totals and its links, most clicked first; the links as CSV', async () => {
    const { data } = await getJson<{ data: Row & { links: { url: string; clicked: number; clickedUnique: number; clickedMachine: number }[]; linkCount: number } }>('/campaigns/alpha/report');
    assert.deepEqual([data.requested, data.delivered, data.clickedUnique], [3, 2, 1]);
    assert.deepEqual(data.links, [
      { url: U1, clicked: 2, clickedUnique: 1, clickedMachine: 0 },
      { url: U2, clicked: 1, clickedUnique: 1, clickedMachine: 1 },
    ]);
    assert.equal(data.linkCount, 2);
    const csv = parse(await (await app.api('/campaigns/alpha/links?format=csv')).text()) as string[][];
    assert.deepEqual(csv[0], ['url', 'clicked', 'clickedUnique', 'clickedMachine']);
    assert.deepEqual(csv.slice(1).sort(), [[U1, '2', '1', '0'], [U2, '1', '1', '1']]);
    const report = parse(await (await app.api('/campaigns/alpha/report?format=csv')).text()) as string[][];
    assert.deepEqual([report[0]![0], report[1]![0], report[1]![1]], ['campaignId', 'alpha', '3']);
  });

  test('exports stream every matching recipient, page after page', async () => {
    const bulk = await accountOf('reports-bulk');
    const csv = async (event: string) => {
      const response = await app.api(`/campaigns/bulk/recipients.csv?event=${event}`, { key: bulkKey });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('transfer-encoding'), 'chunked', 'streamed, not buffered');
      const text = await response.text();
      // The same export in pages of 700 messages (a page ends inside no message's rows).
      let paged = '';
      for await (const chunk of recipientCsv(app.mailroom.db, bulk, 'bulk', event as RecipientEvent, 700)) paged += chunk;
      assert.equal(paged, text, `${event}: pages of 700 give the same file`);
      return parse(text) as string[][];
    };
    const delivered = await csv('delivered');
    assert.deepEqual(delivered[0], ['messageId', 'email', 'externalId', 'deliveredAt', 'status']);
    assert.equal(delivered.length - 1, 2100 - 21);
    assert.deepEqual(delivered[1], ['b00001', 'u1@bulk.test', 'ext-1', `${D1}T08:02:00.000Z`, 'DELIVERED']);
    assert.equal(new Set(delivered.slice(1).map((line) => line[0])).size, 2079, 'no recipient twice across pages');
    const opened = await csv('opened');
    assert.equal(opened.length - 1, 300);
    assert.deepEqual(opened[1], ['b00007', 'u7@bulk.test', 'ext-7', `${D1}T08:03:00.000Z`, '1', '0']);
    const clicked = await csv('clicked');
    assert.equal(clicked.length - 1, 210 + 42);
    assert.deepEqual(clicked.filter((line) => line[0] === 'b00050').map((line) => line[3]), ['https://bulk.example/2', 'https://bulk.example/x']);
    const bounced = await csv('bounced');
    assert.equal(bounced.length - 1, 21);
    assert.deepEqual(bounced[1]!.slice(0, 8), ['b00100', 'u100@bulk.test', 'ext-100', `${D1}T08:02:00.000Z`, 'HARD', 'userunknown', '550', '']);
    assert.equal(bounced[1]![8], '\'=cmd|x', 'a reply starting with = is neutralised');
    assert.deepEqual(await csv('complained'), [['messageId', 'email', 'externalId', 'complainedAt', 'feedbackType', 'recipient']]);
    const unsubscribed = parse(await (await app.api('/campaigns/alpha/recipients.csv?event=unsubscribed')).text()) as string[][];
    assert.deepEqual(unsubscribed.slice(1), [['m3', 'c@gmail.com', '', `${D2}T05:00:00.000Z`, 'one-click']]);
  });

  test('the bulk campaign agrees with a recount; a unique open counted before an earlier one moves to the earlier hour', async () => {
    // An open whose transaction committed after a later open of the same message: its id is lower.
    await message(accountId, 'm9', { to: 'late@gmail.com', campaign: 'gamma' }, [['QUEUED', `${D1}T09:00:00Z`]]);
    await events_(accountId, 'm9', [['OPENED', `${D1}T09:10:00Z`, human()], ['OPENED', `${D1}T15:00:00Z`, human()]]);
    const [early, late] = (await app.mailroom.db.query<{ id: number }>("SELECT id FROM message_events WHERE message_id = 'm9' AND type = 'OPENED' ORDER BY id")).map((row) => row.id);
    await app.mailroom.db.query('UPDATE report_backlog SET event_ids = array_remove(event_ids, $1::bigint), events = events - 1 WHERE $1::bigint = ANY (event_ids)', [early]);
    await consumer.catchUp();
    const before = await rows(`/reports?groupBy=hour&campaignId=gamma`, ['opened', 'openedUnique']);
    assert.deepEqual(before, { [`${D1}T09:00:00Z`]: [0, 0], [`${D1}T15:00:00Z`]: [1, 1] });
    assert.ok(late! > early!);
    await app.mailroom.db.query('INSERT INTO report_backlog (event_ids, events) VALUES (ARRAY[$1::bigint], 1)', [early]);
    await consumer.catchUp();
    const after = await rows(`/reports?groupBy=hour&campaignId=gamma`, ['opened', 'openedUnique']);
    assert.deepEqual(after, { [`${D1}T09:00:00Z`]: [1, 1], [`${D1}T15:00:00Z`]: [1, 0] });
    await assertRollupsMatchRecount(app.mailroom.db);
  });
});

describe('tenant isolation and bad parameters', () => {
  test('another account sees its own numbers, never this one\'s; a campaign it lacks is 404', async () => {
    assert.deepEqual(await rows('/reports?groupBy=campaign', ['requested', 'delivered'], otherKey), { alpha: [1, 1] });
    assert.deepEqual((await getJson<{ data: Row }>('/campaigns/alpha/report', otherKey)).data.requested, 1);
    assert.deepEqual(await rows('/reports?groupBy=domain', ['requested'], otherKey), { 'gmail.com': [1] });
    const series = (await getJson<{ data: { points: Row[] } }>(`/reports/timeseries?from=${D1}&to=${D2}`, otherKey)).data.points;
    assert.deepEqual(series.map((point) => point.requested), [1]);
    for (const path of ['/campaigns/beta/report', '/campaigns/beta/links', '/campaigns/beta/links?format=csv', '/campaigns/beta/recipients.csv?event=delivered', '/campaigns/bulk/report']) {
      assert.deepEqual(await status(path, otherKey), { status: 404, code: 'NOT_FOUND' }, path);
    }
    const anonymous = await app.api('/reports?groupBy=campaign', { key: null });
    assert.equal(anonymous.status, 401);
  });

  test('bad parameters are 400 VALIDATION_ERROR, never 500', async () => {
    const bad = [
      '/reports', '/reports?groupBy=week', '/reports?groupBy=campaign&limit=0', '/reports?groupBy=campaign&limit=-1',
      '/reports?groupBy=campaign&limit=99999999999999999999', '/reports?groupBy=campaign&from=yesterday',
      '/reports?groupBy=campaign&from=2026-03-01T10:00', '/reports?groupBy=domain&from=2026-03-01T10:00:00Z',
      '/reports?groupBy=externalId&to=2026-03-01T00:30:00Z', '/reports?groupBy=domain&campaignId=alpha&from=2026-03-01T10:00:00Z',
      '/reports?groupBy=domain&tag=news&to=2026-03-01T01:00:00%2B01:30', '/reports?groupBy=campaign&from=99999-01-01',
      '/reports?groupBy=campaign&from=1969-12-31', '/reports?groupBy=campaign&from=2026-03-02&to=2026-03-01',
      '/reports?groupBy=campaign&from=2026-02-30T25:00:00Z', '/reports?groupBy=campaign&from=%00',
      '/reports?groupBy=campaign&campaignId=%00', `/reports?groupBy=campaign&campaignId=${'c'.repeat(257)}`,
      '/reports?groupBy=campaign&cursor=%%%', '/reports?groupBy=campaign&cursor=dA', '/reports?groupBy=day&cursor=a2FscGhh',
      `/reports?groupBy=campaign&cursor=${Buffer.from([0x6b, 0xff]).toString('base64url')}`, `/reports?groupBy=campaign&cursor=${Buffer.from('k\u0000').toString('base64url')}`,
      '/reports/timeseries?interval=week', '/reports/timeseries?interval=hour&from=2000-01-01&to=2026-01-01',
      '/campaigns/alpha/recipients.csv', '/campaigns/alpha/recipients.csv?event=sent', '/campaigns/alpha/report?links=-1',
      '/campaigns/alpha/report?format=xml',
    ];
    for (const path of bad) assert.deepEqual(await status(path), { status: 400, code: 'VALIDATION_ERROR' }, path);
    assert.deepEqual(await status('/campaigns/%00/report'), { status: 400, code: 'VALIDATION_ERROR' });
    assert.deepEqual(await status('/campaigns/nothing-here/report'), { status: 404, code: 'NOT_FOUND' });
  });
});
