import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Database } from '../../src/db/database.js';
import { sqlLiteral } from '../../src/db/literal.js';
import { openMemoryPglite } from '../../src/db/pglite.js';

/**
 * Hot statements on PGlite run as EXECUTE with their parameters written as literals: every
 * value must arrive exactly as given, whatever quotes, backslashes or SQL it holds, and in the
 * type of the statement's parameter.
 */
let db: Database;
before(async () => {
  db = await openMemoryPglite();
  await db.query('CREATE TABLE t (id int, label text, tags text[], at timestamptz, doc jsonb)');
});
after(async () => {
  await db.close();
});

const AWKWARD = [
  "it's", "''", "\\", "\\'", "'); DROP TABLE t; --", 'E\'\\x41\'', '$1', '$$ dollar $$', 'line\nbreak\r\n', 'tab\there',
  'ünïcødé 😀', '"quoted"', '{not,an,array}', '',
];

test('text round-trips exactly through a prepared statement, injection attempts included', async () => {
  for (const [index, label] of AWKWARD.entries()) {
    const [row] = await db.query<{ label: string }>('SELECT $1::text AS label', [label], 'echoText');
    assert.equal(row?.label, label, `value ${index}`);
  }
  const [count] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
  assert.equal(count?.n, 0, 'the table is still there and untouched');
});

test('numbers, arrays, dates, JSON and NULL arrive in the parameter types', async () => {
  const at = new Date('2026-12-01T10:11:12.345Z');
  const doc = { a: "it's", b: ['x', 'y\\z'], c: null, d: 1.5 };
  await db.query('INSERT INTO t (id, label, tags, at, doc) VALUES ($1, $2, $3, $4, $5::jsonb)', [7, null, AWKWARD, at, JSON.stringify(doc)], 'insertRow');
  const [row] = await db.query<{ id: number; label: string | null; tags: string[]; at: Date; doc: unknown }>('SELECT * FROM t WHERE id = $1', [7], 'rowById');
  assert.equal(row?.id, 7);
  assert.equal(row?.label, null);
  assert.deepEqual(row?.tags, AWKWARD);
  assert.equal(row?.at.toISOString(), at.toISOString());
  assert.deepEqual(row?.doc, doc);
  const [none] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE label = ANY($1::text[])', [[]], 'countLabels');
  assert.equal(none?.n, 0);
});

test('a statement prepared once keeps working with new values, and NUL is refused before it reaches the database', async () => {
  for (let i = 0; i < 10; i++) {
    const [row] = await db.query<{ v: number }>('SELECT $1::int * 2 AS v', [i], 'double');
    assert.equal(row?.v, i * 2);
  }
  assert.throws(() => sqlLiteral('a\0b'), /NUL/);
  assert.throws(() => sqlLiteral(Number.NaN), /NaN/);
  assert.equal(sqlLiteral(null), 'NULL');
  assert.equal(sqlLiteral(["a'b", 'c"d', 'e\\f']), `'{"a''b","c\\"d","e\\\\f"}'`);
});

test('concurrent first calls of one named statement share its PREPARE', async () => {
  const results = await Promise.all(
    Array.from({ length: 5 }, (_, index) => db.query<{ n: number }>('SELECT $1::int + 1 AS n', [index], 'concurrentFirstUse')),
  );
  assert.deepEqual(results.map((rows) => rows[0]?.n), [1, 2, 3, 4, 5]);
});
