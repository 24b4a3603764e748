import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createLogger } from '../../src/shared/log.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';
import { buildRequest, HOSTILE_JSON, HOSTILE_URL, operationsOf, sample, targetsOf, type BuiltRequest, type Mutation, type Operation } from '../helpers/openapiFuzz.js';

/**
 * Every operation of the OpenAPI document, attacked field by field (SPEC section 11: never a 500
 * for anything a client sends; a refused request stores nothing). Two parts:
 * - a sweep: each parameter and body field of each operation gets hostile values (each of them
 *   once with npm run test:fuzz; a stride of them in npm test, see STRIDE);
 * - a property run (fast-check, fixed seed): random operations with one to three fields
 *   attacked at once.
 * After every answer: no 5xx, an error is SPEC-shaped JSON, a 4xx left every table as it was,
 * and nothing reached the database's own refusal (the log's "schema let through" warning): the
 * schema layer, not the database, must be what refuses.
 * MAILROOM_FUZZ_RUNS sets the property run's size (npm run test:fuzz runs a long one) and
 * MAILROOM_FUZZ_SEED its seed.
 */
const RUNS = Number(process.env.MAILROOM_FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.MAILROOM_FUZZ_SEED ?? 15);
/**
 * The sweep's stride: field number i gets the hostile values j with (i + j) % STRIDE === 0, so
 * every field is attacked and every value is used, on a third of the pairs. The whole cross
 * product (about 9,000 requests, two minutes of the suite's ten) runs with npm run test:fuzz
 * (MAILROOM_FUZZ_RUNS set).
 */
const STRIDE = process.env.MAILROOM_FUZZ_RUNS ? 1 : 3;

let app: TestApp;
let dns: TestDnsServer;
let operations: Operation[];
const seeds: Record<string, string> = {};
const logLines: string[] = [];
let tables: string[];

