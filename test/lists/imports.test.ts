import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { ListImport } from '../../src/lists/imports.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, onPostgres } from '../helpers/database.js';
import {
  addContacts, assertCountsExact, createList, importCsv, importState, json, members, startImport, storedRows, waitForImport, type ErrorBody, type ListBody,
} from '../helpers/lists.js';

/**
 * CSV imports and the export: bad rows refused one by one with their line, never the file;
 * a second run of a file changes nothing; the export reads back unchanged; hostile files; a job
 * canceled or cut off by a stop counts exactly what it stored.
 */
let app: TestApp;

before(async () => {
  app = await startTestApp({ MAILROOM_ROLES: 'api' });
});
after(async () => app?.stop());

const CRLF = '\r\n';
const huge = (size: number) => 'z'.repeat(size);

/** A file of every kind of bad row, CRLF line ends and a byte order mark; the expected refusals by line. */
function hostileFile(): { body: Uint8Array<ArrayBuffer>; refused: [number, RegExp][] } {
  const lines = [
    '\uFEFFemail,name,city', // 1
    'ok1@example.com,One,Oslo', // 2
    'not-an-email,Two,Rome', // 3
    '', // 4: empty, skipped
    'ok2@example.com,"Two, Jr.","multi\r\nline city"', // 5-6
    'ok3@example.com,Three', // 7
    'ok4@example.com,"=HYPERLINK(""http://evil.example"")",@SUM(1)', // 8
    'zw\u200b@example.com,Zero,Width', // 9
    'ok5@example.com,Nul\u0000Name,X', // 10
    'ok6@example.com,ab"c,Y', // 11
    `ok7@example.com,Seven,${huge(70_000)}`, // 12
    `ok8@example.com,Eight,"${huge(40_000)}\r\n${huge(40_000)}\r\nend"`, // 13-15
    'OK9@Example.COM,Nine,Lima', // 16
    'ok1@example.com,One again,Oslo', // 17
    'ok10@example.com,Ten,Kyiv,extra', // 18
    'ok11@example.com,,', // 19
    'BAD_UTF8@example.com,x,y', // 20 (its byte 0xff is put in below)
    'ok12@example.com,Twelve,"unclosed', // 21
  ];
  const bytes = Buffer.from(lines.join(CRLF) + CRLF);
  bytes[bytes.indexOf('BAD_UTF8')] = 0xff;
  return {
    body: new Uint8Array(bytes),
    refused: [
      [3, /^email "not-an-email" is not an email address/], [7, /^has 2 fields; the header has 3$/], [9, /^email .* must not contain control or invisible characters/],
      [10, /^name must not contain a NUL/], [11, /^is not valid CSV: it has a quote inside a field/], [12, /^is longer than 64 KB$/], [13, /^is longer than 64 KB$/],
      [18, /^has 4 fields; the header has 3$/], [20, /^email .* is not valid UTF-8/], [21, /^is not valid CSV: it opens a quoted field that is never closed/],
    ],
  };
}

test('bad rows are refused one by one, with their line and why; the good ones around them are stored', async () => {
  const list = await createList(app, { name: 'Hostile' });
  const { body, refused } = hostileFile();
  const job = await importCsv(app, list.id, body);
  assert.equal(job.state, 'finished', JSON.stringify(job));
  assert.deepEqual(
    { rowsRead: job.rowsRead, added: job.added, updated: job.updated, unchanged: job.unchanged, refused: job.refused },
    { rowsRead: 16, added: 5, updated: 1, unchanged: 0, refused: 10 },
  );
  assert.deepEqual(job.refusals.map((entry) => entry.line), refused.map(([line]) => line));
  job.refusals.forEach((entry, i) => assert.match(entry.reason, refused[i]![1], `line ${entry.line}: ${entry.reason}`));
  assert.ok(job.bytes > 150_000 && job.finishedAt !== null && job.error === null);

  const stored = Object.fromEntries((await members(app, list.id)).map((member) => [member.email, [member.name, member.attributes]]));
  assert.deepEqual(stored, {
    'ok1@example.com': ['One again', { city: 'Oslo' }],
    'ok2@example.com': ['Two, Jr.', { city: 'multi\r\nline city' }],
    'ok4@example.com': ['=HYPERLINK("http://evil.example")', { city: '@SUM(1)' }],
    'ok9@example.com': ['Nine', { city: 'Lima' }],
    'ok11@example.com': [null, {}],
  });
  await assertCountsExact(app.mailroom.db);
});

