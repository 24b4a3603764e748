import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { countOf } from '../helpers/database.js';
import { otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Suppression addresses are held to the rules of POST /emails wherever they enter (POST, the CSV
 * import, the path of GET and DELETE): control and invisible characters are refused, never
 * stripped or stored. The CSV export cannot carry a formula to a spreadsheet, and what it writes
 * imports back unchanged.
 */
let app: TestApp;
let otherKey: string;

before(async () => {
  app = await startTestApp();
  otherKey = await otherAccountKey(app, 'other-co');
});
after(async () => app?.stop());

type ErrorBody = { error: { code: string; message: string; details: { field: string; message: string }[] } };

const HIDDEN = [
  'a@example.com\r\nx', 'a@example.com\r\n', '\r\na@example.com', 'a@exa\tmple.com', 'a@example.com\t', 'a@exa\u200bmple.com', 'a\u0085b@example.com',
  'a@example.com\u2028', 'a@ex\u00adample.com', 'a\u007f@example.com', 'a@exa\ufeffmple.com', 'a\u202e@example.com', 'a@exa\u0000mple.com',
];

const entries = () => countOf(app.mailroom.db, 'SELECT count(*) AS n FROM suppressions');

test('POST /suppressions refuses control and invisible characters (400 naming the field) and stores nothing', async () => {
  const before = await entries();
  for (const address of HIDDEN) {
    const one = await app.api('/suppressions', { method: 'POST', json: { address } });
    const body = (await one.json()) as ErrorBody;
    assert.equal(one.status, 400, JSON.stringify(address));
    assert.equal(body.error.code, 'VALIDATION_ERROR');
    assert.deepEqual(body.error.details.map((detail) => detail.field), ['address'], JSON.stringify(address));

    const many = await app.api('/suppressions', { method: 'POST', json: { addresses: [{ address: 'fine@example.com' }, { address }] } });
    assert.equal(many.status, 400, JSON.stringify(address));
    assert.deepEqual(((await many.json()) as ErrorBody).error.details.map((detail) => detail.field), ['addresses[1].address']);
  }
  assert.equal(await entries(), before);
  const stored = await app.mailroom.db.query<{ address: string }>('SELECT address FROM suppressions');
  assert.deepEqual(stored.filter((row) => /\p{Cc}/u.test(row.address)), []);
});

test('the CSV import refuses a row with a control character in its address, naming the line', async () => {
  const before = await entries();
  for (const address of ['a@example.com\r\nx', 'a@exa\tmple.com', 'a@exa\u200bmple.com', 'a@example.com\u000b']) {
    const csv = `address,reason\nok@example.com,MANUAL\n"${address}",MANUAL\n`;
    const response = await app.api('/suppressions/import', { method: 'POST', body: csv, headers: { 'content-type': 'text/csv' } });
    const body = (await response.json()) as ErrorBody;
    assert.equal(response.status, 400, JSON.stringify(address));
    assert.deepEqual(body.error.details.map((detail) => detail.field), ['line 3'], JSON.stringify(address));
  }
  assert.equal(await entries(), before, 'all rows or none');
});

test('GET and DELETE /suppressions/{address} refuse an address with control characters in the path', async () => {
  await app.api('/suppressions', { method: 'POST', json: { address: 'kept@example.com' } });
  for (const path of ['kept%40example.com%0D%0Ax', 'kept%40example.com%0A', '%09kept%40example.com', 'kept%40exa%E2%80%8Bmple.com']) {
    for (const method of ['GET', 'DELETE']) {
      const response = await app.api(`/suppressions/${path}`, { method });
      const body = (await response.json()) as ErrorBody;
      assert.equal(response.status, 400, `${method} ${path}`);
      assert.equal(body.error.code, 'VALIDATION_ERROR');
      assert.deepEqual(body.error.details.map((detail) => detail.field), ['address']);
    }
  }
  assert.equal((await app.api('/suppressions/kept%40example.com')).status, 200, 'still listed');
  assert.equal((await app.api('/suppressions/nobody%40example.com')).status, 404);
});

test('the CSV export neutralises cells that a spreadsheet would run as formulas, and imports back unchanged', async () => {
  const tricky = ['=cmd@example.com', '+tag@example.com', '-dash@example.com', "'quote@example.com", "'=both@example.com"];
  const added = await app.api('/suppressions', { method: 'POST', json: { addresses: tricky.map((address) => ({ address })) } });
  assert.equal(added.status, 201, await added.clone().text());
  const exported = await (await app.api('/suppressions/export.csv')).text();
  const cells = exported.trim().split('\n').slice(1).map((line) => line.slice(0, line.indexOf(',')));
  for (const cell of cells) assert.doesNotMatch(cell, /^[=+\-@\t\r]/, `a cell starts a formula: ${cell}`);
  assert.ok(cells.includes("'=cmd@example.com") && cells.includes("'-dash@example.com") && cells.includes("''quote@example.com"), exported);

  const imported = await app.api('/suppressions/import', { method: 'POST', body: exported, headers: { 'content-type': 'text/csv' }, key: otherKey });
  assert.equal(imported.status, 200, await imported.clone().text());
  for (const address of tricky) {
    const theirs = await app.api(`/suppressions/${encodeURIComponent(address)}`, { key: otherKey });
    assert.equal(theirs.status, 200, address);
    assert.equal(((await theirs.json()) as { data: { address: string } }).data.address, address);
  }
});
