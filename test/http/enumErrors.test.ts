import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { STATUSES } from '../../src/events/status.js';
import { SUPPRESSION_REASONS } from '../../src/suppression/suppressions.js';
import { SUBSCRIBABLE_EVENTS } from '../../src/webhooks/webhooks.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * A value that is none of a field's allowed ones (a union of literals: a status, a reason, an
 * event type) is answered with one detail for that field listing the allowed values, on every
 * route, rather than a "must be equal to constant" per allowed value (issue 19).
 */
let app: TestApp;
before(async () => {
  app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' });
});
after(async () => app.stop());

interface ErrorBody {
  error: { code: string; details: { field: string; message: string }[] };
}

async function oneDetail(response: Response, field: string, allowed: readonly string[]): Promise<void> {
  const body = (await response.json()) as ErrorBody;
  assert.equal(response.status, 400, JSON.stringify(body));
  assert.equal(body.error.code, 'VALIDATION_ERROR');
  assert.deepEqual(body.error.details, [{ field, message: `must be one of: ${allowed.join(', ')}` }]);
}

test('GET /emails?status=BOGUS: one detail naming the statuses', async () => {
  await oneDetail(await app.api('/emails?status=BOGUS'), 'status', STATUSES);
});

test('a suppression reason, in the query and in the body (a union of shapes), and in a list of entries', async () => {
  await oneDetail(await app.api('/suppressions?reason=BOGUS'), 'reason', SUPPRESSION_REASONS);
  await oneDetail(await app.api('/suppressions', { method: 'POST', json: { address: 'someone@example.com', reason: 'BOGUS' } }), 'reason', SUPPRESSION_REASONS);
  await oneDetail(
    await app.api('/suppressions', { method: 'POST', json: { addresses: [{ address: 'a@example.com' }, { address: 'b@example.com', reason: 'BOGUS' }] } }),
    'addresses[1].reason',
    SUPPRESSION_REASONS,
  );
});

test('webhook eventTypes items: the item is named, with the event types', async () => {
  const response = await app.api('/webhooks', { method: 'POST', json: { url: 'http://127.0.0.1:9/hook', eventTypes: ['DELIVERED', 'BOGUS'] } });
  await oneDetail(response, 'eventTypes[1]', SUBSCRIBABLE_EVENTS);
});

test('other unions of literals alike: a report groupBy, a campaign state', async () => {
  const report = (await (await app.api('/reports?groupBy=BOGUS')).json()) as ErrorBody;
  assert.equal(report.error.details.length, 1);
  assert.equal(report.error.details[0]!.field, 'groupBy');
  assert.match(report.error.details[0]!.message, /^must be one of: campaign, .*day/);
  const campaigns = (await (await app.api('/campaigns?state=BOGUS')).json()) as ErrorBody;
  assert.deepEqual(campaigns.error.details.map((detail) => detail.field), ['state']);
  assert.match(campaigns.error.details[0]!.message, /^must be one of: .*draft/);
});

test('POST /emails (the pipeline\'s own validator): type lists transactional and marketing', async () => {
  const response = await app.api('/emails', { method: 'POST', json: { to: 'john.doe@example.com', from: 'promo@elipackage.com', subject: 'Hi', text: 'Hello', type: 'bogus' } });
  await oneDetail(response, 'type', ['transactional', 'marketing']);
});

test('the allowed values still pass, and keep their types', async () => {
  assert.equal((await app.api('/emails?status=QUEUED')).status, 200);
  assert.equal((await app.api('/suppressions?reason=MANUAL')).status, 200);
});
