import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { requireAccount } from '../../src/accounts/accounts.js';
import { addDomain } from '../../src/domains/domains.js';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/process.js';
import { startSmtpSink } from '../helpers/smtpSink.js';

/**
 * Metrics are served on a listener of their own (MAILROOM_METRICS_PORT), and on the API port only
 * to MAILROOM_METRICS_TOKEN. Their labels hold no customer data: the queue is counted per
 * destination (the relay or MX host set of the last attempt, "pending" before one), never per
 * recipient domain.
 */
const TOKEN = 'metrics-token-0123456789abcdef';
/** Customer data that must not appear in the output: recipient and sender domains. */
const CUSTOMER_DOMAINS = ['example.com', 'waiting.example', 'deferred.example', 'elipackage.com'];

let sandboxApp: TestApp;
let relayApp: TestApp;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;

before(async () => {
  sink = await startSmtpSink({ rcptReply: () => [451, '4.7.1 Try again later'] });
  sandboxApp = await startTestApp({ MAILROOM_METRICS_PORT: String(await freePort()), MAILROOM_METRICS_TOKEN: TOKEN });
  relayApp = await startTestApp({ MAILROOM_METRICS_PORT: String(await freePort()), MAILROOM_TRANSPORT: 'relay', MAILROOM_RELAY_URL: sink.url, MAILROOM_REQUIRE_VERIFIED_SENDER: 'off' });
  // A key for the sender's domain, so that the messages are signed and signing is timed.
  const account = await requireAccount(sandboxApp.mailroom.db, 'default');
  await addDomain(sandboxApp.mailroom.db, sandboxApp.mailroom.secrets, account.id, SEED_REQUEST.from.replace(/^.*@/, ''), { verified: true });
});
after(async () => {
  await sandboxApp.stop();
  await relayApp.stop();
  await sink.close();
});

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(app: TestApp): Promise<string> {
  const response = await fetch(`${app.mailroom.metricsUrl}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  return response.text();
}

function assertNoCustomerData(text: string): void {
  for (const domain of CUSTOMER_DOMAINS) assert.equal(text.includes(domain), false, `${domain} appears in the metrics`);
  assert.doesNotMatch(text, /@/, 'no address appears in the metrics');
}

test('the metrics listener: accepted, deliveries by outcome, DKIM and delivery timings; waiting messages under "pending", no customer domain', async () => {
  assert.ok(sandboxApp.mailroom.metricsUrl?.startsWith('http://127.0.0.1:'), 'on 127.0.0.1 unless MAILROOM_METRICS_HOST says otherwise');
  for (let index = 0; index < 3; index++) {
    assert.equal((await sandboxApp.api('/emails', { method: 'POST', json: SEED_REQUEST })).status, 200);
  }
  const later = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal((await sandboxApp.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: 'later@waiting.example', sendAt: later } })).status, 200);

  const text = await eventually(async () => {
    const body = await scrape(sandboxApp);
    // Counted when the transport answers; the queue row goes when the result is recorded just after.
    const delivered = value(body, 'mailroom_deliveries_total{outcome="delivered",transport="sandbox",reason="none"}') === 3;
    const left = value(body, 'mailroom_queue_depth{destination="pending"}') === 1;
    return delivered && left ? body : undefined;
  }, 15_000, 'three sandbox deliveries counted and recorded');
  assert.equal(value(text, 'mailroom_messages_accepted_total'), 4);
  assert.equal(value(text, 'mailroom_dkim_sign_duration_seconds_count'), 3);
  assert.equal(value(text, 'mailroom_delivery_duration_seconds_count{transport="sandbox"}'), 3);
  const age = value(text, 'mailroom_queue_oldest_age_seconds{destination="pending"}');
  assert.ok(age !== undefined && age >= 0 && age < 60, `oldest age ${age}`);
  assert.match(text, /^mailroom_process_cpu_user_seconds_total /m);
  assertNoCustomerData(text);
  // The listener serves /metrics and nothing else.
  const other = await fetch(`${sandboxApp.mailroom.metricsUrl}/emails`);
  assert.equal(other.status, 404);
  assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
});

test('a message that waits after an attempt counts under its destination (the relay), not its recipient domain', async () => {
  assert.equal((await relayApp.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: 'someone@deferred.example' } })).status, 200);
  const relay = new URL(sink.url).host;
  const text = await eventually(async () => {
    const body = await scrape(relayApp);
    return value(body, `mailroom_queue_depth{destination="${relay}"}`) === 1 ? body : undefined;
  }, 15_000, 'the deferred message counted under the relay');
  assert.match(text, /^mailroom_deliveries_total\{outcome="deferred",transport="relay",reason="[a-z_-]+"\} 1$/m);
  assertNoCustomerData(text);
});

test('on the API port: only to the bearer MAILROOM_METRICS_TOKEN; without a token set, 404 naming both settings', async () => {
  const withToken = await sandboxApp.api('/metrics', { key: TOKEN });
  assert.equal(withToken.status, 200);
  assert.match(await withToken.text(), /^mailroom_messages_accepted_total /m);
  for (const key of [null, sandboxApp.key, `${TOKEN}x`]) {
    const refused = await sandboxApp.api('/metrics', { key });
    assert.equal(refused.status, 401, `key ${key}`);
    const body = (await refused.json()) as { meta: unknown; error: { code: string } };
    assert.equal(body.error.code, 'UNAUTHORIZED');
  }

  const closed = await relayApp.api('/metrics', { key: TOKEN });
  assert.equal(closed.status, 404);
  const body = (await closed.json()) as { meta: { transactionId: string }; error: { code: string; message: string } };
  assert.equal(body.error.code, 'NOT_FOUND');
  assert.match(body.error.message, /MAILROOM_METRICS_PORT/);
  assert.match(body.error.message, /MAILROOM_METRICS_TOKEN/);
  assert.doesNotMatch(await (await relayApp.api('/metrics', { key: null })).text(), /mailroom_/);
});