test('the same file again changes nothing: every row unchanged, the stored rows identical', async () => {
  const list = await createList(app, { name: 'Twice', optIn: 'double' });
  const csv = ['email,name,status,plan,city', 'a@example.com,A,,pro,Oslo', 'b@example.com,B,subscribed,,', 'c@example.com,,unsubscribed,free,', 'broken,x,,,', 'd@example.com,D,,,Rome'].join('\n');
  const first = await importCsv(app, list.id, csv);
  assert.deepEqual([first.added, first.updated, first.unchanged, first.refused], [4, 0, 0, 1]);
  assert.deepEqual((await members(app, list.id)).map((member) => [member.email, member.listStatus]), [
    ['a@example.com', 'unconfirmed'], ['b@example.com', 'subscribed'], ['c@example.com', 'unsubscribed'], ['d@example.com', 'unconfirmed'],
  ]);
  const before = await storedRows(app.mailroom.db, list.id);
  const second = await importCsv(app, list.id, csv);
  assert.deepEqual([second.rowsRead, second.added, second.updated, second.unchanged, second.refused], [5, 0, 0, 4, 1]);
  assert.deepEqual(await storedRows(app.mailroom.db, list.id), before);

  // A member confirmed meanwhile stays so when the file (which says nothing of it) comes again.
  await app.api(`/lists/${list.id}/contacts/a@example.com`, { method: 'PATCH', json: { status: 'subscribed' } });
  const third = await importCsv(app, list.id, csv);
  assert.deepEqual([third.updated, third.unchanged], [0, 4]);
  assert.equal((await members(app, list.id)).find((member) => member.email === 'a@example.com')!.listStatus, 'subscribed');
});