before(async () => {
  dns = await startDnsServer({});
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  // The api role alone: no worker or dispatcher writes in the background, so a table that
  // changed changed because of the request.
  app = await startTestApp({ MAILROOM_ROLES: 'api', MAILROOM_DNS_SERVERS: dns.address, MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' }, { log: createLogger('warn', sink) });
  operations = operationsOf(await (await app.api('/openapi.json')).json());
  tables = (await app.mailroom.db.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).map((row) => row.name);

  // Real objects, so that attacks on one field reach code past the look-up of the others.
  const created = async (path: string, json: unknown) => {
    const response = await app.api(path, { method: 'POST', json });
    assert.ok(response.status < 300, `seeding ${path}: ${response.status} ${await response.clone().text()}`);
    return ((await response.json()) as { data: { id: string | number } }).data;
  };
  seeds['/templates/{id}:id'] = String((await created('/templates', { name: 'fuzz-template', subject: 'Hi {{name}}', text: 'Hello {{name}}' })).id);
  seeds['/templates/{id}/versions/{version}:version'] = '1';
  seeds['/webhooks/{id}:id'] = String((await created('/webhooks', { url: 'http://127.0.0.1:9/hook' })).id);
  seeds['/domains/{id}:id'] = String((await created('/domains', { domain: 'fuzz-seed.example.com' })).id);
  seeds['/senders/{id}:id'] = String((await created('/senders', { email: 'fuzz-seed@example.com' })).id);
  seeds['/smtp-credentials/{id}:id'] = String((await created('/smtp-credentials', { type: 'password', name: 'fuzz' })).id);
  // A key of its own to revoke: never the key the sweep itself uses.
  seeds['/api-keys/{id}:id'] = String((await created('/api-keys', { name: 'fuzz' })).id);
  seeds['/emails/{id}:id'] = String((await created('/emails', { to: 'seed@example.com', from: 'seed@example.com', subject: 's', text: 't' })).id);
  await created('/emails', { to: 'seed@example.com', from: 'seed@example.com', subject: 's', text: 't', campaignId: 'fuzz-campaign', tags: ['fuzz'] });
  // The report routes read any campaignId messages carry; the others need a campaign of the account.
  for (const path of ['/campaigns/{id}/report', '/campaigns/{id}/links', '/campaigns/{id}/recipients.csv']) seeds[`${path}:id`] = 'fuzz-campaign';
  await created('/suppressions', { address: 'fuzz.listed@example.com' });
  seeds['/suppressions/{address}:address'] = encodeURIComponent('fuzz.listed@example.com');
  seeds['/sandbox/messages/{id}:id'] = '1';
  const list = String((await created('/lists', { name: 'fuzz-list' })).id);
  seeds['/lists/{id}:id'] = list;
  seeds['/campaigns/{id}:id'] = String((await created('/campaigns', { name: 'fuzz-campaign', from: 'seed@example.com', subject: 'Hi {{name}}', html: '<p>{{plan}}</p>', lists: [list] })).id);
  await created(`/lists/${list}/contacts`, { email: 'fuzz.member@example.com', name: 'Fuzz', attributes: { plan: 'pro' } });
  seeds['/lists/{id}/contacts/{contact}:contact'] = encodeURIComponent('fuzz.member@example.com');
  seeds['/contacts/{contact}:contact'] = encodeURIComponent('fuzz.member@example.com');
  const job = await app.api(`/lists/${list}/imports`, { method: 'POST', body: 'email\nfuzz.imported@example.com\n', headers: { 'content-type': 'text/csv' } });
  assert.equal(job.status, 202, await job.clone().text());
  const importId = ((await job.json()) as { data: { id: string } }).data.id;
  seeds['/lists/{id}/imports/{importId}:importId'] = importId;
  await importsSettled();
  for (const [key, value] of Object.entries({ ...seeds })) {
    // Sub-routes share their parent's id: /templates/{id}/versions takes the template's.
    const [prefix, name] = key.split(':') as [string, string];
    for (const operation of operations) if (operation.path.startsWith(prefix) && !seeds[`${operation.path}:${name}`]) seeds[`${operation.path}:${name}`] = value;
  }
});

after(async () => {
  await app?.stop();
  await dns?.close();
});

/** Imports run in the background: every one has ended before a request's effects are compared. */
async function importsSettled(): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const [row] = await app.mailroom.db.query<{ n: number }>("SELECT count(*)::int AS n FROM list_imports WHERE state = 'running'");
    if (Number(row?.n) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('imports still running after 30 s');
}

async function tableCounts(): Promise<string> {
  const sql = `SELECT ${tables.map((table) => `(SELECT count(*) FROM "${table}") AS "${table}"`).join(', ')}`;
  return JSON.stringify((await app.mailroom.db.query(sql))[0]);
}

interface Outcome {
  status: number;
  problem: string | null;
}

/**
 * The table counts after the last refused attack: a refusal changes nothing, so they are the
 * counts before the next one, and each attack reads them once instead of twice (the sweep makes
 * thousands). After an accepted request they are read again.
 */
let countsAfterRefusal: string | null = null;

/** Sends one request and checks the answer; returns what went wrong, if anything. */
async function attack(request: BuiltRequest): Promise<Outcome> {
  const before = countsAfterRefusal ?? await tableCounts();
  countsAfterRefusal = null;
  const logged = logLines.length;
  const controller = new AbortController();
  const response = await app.api(request.url, {
    method: request.method,
    ...(request.body === undefined ? {} : { body: request.body, headers: { 'content-type': 'application/json' } }),
    signal: controller.signal,
  });
  const label = `${request.method} ${request.url.slice(0, 200)} ${request.body?.slice(0, 200) ?? ''}`;
  const streaming = (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
  const text = streaming ? '' : await response.text();
  if (streaming) controller.abort();
  if (response.status >= 500) return { status: response.status, problem: `${label} answered ${response.status}: ${text.slice(0, 300)}` };
  if (response.status >= 400) {
    let shaped = false;
    try {
      const body = JSON.parse(text) as { meta?: { transactionId?: unknown }; error?: { code?: unknown; message?: unknown; details?: unknown }; requestError?: { serviceException?: { messageId?: unknown; text?: unknown } } };
      // Infobip's door (docs/INFOBIP.md) answers in Infobip's error envelope instead.
      const infobip = request.url.startsWith('/email/');
      shaped = infobip
        ? typeof body.requestError?.serviceException?.messageId === 'string' && typeof body.requestError.serviceException.text === 'string'
        : typeof body.meta?.transactionId === 'string' && typeof body.error?.code === 'string' && typeof body.error.message === 'string' && Array.isArray(body.error.details);
    } catch {
      shaped = false;
    }
    if (!shaped) return { status: response.status, problem: `${label} answered ${response.status} without SPEC section 11 JSON (or Infobip's envelope on its door): ${text.slice(0, 300)}` };
    if (/node_modules|at \w+ \(|SQLSTATE|syntax error/.test(text)) return { status: response.status, problem: `${label} leaked internals: ${text.slice(0, 300)}` };
    const after = await tableCounts();
    if (after !== before) return { status: response.status, problem: `${label} answered ${response.status} but stored something: ${before} -> ${after}` };
    countsAfterRefusal = after;
  }
  const complaint = logLines.slice(logged).find((line) => /"level":(50|60)|schema let through/.test(line));
  if (complaint) return { status: response.status, problem: `${label} logged: ${complaint.slice(0, 400)}` };
  return { status: response.status, problem: null };
}

test('sweep: every field of every operation with hostile values (every one of them under test:fuzz)', async () => {
  const problems: string[] = [];
  const statuses = new Map<number, number>();
  let requests = 0;
  let fieldNumber = 0;
  for (const operation of operations) {
    for (const field of targetsOf(operation, operation.body ? sample(operation.body) : null)) {
      const values = field.startsWith('body:') ? HOSTILE_JSON : HOSTILE_URL;
      const offset = fieldNumber++;
      for (const [index, value] of values.entries()) {
        if ((offset + index) % STRIDE !== 0) continue;
        const outcome = await attack(buildRequest(operation, seeds, [{ field, value }]));
        requests++;
        statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
        if (outcome.problem && problems.length < 30) problems.push(outcome.problem);
      }
    }
  }
  assert.deepEqual(problems, [], `${problems.length} problems in ${requests} requests`);
  assert.ok(requests > 2_000 / STRIDE, `only ${requests} requests: the document lost its operations?`);
  // The attacks were refused, not ignored: most answers are 400s.
  assert.ok((statuses.get(400) ?? 0) > requests / 2, `status counts: ${JSON.stringify([...statuses])}`);
});

test('property: random operations with several fields attacked at once', async () => {
  const mutation = (operation: Operation) => {
    const targets = targetsOf(operation, operation.body ? sample(operation.body) : null);
    return fc.tuple(fc.constantFrom(...targets), fc.nat()).map(([field, pick]): Mutation => {
      const values = field.startsWith('body:') ? HOSTILE_JSON : HOSTILE_URL;
      return { field, value: values[pick % values.length]! };
    });
  };
  const attackable = operations.filter((operation) => targetsOf(operation, operation.body ? sample(operation.body) : null).length > 0);
  const scenario = fc.constantFrom(...attackable).chain((operation) => fc.tuple(fc.constant(operation), fc.array(mutation(operation), { minLength: 1, maxLength: 3 })));
  await fc.assert(
    fc.asyncProperty(scenario, async ([operation, mutations]) => {
      const outcome = await attack(buildRequest(operation, seeds, mutations));
      assert.equal(outcome.problem, null);
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
});

test('routes outside the document: tracking, unsubscribe, sender confirmation and the CSV imports', async () => {
  const problems: string[] = [];
  const hidden = ['/t/o/{a}/{b}', '/t/c/{a}/0/{b}/{c}', '/t/c/{a}/{b}/aHR0cHM6Ly9leGFtcGxlLmNvbQ/{c}', '/u/{a}/{b}', '/senders/confirm/{a}'];
  for (const template of hidden) {
    for (const value of HOSTILE_URL) {
      for (const method of template.startsWith('/u/') || template.startsWith('/senders/') ? ['GET', 'POST'] : ['GET']) {
        const url = template.replace(/\{[abc]\}/g, value);
        const response = await app.api(url, { method, key: null });
        await response.arrayBuffer();
        if (response.status >= 500) problems.push(`${method} ${url.slice(0, 120)} answered ${response.status}`);
      }
    }
  }
  const csvs = [
    'address,messageId\nnul@example.com,a\u0000b\n', 'address\na\u0000@example.com\n', 'address,createdAt\nold@example.com,-271821-04-20T00:00:00Z\n',
    'address,createdAt\nfuture@example.com,+275760-09-13T00:00:00Z\n', 'address,createdAt\nbig@example.com,99999-01-01\n', 'address,reason\nr@example.com,\u0000\n',
    `address,messageId\nlong@example.com,${'m'.repeat(100_000)}\n`, '\u0000', '"unterminated', 'address\n=cmd|\' /C calc\'!A0@example.com\n',
  ];
  const listCsvs = [
    ...csvs, 'email,name\na@example.com,"x\u0000"\n', 'email\n"a@example.com\n', `email,note\nb@example.com,${'n'.repeat(100_000)}\n`, '\uFEFFemail\r\nc@example.com\r\n',
    'email,attributes\nd@example.com,"{""__proto__"": {""x"": 1}}"\n', 'email,attributes\ne@example.com,[1]\n', 'email,status\nf@example.com,bounced\n', 'email,=cmd|x\n',
  ];
  for (const [path, bodies] of [['/suppressions/import', csvs], [`/lists/${seeds['/lists/{id}:id']}/imports`, listCsvs]] as const) {
    for (const csv of bodies) {
      const before = await tableCounts();
      const response = await app.api(path, { method: 'POST', body: csv, headers: { 'content-type': 'text/csv' } });
      const text = await response.text();
      await importsSettled();
      if (response.status >= 500) problems.push(`CSV ${JSON.stringify(csv.slice(0, 60))} to ${path} answered ${response.status}: ${text.slice(0, 200)}`);
      else if (response.status >= 400 && (await tableCounts()) !== before) problems.push(`CSV ${JSON.stringify(csv.slice(0, 60))} to ${path} was refused but stored something`);
    }
  }
  const complaint = logLines.find((line) => /"level":(50|60)|schema let through/.test(line));
  if (complaint) problems.push(`logged: ${complaint.slice(0, 400)}`);
  assert.deepEqual(problems, []);
});
