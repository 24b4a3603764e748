import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { countOf } from '../helpers/database.js';

/**
 * Sending with a template: POST /emails with templateId and placeholders, and POST /emails/bulk
 * with one template and a thousand recipients, each with its own values. What is stored is the
 * rendered content (HTML-escaped in the HTML part only); a missing value is a 422 naming it.
 */
let app: TestApp;
let templateId: string;

before(async () => {
  app = await startTestApp({ MAILROOM_ROLES: 'api' });
  const response = await app.api('/templates', {
    method: 'POST',
    json: {
      name: 'order-shipped',
      subject: 'Order {{order}} has shipped, {{name}}',
      text: 'Hello {{name}},\n\norder {{order}} left our {{warehouse}} warehouse.',
      html: '<p>Hello {{name}},</p><p>order <b>{{order}}</b> left our {{warehouse}} warehouse.</p>',
      defaults: { warehouse: 'Leipzig' },
    },
  });
  assert.equal(response.status, 201, await response.clone().text());
  templateId = ((await response.json()) as { data: { id: string } }).data.id;
});
after(() => app.stop());

interface Stored { subject: string; text: string; html: string | null }
async function content(id: string): Promise<Stored> {
  const [row] = await app.mailroom.db.query<{ content: Stored }>('SELECT content FROM messages WHERE id = $1', [id]);
  return row!.content;
}

test('POST /emails with templateId renders subject, text and HTML from placeholders over defaults; HTML is escaped, text is not', async () => {
  const response = await app.api('/emails', {
    method: 'POST',
    json: { to: 'ann@example.com', from: 'shop@elipackage.com', templateId, placeholders: { name: 'Ann <Admin> & Co', order: 1001 } },
  });
  const body = (await response.json()) as { data: { id: string; subject: string; text: string; status: string } };
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.equal(body.data.status, 'QUEUED');
  assert.equal(body.data.subject, 'Order 1001 has shipped, Ann <Admin> & Co');
  const stored = await content(body.data.id);
  assert.equal(stored.text, 'Hello Ann <Admin> & Co,\n\norder 1001 left our Leipzig warehouse.');
  assert.equal(stored.html, '<p>Hello Ann &lt;Admin&gt; &amp; Co,</p><p>order <b>1001</b> left our Leipzig warehouse.</p>');

  // The template by name, a recipient value over the default, and a subject of the request's own.
  const named = await app.api('/emails', {
    method: 'POST',
    json: { to: 'bo@example.com', from: 'shop@elipackage.com', templateId: 'order-shipped', subject: 'Shipped!', placeholders: { name: 'Bo', order: 'A-7', warehouse: 'Lyon' } },
  });
  const namedBody = (await named.json()) as { data: { id: string; subject: string } };
  assert.equal(namedBody.data.subject, 'Shipped!');
  assert.match((await content(namedBody.data.id)).text, /left our Lyon warehouse/);
});

test('a missing placeholder is a 422 naming it, an unknown template a 422 naming templateId; nothing is stored', async () => {
  const before = await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages');
  const missing = await app.api('/emails', { method: 'POST', json: { to: 'ann@example.com', from: 'shop@elipackage.com', templateId, placeholders: { name: 'Ann' } } });
  assert.equal(missing.status, 422);
  const missingBody = (await missing.json()) as { error: { code: string; details: { field: string }[] } };
  assert.equal(missingBody.error.code, 'PLACEHOLDER_MISSING');
  assert.deepEqual(missingBody.error.details.map((detail) => detail.field), ['placeholders.order']);

  const unknown = await app.api('/emails', { method: 'POST', json: { to: 'ann@example.com', from: 'shop@elipackage.com', templateId: 'no-such-template' } });
  assert.equal(unknown.status, 422);
  const unknownBody = (await unknown.json()) as { error: { code: string; details: { field: string }[] } };
  assert.equal(unknownBody.error.code, 'TEMPLATE_NOT_FOUND');
  assert.equal(unknownBody.error.details[0]!.field, 'templateId');

  const noContent = await app.api('/emails', { method: 'POST', json: { to: 'ann@example.com', from: 'shop@elipackage.com', subject: 'no text' } });
  assert.equal(noContent.status, 400);
  const stray = await app.api('/emails', { method: 'POST', json: { to: 'ann@example.com', from: 'shop@elipackage.com', subject: 's', text: 't', placeholders: { name: 'Ann' } } });
  assert.equal(stray.status, 400);
  assert.equal(((await stray.json()) as { error: { details: { field: string }[] } }).error.details[0]!.field, 'placeholders');
  assert.equal(await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages'), before);
});

test('POST /emails/bulk: one template, 1,000 recipients with their own placeholders, one call; a bad one fails alone', async () => {
  const messages = Array.from({ length: 1000 }, (_, index) => ({ to: `customer${index}@example.com`, placeholders: { name: `Customer ${index}`, order: index } }));
  delete (messages[500] as { placeholders?: unknown }).placeholders;
  const response = await app.api('/emails/bulk', { method: 'POST', json: { defaults: { from: 'shop@elipackage.com', templateId, tags: ['shipping'] }, messages } });
  assert.equal(response.status, 200);
  const { data: results } = (await response.json()) as { data: ({ data: { id: string; to: string; subject: string } } | { error: { code: string } })[] };
  assert.equal(results.length, 1000);
  const failed = results.flatMap((result, index) => ('error' in result ? [[index, result.error.code]] : []));
  assert.deepEqual(failed, [[500, 'PLACEHOLDER_MISSING']]);
  const first = results[0] as { data: { id: string; to: string; subject: string } };
  assert.equal(first.data.subject, 'Order 0 has shipped, Customer 0');
  const last = results[999] as { data: { id: string } };
  assert.match((await content(last.data.id)).text, /^Hello Customer 999,/);
  assert.equal(await countOf(app.mailroom.db, "SELECT count(*) AS n FROM messages WHERE tags ? 'shipping'"), 999);
});
