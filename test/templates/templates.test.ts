import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TemplateStore, type Template } from '../../src/templates/templates.js';
import { otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Templates through the API: create, read by id or name, versions kept, preview with the
 * placeholder rules, refusals, and one account never seeing another's templates.
 */
let app: TestApp;
let otherKey: string;

before(async () => {
  app = await startTestApp();
  otherKey = await otherAccountKey(app, 'other-co');
});
after(async () => app?.stop());

interface ErrorBody {
  error: { code: string; message: string; details: { field: string; message: string }[] };
}

async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return JSON.parse(text) as T;
}

const post = (path: string, body: unknown, key?: string) => app.api(path, { method: 'POST', json: body, ...(key ? { key } : {}) });
const put = (path: string, body: unknown, key?: string) => app.api(path, { method: 'PUT', json: body, ...(key ? { key } : {}) });

const WELCOME = { name: 'welcome', subject: 'Welcome, {{name}}', text: 'Hi {{name}}, your code is {{code}}.', html: '<p>Hi {{name}}</p>{{{footer}}}', defaults: { name: 'friend', footer: '<hr>' } };

test('create, read by id or name, new versions keep the old ones, list and delete', async () => {
  const created = await json<{ data: Template }>(await post('/templates', WELCOME), 201);
  assert.match(created.data.id, /^tmpl_[0-9a-z]{22}$/);
  assert.deepEqual(
    { ...created.data, id: undefined, createdAt: undefined, updatedAt: undefined, versionCreatedAt: undefined },
    { ...WELCOME, id: undefined, version: 1, latestVersion: 1, createdAt: undefined, updatedAt: undefined, versionCreatedAt: undefined },
  );
  const byId = await json<{ data: Template }>(await app.api(`/templates/${created.data.id}`));
  const byName = await json<{ data: Template }>(await app.api('/templates/welcome'));
  assert.deepEqual(byId.data, created.data);
  assert.deepEqual(byName.data, created.data);

  const v2 = await json<{ data: Template }>(await put('/templates/welcome', { subject: 'Welcome back, {{name}}', text: 'v2 {{name}}' }));
  assert.deepEqual([v2.data.id, v2.data.version, v2.data.html, v2.data.defaults], [created.data.id, 2, null, {}], 'a PUT is the whole content');
  assert.equal((await json<{ data: Template }>(await app.api(`/templates/${created.data.id}`))).data.subject, 'Welcome back, {{name}}');

  const v1 = await json<{ data: Template }>(await app.api(`/templates/${created.data.id}/versions/1`));
  assert.deepEqual([v1.data.version, v1.data.latestVersion, v1.data.html, v1.data.defaults], [1, 2, WELCOME.html, WELCOME.defaults]);
  await json(await app.api('/templates/welcome/versions/3'), 404);
  const versions = await json<{ data: { version: number; subject: string; hasText: boolean; hasHtml: boolean }[]; meta: { pagination: { nextCursor: string | null } } }>(await app.api('/templates/welcome/versions'));
  assert.deepEqual(versions.data.map((entry) => [entry.version, entry.hasText, entry.hasHtml]), [[2, true, false], [1, true, true]]);
  const firstPage = await json<{ data: { version: number }[]; meta: { pagination: { nextCursor: string } } }>(await app.api('/templates/welcome/versions?limit=1'));
  const secondPage = await json<{ data: { version: number }[]; meta: { pagination: { nextCursor: string | null } } }>(await app.api(`/templates/welcome/versions?limit=1&cursor=${firstPage.meta.pagination.nextCursor}`));
  assert.deepEqual([firstPage.data[0]?.version, secondPage.data[0]?.version, secondPage.meta.pagination.nextCursor], [2, 1, null]);

  // Concurrent PUTs each get their own version number.
  const puts = await Promise.all([1, 2, 3, 4].map((n) => put('/templates/welcome', { subject: `s${n}`, text: `t${n}` }).then((response) => json<{ data: Template }>(response))));
  assert.deepEqual(puts.map((response) => response.data.version).sort(), [3, 4, 5, 6]);

  // A rename: the new name finds it, the old does not.
  const renamed = await json<{ data: Template }>(await put('/templates/welcome', { name: 'hello', subject: 'Hello', html: '<b>hi</b>' }));
  assert.deepEqual([renamed.data.name, renamed.data.version], ['hello', 7]);
  await json(await app.api('/templates/welcome'), 404);

  for (const name of ['b-list', 'a-list']) await json(await post('/templates', { name, subject: 'x', text: 'y' }), 201);
  const names: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { data: { name: string; subject: string; version: number }[]; meta: { pagination: { nextCursor: string | null } } } = await json(await app.api(`/templates?limit=2${cursor ? `&cursor=${cursor}` : ''}`));
    assert.ok(page.data.length <= 2);
    names.push(...page.data.map((entry) => entry.name));
    cursor = page.meta.pagination.nextCursor;
  } while (cursor);
  assert.deepEqual(names, ['a-list', 'b-list', 'hello']);
  await json(await app.api('/templates?cursor=%%%'), 400);

  const deleted = await json<{ data: { id: string; name: string; deleted: boolean } }>(await app.api(`/templates/${created.data.id}`, { method: 'DELETE' }));
  assert.deepEqual(deleted.data, { id: created.data.id, name: 'hello', deleted: true });
  await json(await app.api(`/templates/${created.data.id}`), 404);
  await json(await app.api(`/templates/${created.data.id}/versions/1`), 404);
  await json(await app.api(`/templates/${created.data.id}`, { method: 'DELETE' }), 404);
  const [left] = await app.mailroom.db.query<{ n: number }>('SELECT count(*)::int AS n FROM template_versions WHERE template_id = $1', [created.data.id]);
  assert.equal(left?.n, 0, 'its versions went with it');
});