test('the export is streamed, neutralised against formulas, and reads back unchanged', async () => {
  const source = await createList(app, { name: 'Source' });
  await addContacts(app, source.id, [
    { email: 'plain@example.com', name: 'Plain', attributes: { city: 'Oslo', n: 42, ok: true, none: null, 'first name': 'P' } },
    { email: '=cmd@example.com', name: '=HYPERLINK("http://evil.example")', attributes: { formula: '+1+1', quote: "'already", csv: 'a,"b"\nc' } },
    { email: 'gone@example.com', status: 'unsubscribed' }, { email: 'later@example.com', status: 'unconfirmed' }, { email: 'bounced@example.com', name: '-minus' },
  ]);
  const account = (await app.mailroom.db.query<{ id: number }>("SELECT id FROM accounts WHERE name = 'default'"))[0]!.id;
  await app.mailroom.db.query("INSERT INTO suppressions (account_id, address, reason, created_at) VALUES ($1, 'bounced@example.com', 'HARD_BOUNCE', now())", [account]);

  const response = await app.api(`/lists/${source.id}/contacts.csv`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/csv/);
  const csv = await response.text();
  const rows = parse(csv, { columns: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(rows[0]!), ['email', 'name', 'status', 'subscribed_at', 'created_at', 'attributes', 'suppression']);
  const byEmail = Object.fromEntries(rows.map((row) => [row.email, row]));
  assert.equal(byEmail["'=cmd@example.com"]!.name, '\'=HYPERLINK("http://evil.example")', 'a formula cell starts with a quote');
  assert.equal(byEmail['bounced@example.com']!.name, "'-minus");
  assert.deepEqual([byEmail['bounced@example.com']!.status, byEmail['bounced@example.com']!.suppression], ['subscribed', 'HARD_BOUNCE']);
  assert.deepEqual(JSON.parse(byEmail['plain@example.com']!.attributes!), { city: 'Oslo', n: 42, ok: true, none: null, 'first name': 'P' });
  assert.equal(csv.split('\n').filter((line) => /^[=+\-@]/.test(line)).length, 0);

  const copy = await createList(app, { name: 'Copy', optIn: 'double' });
  const imported = await importCsv(app, copy.id, csv);
  assert.deepEqual([imported.added, imported.refused], [5, 0]);
  const shape = (list: ListBody) => members(app, list.id).then((all) => all.map((member) => [member.email, member.name, member.attributes, member.listStatus, member.status]));
  assert.deepEqual(await shape(copy), await shape(source));

  const before = await storedRows(app.mailroom.db, source.id);
  const again = await importCsv(app, source.id, csv);
  assert.deepEqual([again.added, again.updated, again.unchanged, again.refused], [0, 0, 5, 0]);
  assert.deepEqual(await storedRows(app.mailroom.db, source.id), before);

  await json(await app.api('/lists/list_0000000000000000000000/contacts.csv'), 404);
  const empty = await createList(app, { name: 'Empty' });
  assert.equal(await (await app.api(`/lists/${empty.id}/contacts.csv`)).text(), 'email,name,status,subscribed_at,created_at,attributes,suppression\n');
});

test('a file without a usable header is refused at once (400), and nothing is stored', async () => {
  const list = await createList(app, { name: 'Headers' });
  const cases: [string, RegExp][] = [
    ['name,city\nx,y\n', /needs an email column/], ['email,Email\na@example.com,b@example.com\n', /a second time/], ['email,bad name!\n', /attribute name/],
    ['email,,city\n', /has no name/], ['', /no header row/], ['\n\n\n', /no header row/], ['\uFEFF', /no header row/], [`email,${huge(70_000)}\n`, /longer than 64 KB/],
    ['"email\n', /not valid CSV/], ['email,e-mail\n', /a second time/], ['email,created_at,name,__proto__\n', /reserved/],
  ];
  for (const [body, message] of cases) {
    const refused = await json<ErrorBody>(await app.api(`/lists/${list.id}/imports`, { method: 'POST', body, headers: { 'content-type': 'text/csv' } }), 400);
    assert.match(`${refused.error.message} ${JSON.stringify(refused.error.details)}`, message, JSON.stringify(body).slice(0, 60));
  }
  const wrongType = await json<ErrorBody>(await app.api(`/lists/${list.id}/imports`, { method: 'POST', json: { email: 'a@example.com' } }), 415);
  assert.equal(wrongType.error.code, 'UNSUPPORTED_MEDIA_TYPE');
  await json(await app.api(`/lists/${list.id}/imports`, { method: 'POST' }), 415);
  await json(await app.api('/lists/list_0000000000000000000000/imports', { method: 'POST', body: 'email\n', headers: { 'content-type': 'text/csv' } }), 404);
  const jobs = await json<{ data: ListImport[] }>(await app.api(`/lists/${list.id}/imports`));
  assert.deepEqual(jobs.data, []);
  assert.equal((await members(app, list.id)).length, 0);
  assert.deepEqual(readdirSync(join(app.store.settings.dataDir, 'imports')), [], 'no spooled file is left behind');

  // Larger than the limit: refused from its Content-Length, before a byte is read.
  const status = await new Promise<number>((resolve, reject) => {
    const url = new URL(`${app.url}/lists/${list.id}/imports`);
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${app.key}`, 'content-type': 'text/csv; charset=utf-8', 'content-length': String(200 * 1024 * 1024) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write('email\n');
  });
  assert.equal(status, 413);
});

test('imports are listed newest first; a finished one cannot be stopped', async () => {
  const list = await createList(app, { name: 'Listed' });
  const first = await importCsv(app, list.id, 'email\none@example.com\n');
  const second = await importCsv(app, list.id, 'address\ntwo@example.com\n');
  const page = await json<{ data: ListImport[]; meta: { pagination: { nextCursor: string | null } } }>(await app.api(`/lists/${list.id}/imports?limit=1`));
  assert.deepEqual([page.data[0]!.id, page.meta.pagination.nextCursor], [second.id, second.id]);
  const rest = await json<{ data: ListImport[]; meta: { pagination: { nextCursor: string | null } } }>(await app.api(`/lists/${list.id}/imports?limit=1&cursor=${page.meta.pagination.nextCursor}`));
  assert.deepEqual([rest.data[0]!.id, rest.meta.pagination.nextCursor], [first.id, null]);
  await json(await app.api(`/lists/${list.id}/imports?cursor=nope`), 400);
  const conflict = await json<ErrorBody>(await app.api(`/lists/${list.id}/imports/${first.id}`, { method: 'DELETE' }), 409);
  assert.match(conflict.error.message, /finished/);
  await json(await app.api(`/lists/${list.id}/imports/imp_0000000000000000000000`), 404);
  await json(await app.api(`/lists/${list.id}/imports/imp_0000000000000000000000`, { method: 'DELETE' }), 404);
  const other = await createList(app, { name: 'Other' });
  await json(await app.api(`/lists/${other.id}/imports/${first.id}`), 404, );
});

/** Rows enough for an import to be stopped half-way (PostgreSQL writes them several times faster). */
const LONG = onPostgres ? 200_000 : 60_000;

/** n rows of valid contacts, as CSV. */
function rowsCsv(n: number, prefix: string): string {
  const lines = ['email,name,plan'];
  for (let i = 0; i < n; i++) lines.push(`${prefix}${i}@example${i % 50}.com,Person ${i},${i % 2 ? 'pro' : 'free'}`);
  return `${lines.join('\n')}\n`;
}

test('a canceled import stops at a batch: what it counts is exactly what it stored', async () => {
  const list = await createList(app, { name: 'Canceled' });
  const job = await startImport(app, list.id, rowsCsv(LONG, 'cancel'));
  await eventually(async () => (await importState(app, list.id, job.id)).rowsRead > 0 || undefined, 30_000, 'a first batch');
  const canceled = await json<{ data: ListImport }>(await app.api(`/lists/${list.id}/imports/${job.id}`, { method: 'DELETE' }));
  assert.equal(canceled.data.state, 'canceled');
  await eventually(async () => !app.mailroom.imports!.isRunning(job.id), 30_000, 'the job to stop');
  const end = await importState(app, list.id, job.id);
  assert.equal(end.state, 'canceled');
  assert.ok(end.added > 0 && end.added < LONG, `added ${end.added}`);
  const counts = (await json<{ data: ListBody }>(await app.api(`/lists/${list.id}`))).data.counts;
  assert.equal(counts.total, end.added, 'the members are exactly the rows counted');
  assert.equal(end.rowsRead, end.added);
  await json(await app.api(`/lists/${list.id}/imports/${job.id}`, { method: 'DELETE' }), 409);
  assert.ok(!existsSync(join(app.store.settings.dataDir, 'imports', `${job.id}.csv`)), 'its spooled file is gone');
  await assertCountsExact(app.mailroom.db);
});

test('a deleted list ends its import failed; a stop or a dead process leaves a job failed as interrupted, counts exact', async () => {
  const doomed = await createList(app, { name: 'Doomed' });
  const job = await startImport(app, doomed.id, rowsCsv(LONG, 'doomed'));
  await eventually(async () => (await importState(app, doomed.id, job.id)).rowsRead > 0 || undefined, 30_000, 'a first batch');
  await json(await app.api(`/lists/${doomed.id}`, { method: 'DELETE' }));
  await eventually(async () => !app.mailroom.imports!.isRunning(job.id), 30_000, 'the job to stop');
  const [row] = await app.mailroom.db.query<{ state: string; error: string }>('SELECT state, error FROM list_imports WHERE id = $1', [job.id]);
  assert.deepEqual([row!.state, row!.error], ['failed', 'the list was deleted during the import']);
  assert.equal((await app.mailroom.db.query('SELECT 1 FROM list_members m WHERE NOT EXISTS (SELECT 1 FROM lists l WHERE l.seq = m.list_seq)')).length, 0, 'no member outlives its list');

  const store = await createTestStore();
  try {
    const first = await startTestApp({ MAILROOM_ROLES: 'api' }, { store });
    const list = await createList(first, { name: 'Stopped' });
    const running = await startImport(first, list.id, rowsCsv(LONG, 'stopped'));
    await eventually(async () => (await importState(first, list.id, running.id)).rowsRead > 0 || undefined, 30_000, 'a first batch');
    await first.stop();

    const second = await startTestApp({ MAILROOM_ROLES: 'api' }, { store });
    try {
      const end = await importState(second, list.id, running.id);
      assert.equal(end.state, 'failed');
      assert.match(end.error ?? '', /^interrupted: Mailroom stopped/);
      assert.equal((await json<{ data: ListBody }>(await second.api(`/lists/${list.id}`))).data.counts.total, end.added);
      assert.deepEqual(readdirSync(join(store.settings.dataDir, 'imports')), []);

      // A process that died (its runner's lock is free) leaves a job running in the table: it is
      // found so and marked failed when the account reads its imports.
      const account = (await second.mailroom.db.query<{ id: number }>("SELECT id FROM accounts WHERE name = 'default'"))[0]!.id;
      await second.mailroom.db.query(
        "INSERT INTO list_imports (id, account_id, list_id, runner, state, bytes, rows_read, added, created_at, updated_at) VALUES ('imp_0000000000000000000001', $1, $2, 'rdeadprocess1', 'running', 10, 3, 3, now(), now())",
        [account, list.id],
      );
      const dead = await importState(second, list.id, 'imp_0000000000000000000001');
      assert.deepEqual([dead.state, dead.added], ['failed', 3]);
      assert.match(dead.error ?? '', /^interrupted: the process running the import stopped/);
      // This process's own jobs are never taken for dead.
      const live = await startImport(second, list.id, 'email\nlive@example.com\n');
      assert.equal((await waitForImport(second, list.id, live.id)).state, 'finished');
    } finally {
      await second.stop();
    }
  } finally {
    await store.dispose();
  }
});
