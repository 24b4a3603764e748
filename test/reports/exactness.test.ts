import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import pg from 'pg';
import type { Database } from '../../src/db/database.js';
import { foldBacklog, foldInTransaction } from '../../src/reports/consumer.js';
import { eventually, SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';
import { countOf, createTestStore, onPostgres, type TestStore } from '../helpers/database.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';
import { freePort, prepareStore } from '../helpers/process.js';
import { assertRollupsMatchRecount } from '../helpers/reportRecount.js';
import { startSmtpSink } from '../helpers/smtpSink.js';

/**
 * Issue 16's exactness test: a mixed run with real parts (deliveries over SMTP to a local MX sink
 * found through a DNS server, deferrals and bounces at RCPT, DSNs and a complaint through
 * Mailroom's inbound MX, opens, clicks and one-click unsubscribes over HTTP from the delivered
 * MIME, suppression rejections and a cancel), then every rollup is compared with a recount from
 * the event log (test/helpers/reportRecount.ts). Then the same log is counted again by two
 * consumers at once, and by a consumer killed in the middle of a batch.
 */
const BOUNCE_DOMAIN = 'bounces.mailroom.test';
let app: TestApp;
let store: TestStore;
let dns: TestDnsServer;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let mxPort: number;

before(async () => {
  const port = await freePort();
  mxPort = await freePort();
  sink = await startSmtpSink({
    port,
    rcptReply: (address) => {
      if (address.startsWith('nobody')) return [550, '5.1.1 <nobody>: Recipient address rejected: User unknown'];
      if (address.startsWith('full')) return [552, '5.2.2 Mailbox full'];
      if (address.startsWith('later')) return [451, '4.7.1 Greylisted, try again later'];
      return null;
    },
  });
  dns = await startDnsServer({
    'customer.test': { MX: [{ exchange: 'mx.customer.test', priority: 10 }] },
    'other.test': { MX: [{ exchange: 'mx.customer.test', priority: 10 }] },
    'mx.customer.test': { A: ['127.0.0.1'] },
  });
  store = await createTestStore();
  const encryptionKey = randomBytes(32);
  await prepareStore(store, ['elipackage.com'], encryptionKey);
  app = await startTestApp({
    MAILROOM_ROLES: 'api,worker,mx',
    MAILROOM_TRANSPORT: 'mx',
    MAILROOM_DNS_SERVERS: dns.address,
    MAILROOM_MX_DELIVERY_PORT: String(port),
    MAILROOM_MX_PORT: String(mxPort),
    MAILROOM_BOUNCE_DOMAIN: BOUNCE_DOMAIN,
    MAILROOM_ENCRYPTION_KEY: encryptionKey.toString('base64'),
  }, { store });
});

after(async () => {
  await app?.stop();
  await store?.dispose();
  await dns?.close();
  await sink?.close();
});

const HTML = '<html><body><p>Spring sale: <a href="https://shop.example/sale">shop</a> and <a href="https://shop.example/terms">terms</a></p></body></html>';

async function send(to: string, fields: Record<string, unknown> = {}): Promise<{ id: string; status: string }> {
  const response = await app.api('/emails', {
    method: 'POST',
    json: { ...SEED_REQUEST, callbacks: [], to, html: HTML, type: 'marketing', trackOpens: true, trackClicks: true, campaignId: 'spring', tags: ['news', 'promo'], ...fields },
  });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: { id: string; status: string } }).data;
}

async function status(id: string): Promise<string> {
  return ((await (await app.api(`/emails/${id}`)).json()) as { data: { status: string } }).data.status;
}

async function settled(id: string, wanted: string): Promise<void> {
  await eventually(async () => (await status(id)) === wanted, 20_000, `${id} ${wanted}`);
}