test('preview renders as a send would, and names every missing placeholder', async () => {
  await json(await post('/templates', { ...WELCOME, name: 'preview-me' }), 201);
  const rendered = await json<{ data: { subject: string; text: string; html: string } }>(await post('/templates/preview-me/preview', { placeholders: { name: 'Tom & <Jerry>', code: 7 } }));
  assert.deepEqual(rendered.data, { subject: 'Welcome, Tom & <Jerry>', text: 'Hi Tom & <Jerry>, your code is 7.', html: '<p>Hi Tom &amp; &lt;Jerry&gt;</p><hr>' });

  const missing = await json<ErrorBody>(await post('/templates/preview-me/preview', {}), 422);
  assert.equal(missing.error.code, 'PLACEHOLDER_MISSING');
  assert.equal(missing.error.message, 'The template "preview-me" uses placeholders with no value and no default: code.');
  assert.deepEqual(missing.error.details, [{ field: 'placeholders.code', message: 'has no value and the template no default' }]);

  const empty = await json<ErrorBody>(await app.api('/templates/preview-me/preview', { method: 'POST' }), 422);
  assert.deepEqual(empty.error.details, missing.error.details, 'a POST with no body previews with the defaults');

  const refused = await json<ErrorBody>(await post('/templates/preview-me/preview', { placeholders: { code: { x: 1 } } }), 400);
  assert.deepEqual(refused.error.details.map((detail) => detail.field), ['placeholders.code']);

  await json(await put('/templates/preview-me', { subject: 'v2 {{name}}', text: 'v2' }));
  const old = await json<{ data: { subject: string } }>(await post('/templates/preview-me/preview', { version: 1, placeholders: { code: 1 } }));
  assert.equal(old.data.subject, 'Welcome, friend');
  await json(await post('/templates/preview-me/preview', { version: 9 }), 404);
});

