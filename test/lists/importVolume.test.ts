import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createList, json, startImport, waitForImport, type ListBody } from '../helpers/lists.js';

/**
 * The volume test: 200,000 rows with 1% malformed lines. The counts and the refused line
 * numbers are exact, and the memory of the process (which holds the database too, on PGlite)
 * stays under 200 MB above idle: the file is spooled and read record by record, never held.
 */
let app: TestApp;

before(async () => {
  app = await startTestApp({ MAILROOM_ROLES: 'api' });
});
after(async () => app?.stop());

const ROWS = 200_000;
const MB = 1024 * 1024;

/** A full collection, so that "idle" is the memory in use, not garbage the test made building its file. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** One malformed row in a hundred, of five kinds in turn; the lines (the header is line 1) of the malformed ones. */
function volumeFile(): { body: Uint8Array<ArrayBuffer>; malformed: number[] } {
  const malformed: number[] = [];
  const parts = ['email,name,city,plan\n'];
  for (let i = 0; i < ROWS; i++) {
    const line = i + 2;
    if (i % 100 !== 99) {
      parts.push(`person${i}@example${i % 997}.com,Person ${i},City ${i % 89},${i % 3 ? 'free' : 'pro'}\n`);
      continue;
    }
    malformed.push(line);
    switch ((i / 100) % 5 | 0) {
      case 0: parts.push(`person${i}-at-example.com,Person ${i},City,free\n`); break; // no @
      case 1: parts.push(`person${i}@example.com,Person ${i}\n`); break; // a field short
      case 2: parts.push(`person${i}\u200b@example.com,Person ${i},City,free\n`); break; // zero-width space
      case 3: parts.push(`person${i}@example.com,Per"son,City,free\n`); break; // a stray quote
      default: parts.push(`person${i}@example.com,Person\u0000${i},City,free\n`); // NUL
    }
  }
  return { body: new Uint8Array(Buffer.from(parts.join(''))), malformed };
}

test('200,000 rows, 1% malformed: exact counts and lines, memory bounded', async () => {
  const { body, malformed } = volumeFile();
  const list = await createList(app, { name: 'Volume' });
  collectGarbage();
  const idle = process.memoryUsage().rss;
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 25);
  const started = performance.now();
  try {
    const job = await startImport(app, list.id, body);
    const end = await waitForImport(app, list.id, job.id, 120_000);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(end.state, 'finished', JSON.stringify(end));
    assert.deepEqual(
      [end.rowsRead, end.added, end.updated, end.unchanged, end.refused],
      [ROWS, ROWS - malformed.length, 0, 0, malformed.length],
    );
    assert.deepEqual(end.refusals.map((entry) => entry.line), malformed.slice(0, 100));
    const counts = (await json<{ data: ListBody }>(await app.api(`/lists/${list.id}`))).data.counts;
    assert.equal(counts.subscribed, ROWS - malformed.length);
    console.log(`# ${ROWS} rows in ${seconds.toFixed(1)} s (${Math.round(ROWS / seconds)} rows/s) on ${app.mailroom.db.kind}; RSS ${Math.round(idle / MB)} MB idle, peak ${Math.round(peak / MB)} MB`);
    assert.ok(seconds < 60, `took ${seconds.toFixed(1)} s`);
  } finally {
    clearInterval(sampler);
  }
  assert.ok(peak - idle < 200 * MB, `RSS rose by ${Math.round((peak - idle) / MB)} MB`);
});