/** The delivered message's VERP Return-Path and its tracking URLs, aimed at this test's server. */
async function delivered(to: string): Promise<{ verp: string; pixel: string; links: string[]; unsubscribe: string }> {
  const sunk = sink.messages.find((message) => message.to.includes(to))!;
  const mail = await simpleParser(sunk.raw);
  const html = String(mail.html);
  const local = (url: string) => {
    const parsed = new URL(url);
    return `${app.url}${parsed.pathname}${parsed.search}`;
  };
  const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((match) => local(match[1]!));
  return { verp: sunk.from, pixel: local(/<img src="([^"]+)"/.exec(html)![1]!), links: hrefs.filter((href) => href.includes('/t/c/')), unsubscribe: hrefs.find((href) => href.includes('/u/'))! };
}

async function deliverReport(to: string, raw: string): Promise<void> {
  const client = nodemailer.createTransport({ host: '127.0.0.1', port: mxPort, secure: false, tls: { rejectUnauthorized: false } });
  try {
    await client.sendMail({ envelope: { from: '', to: [to] }, raw });
  } finally {
    client.close();
  }
}

function dsn(recipient: string, status: string, returnPath: string): string {
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>', `To: ${returnPath}`, 'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0', 'Content-Type: multipart/report; report-type=delivery-status; boundary="B"', '',
    '--B', 'Content-Type: text/plain', '', 'Your message could not be delivered.', '',
    '--B', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.customer.test', '',
    `Final-Recipient: rfc822; ${recipient}`, 'Action: failed', `Status: ${status}`, `Diagnostic-Code: smtp; 550 ${status} <${recipient}>: User unknown`, '',
    '--B', 'Content-Type: text/rfc822-headers', '', `Return-Path: <${returnPath}>`, 'From: promo@elipackage.com', `To: ${recipient}`, 'Subject: EliPackage Promo', '',
    '--B--', '',
  ].join('\r\n');
}

function complaint(recipient: string, returnPath: string): string {
  return [
    'From: Feedback Loop <fbl@isp.test>', `To: fbl@${BOUNCE_DOMAIN}`, 'Subject: Abuse report', 'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"', '',
    '--ARF', 'Content-Type: text/plain', '', 'This is an email abuse report.', '',
    '--ARF', 'Content-Type: message/feedback-report', '', 'Feedback-Type: abuse', 'User-Agent: ISP-FBL/1.0', 'Version: 1', `Original-Rcpt-To: ${recipient}`, '',
    '--ARF', 'Content-Type: message/rfc822', '', `Return-Path: <${returnPath}>`, 'From: promo@elipackage.com', `To: ${recipient}`, 'Subject: EliPackage Promo', '', 'offer', '',
    '--ARF--', '',
  ].join('\r\n');
}

const PERSON = { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)' };
const PROXY = { 'user-agent': 'Mozilla/5.0 (via ggpht.com GoogleImageProxy)' };

async function hit(url: string, init: RequestInit = {}): Promise<void> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  assert.ok(response.status < 400, `${url}: ${response.status}`);
  await response.arrayBuffer();
}

interface Totals { [field: string]: number | null }