test('a draft renders without being stored: the same rules and answers as a saved template, and nothing left behind', async () => {
  const [before] = await app.mailroom.db.query<{ n: number }>('SELECT count(*)::int AS n FROM templates');
  const rendered = await json<{ data: { subject: string; text: string | null; html: string | null } }>(await post('/templates/preview', { ...WELCOME, placeholders: { name: 'Tom & <Jerry>', code: 7 } }));
  assert.deepEqual(rendered.data, { subject: 'Welcome, Tom & <Jerry>', text: 'Hi Tom & <Jerry>, your code is 7.', html: '<p>Hi Tom &amp; &lt;Jerry&gt;</p><hr>' });
  // A second draft of the same account with other content is not served from the first one's parse.
  const other = await json<{ data: { subject: string; text: string | null } }>(await post('/templates/preview', { subject: 'Other {{name}}', text: 'Bye {{name}}', placeholders: { name: 'Ann' } }));
  assert.deepEqual([other.data.subject, other.data.text], ['Other Ann', 'Bye Ann']);

  const missing = await json<ErrorBody>(await post('/templates/preview', { subject: 'Hi', text: '{{code}}' }), 422);
  assert.deepEqual(missing.error.details, [{ field: 'placeholders.code', message: 'has no value and the template no default' }]);
  const syntax = await json<ErrorBody>(await post('/templates/preview', { subject: 'Hi {{name', text: 'ok' }), 400);
  assert.deepEqual(syntax.error.details.map((detail) => detail.field), ['subject']);
  const noBody = await json<ErrorBody>(await post('/templates/preview', { subject: 'Hi' }), 400);
  assert.deepEqual(noBody.error.details.map((detail) => detail.field), ['text']);
  await json(await post('/templates/preview', { subject: 'Hi', text: 't', name: 'stray' }), 200);
  const [after] = await app.mailroom.db.query<{ n: number }>('SELECT count(*)::int AS n FROM templates');
  assert.equal(after?.n, before?.n, 'nothing stored');
});

test('refusals: syntax errors name the part, content rules, duplicate names', async () => {
  const syntax = await json<ErrorBody>(await post('/templates', { name: 'broken', subject: 'Hi {{name', text: 'ok', html: '{{#items}}<li>{{.}}</li>' }), 400);
  assert.equal(syntax.error.code, 'VALIDATION_ERROR');
  assert.deepEqual(syntax.error.details.map((detail) => detail.field), ['subject', 'html']);
  assert.match(syntax.error.details[1]!.message, /Unclosed section "items"/);

  const cases: [unknown, string][] = [
    [{ name: 'no-body', subject: 'x' }, 'text'],
    [{ name: 'long', subject: 'x'.repeat(999), text: 'y' }, 'subject'],
    [{ name: 'crlf', subject: 'a\r\nBcc: x@example.com', text: 'y' }, 'subject'],
    [{ name: 'tmpl_looks_like_an_id', subject: 'x', text: 'y' }, 'name'],
    [{ name: 'bad name!', subject: 'x', text: 'y' }, 'name'],
    [{ name: 'obj-default', subject: 'x', text: 'y', defaults: { a: { b: 1 } } }, 'defaults.a'],
    [{ name: 'null-default', subject: 'x', text: 'y', defaults: { a: null } }, 'defaults.a'],
    [{ name: 'partial', subject: 'x', text: '{{> footer}}' }, 'text'],
    [{ name: 'big', subject: 'x', text: 'é'.repeat(600_000) }, 'text'],
    [{ name: 'many', subject: 'x', text: 'y', defaults: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`k${i}`, i])) }, 'defaults'],
  ];
  for (const [body, field] of cases) {
    const refused = await json<ErrorBody>(await post('/templates', body), 400);
    assert.ok(refused.error.details.some((detail) => detail.field === field), `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(refused.error.details)}`);
  }
  await json(await put('/templates/never-created', { subject: 'x', text: 'y' }), 404);

  await json(await post('/templates', { name: 'taken', subject: 'x', text: 'y' }), 201);
  const duplicate = await json<ErrorBody>(await post('/templates', { name: 'taken', subject: 'other', text: 'other' }), 409);
  assert.deepEqual(duplicate.error.details, [{ field: 'name', message: 'is taken' }]);
  await json(await post('/templates', { name: 'to-rename', subject: 'x', text: 'y' }), 201);
  await json(await put('/templates/to-rename', { name: 'taken', subject: 'x', text: 'y' }), 409);
  assert.equal((await json<{ data: Template }>(await app.api('/templates/to-rename'))).data.version, 1, 'a refused PUT wrote no version');
});

test('one account never sees another\'s templates', async () => {
  const mine = await json<{ data: Template }>(await post('/templates', { name: 'private', subject: 'secret {{x}}', text: 'secret', defaults: { x: 1 } }), 201);
  for (const path of [`/templates/${mine.data.id}`, '/templates/private', `/templates/${mine.data.id}/versions`, `/templates/${mine.data.id}/versions/1`]) {
    const response = await json<ErrorBody>(await app.api(path, { key: otherKey }), 404);
    assert.equal(response.error.code, 'NOT_FOUND');
    assert.doesNotMatch(JSON.stringify(response), /secret/);
  }
  await json(await post(`/templates/${mine.data.id}/preview`, {}, otherKey), 404);
  await json(await put(`/templates/${mine.data.id}`, { subject: 'hijack', text: 'x' }, otherKey), 404);
  await json(await app.api(`/templates/${mine.data.id}`, { method: 'DELETE', key: otherKey }), 404);
  assert.deepEqual((await json<{ data: unknown[] }>(await app.api('/templates', { key: otherKey }))).data, []);
  // The same name is free in the other account.
  const theirs = await json<{ data: Template }>(await post('/templates', { name: 'private', subject: 'theirs', text: 'theirs' }, otherKey), 201);
  assert.notEqual(theirs.data.id, mine.data.id);
  assert.equal((await json<{ data: Template }>(await app.api('/templates/private'))).data.subject, 'secret {{x}}');
});

test('TemplateStore: by id or name, a given version, and an update through this process seen at once', async () => {
  const store = new TemplateStore(app.mailroom.db);
  const [account] = await app.mailroom.db.query<{ id: number }>("SELECT id FROM accounts WHERE name = 'default'");
  const accountId = Number(account!.id);
  const created = await json<{ data: Template }>(await post('/templates', { name: 'stored', subject: 'one', text: 'one', defaults: { a: true, n: 2.5, s: '3' } }), 201);
  assert.deepEqual(created.data.defaults, { a: true, n: 2.5, s: '3' }, 'default values keep their types');

  assert.deepEqual(await store.get(accountId, 'stored'), { templateId: created.data.id, name: 'stored', version: 1, subject: 'one', text: 'one', html: null, defaults: { a: true, n: 2.5, s: '3' } });
  const [first, second] = await Promise.all([store.get(accountId, created.data.id), store.get(accountId, created.data.id)]);
  assert.equal(first, second, 'concurrent look-ups share one query');

  await json(await put('/templates/stored', { subject: 'two', html: '<b>two</b>' }));
  assert.deepEqual([(await store.get(accountId, 'stored'))?.version, (await store.get(accountId, created.data.id))?.subject], [2, 'two']);
  assert.equal((await store.get(accountId, 'stored', 1))?.subject, 'one');
  assert.equal(await store.get(accountId, 'stored', 3), null);
  assert.equal(await store.get(accountId + 1_000_000, 'stored'), null);

  await json(await app.api('/templates/stored', { method: 'DELETE' }));
  assert.equal(await store.get(accountId, 'stored'), null);
});

test('every template route is in the OpenAPI document', async () => {
  const document = await json<{ paths: Record<string, Record<string, { tags?: string[]; responses?: Record<string, unknown> }>> }>(await app.api('/openapi.json'));
  assert.ok(document.paths['/templates']?.post?.responses?.['201'], 'creation is documented as 201');
  const routes = Object.entries(document.paths).filter(([path]) => path.startsWith('/templates')).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
  assert.deepEqual(routes.sort(), [
    'DELETE /templates/{id}', 'GET /templates', 'GET /templates/{id}', 'GET /templates/{id}/versions', 'GET /templates/{id}/versions/{version}',
    'POST /templates', 'POST /templates/preview', 'POST /templates/{id}/preview', 'PUT /templates/{id}',
  ]);
  assert.ok(Object.entries(document.paths).filter(([path]) => path.startsWith('/templates')).every(([, methods]) => Object.values(methods).every((operation) => operation.tags?.includes('templates'))));
});