test('after a mixed run every rollup equals a recount from the event log', async () => {
  // Deliveries to two domains, with and without a campaign, tags, externalId and clientId.
  const ann = await send('ann@customer.test', { externalId: 'user-1', clientId: 'c-1' });
  const ben = await send('ben@customer.test', { externalId: 'user-2' });
  const cat = await send('cat@other.test', { tags: ['news'] });
  const dan = await send('dan@other.test', { campaignId: 'autumn', tags: [] });
  const eve = await send('eve@customer.test');
  const fay = await send('fay@other.test', { campaignId: undefined, tags: ['receipt'] });
  // Refused at RCPT: a hard and a soft bounce during delivery; a deferral.
  const nobody = await send('nobody@customer.test');
  const full = await send('full@other.test');
  const later = await send('later@customer.test');
  for (const [message, wanted] of [[ann, 'DELIVERED'], [ben, 'DELIVERED'], [cat, 'DELIVERED'], [dan, 'DELIVERED'], [eve, 'DELIVERED'], [fay, 'DELIVERED'], [nobody, 'BOUNCED'], [full, 'BOUNCED'], [later, 'DEFERRED']] as const) {
    await settled(message.id, wanted);
  }
  // A suppressed address is REJECTED at acceptance; a scheduled message canceled is REJECTED too.
  assert.equal((await app.api('/suppressions', { method: 'POST', json: { address: 'blocked@customer.test' } })).status, 201);
  assert.equal((await send('blocked@customer.test')).status, 'REJECTED');
  const scheduled = await send('gil@customer.test', { sendAt: new Date(Date.now() + 3_600_000).toISOString() });
  assert.equal(scheduled.status, 'SCHEDULED');
  assert.equal((await app.api(`/emails/${scheduled.id}/cancel`, { method: 'POST' })).status, 200);

  // Engagement from the delivered MIME: opens by people and a proxy, clicks and a HEAD probe, an unsubscribe.
  const a = await delivered('ann@customer.test');
  await hit(a.pixel, { headers: PERSON });
  await hit(a.pixel, { headers: PERSON });
  await hit(a.pixel, { headers: PROXY });
  await hit(a.links[0]!, { headers: PERSON });
  await hit(a.links[0]!, { headers: PERSON });
  await hit(a.links[1]!, { headers: PERSON });
  await hit(a.links[0]!, { method: 'HEAD' });
  const b = await delivered('ben@customer.test');
  await hit(b.pixel, { headers: PROXY });
  await hit(b.links[1]!, { headers: PERSON });
  const c = await delivered('cat@other.test');
  await hit(c.pixel, { headers: PERSON });
  await hit(c.unsubscribe, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  const d = await delivered('dan@other.test');
  await hit(d.links[0]!, { headers: PERSON });
  // After delivery: a hard bounce by DSN and a complaint through the inbound MX.
  const e = await delivered('eve@customer.test');
  await deliverReport(e.verp, dsn('eve@customer.test', '5.1.1', e.verp));
  await settled(eve.id, 'BOUNCED');
  await deliverReport(`fbl@${BOUNCE_DOMAIN}`, complaint('ben@customer.test', b.verp));
  await settled(ben.id, 'COMPLAINED');

  await app.mailroom.reports!.catchUp();
  const compared = await assertRollupsMatchRecount(app.mailroom.db);
  assert.ok(compared.rows >= 25 && compared.links === 3, JSON.stringify(compared));

  // Every kind of event the run made is in the account's counts.
  const days = ((await (await app.api('/reports?groupBy=day')).json()) as { data: Totals[] }).data;
  const totals = Object.fromEntries(Object.keys(days[0]!).filter((field) => field !== 'key' && !field.endsWith('Rate')).map((field) => [field, days.reduce((sum, day) => sum + Number(day[field]), 0)]));
  assert.deepEqual(
    { requested: totals.requested, delivered: totals.delivered, deferred: totals.deferred, bouncedHard: totals.bouncedHard, bouncedSoft: totals.bouncedSoft, rejected: totals.rejected, complained: totals.complained, unsubscribed: totals.unsubscribed, opened: totals.opened, openedUnique: totals.openedUnique, openedMachine: totals.openedMachine, clicked: totals.clicked, clickedUnique: totals.clickedUnique, clickedMachine: totals.clickedMachine },
    { requested: 10, delivered: 6, deferred: 1, bouncedHard: 2, bouncedSoft: 1, rejected: 2, complained: 1, unsubscribed: 1, opened: 3, openedUnique: 2, openedMachine: 2, clicked: 5, clickedUnique: 3, clickedMachine: 1 },
  );
  // The campaign's report agrees with what the sink received for it.
  const spring = ((await (await app.api('/campaigns/spring/report')).json()) as { data: Totals & { links: { url: string; clicked: number; clickedUnique: number; clickedMachine: number }[] } }).data;
  const sunkForSpring = sink.messages.filter((message) => ['ann@customer.test', 'ben@customer.test', 'cat@other.test', 'eve@customer.test'].some((to) => message.to.includes(to))).length;
  assert.equal(spring.delivered, sunkForSpring);
  assert.deepEqual(spring.links.sort((x, y) => x.url.localeCompare(y.url)), [
    { url: 'https://shop.example/sale', clicked: 2, clickedUnique: 1, clickedMachine: 1 },
    { url: 'https://shop.example/terms', clicked: 2, clickedUnique: 2, clickedMachine: 0 },
  ]);
});

function pendingEvents(db: Pick<Database, 'query'>): Promise<number> {
  return countOf(db, 'SELECT COALESCE(sum(events), 0) AS n FROM report_backlog');
}

/** Counts the whole event log again from scratch (every event back in the backlog). */
async function recountFromScratch(db: Pick<Database, 'query'>): Promise<number> {
  await db.query('DELETE FROM report_counts');
  await db.query('DELETE FROM report_firsts');
  await db.query('DELETE FROM report_links');
  await db.query('DELETE FROM report_backlog');
  // Rows of a few events each, as statements of a few messages write them.
  await db.query('INSERT INTO report_backlog (event_ids, events) SELECT array_agg(id ORDER BY id), count(*) FROM message_events WHERE message_id IS NOT NULL GROUP BY id / 4 ORDER BY id / 4');
  return pendingEvents(db);
}

test('two consumers at once count each event once', async () => {
  await app.mailroom.reports!.stop();
  const backlog = await recountFromScratch(app.mailroom.db);
  // On PostgreSQL a second pool, as a second process would have; PGlite has one connection.
  const second = onPostgres ? await store.open() : app.mailroom.db;
  try {
    const consume = async (db: Database) => {
      let counted = 0;
      let turnsLost = 0;
      for (;;) {
        const taken = await foldBacklog(db, 3);
        if (taken === null) turnsLost += 1;
        else if (taken === 0) return { counted, turnsLost };
        else counted += taken;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const [one, two] = await Promise.all([consume(app.mailroom.db), consume(second)]);
    assert.equal(one.counted + two.counted, backlog);
    assert.ok(one.counted > 0 && two.counted > 0, `both consumers took part: ${JSON.stringify([one, two])}`);
  } finally {
    if (second !== app.mailroom.db) await second.close();
  }
  await assertRollupsMatchRecount(app.mailroom.db);
});

test('a consumer that dies in the middle of a batch counts nothing; the next one counts everything once', async () => {
  const backlog = await recountFromScratch(app.mailroom.db);
  if (onPostgres) {
    // A real death: the consumer's connection is terminated by the server in mid-transaction.
    const client = new pg.Client({ connectionString: store.settings.databaseUrl });
    await client.connect();
    client.on('error', () => undefined);
    await client.query('BEGIN');
    assert.ok((await foldInTransaction({ query: async (text, params) => (await client.query(text, params as unknown[])).rows }, 5))! >= 5);
    const { pid } = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!;
    await app.mailroom.db.query('SELECT pg_terminate_backend($1)', [pid]);
    await client.end().catch(() => undefined);
  }
  // A fold whose transaction fails after the statement ran: as if the process died before COMMIT.
  await assert.rejects(app.mailroom.db.transaction(async (tx) => {
    assert.ok((await foldInTransaction(tx, 7))! >= 7);
    throw new Error('killed');
  }), /killed/);
  assert.equal(await pendingEvents(app.mailroom.db), backlog, 'nothing left the backlog');
  app.mailroom.reports!.start();
  await eventually(async () => (await pendingEvents(app.mailroom.db)) === 0, 10_000, 'the backlog folded');
  await app.mailroom.reports!.catchUp();
  await assertRollupsMatchRecount(app.mailroom.db);
});
