import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { countOf, createTestStore, type TestStore } from '../helpers/database.js';
import { prepareStore } from '../helpers/process.js';
import { CLI_ARGS } from '../helpers/paths.js';

/**
 * Domain names are refused, never cleaned up, when they hold control or invisible characters:
 * IDNA (domainToASCII) silently drops CR, LF, TAB and zero-width characters, so
 * "example.com\r\nx" used to be stored as "example.comx". Through the API and the CLI alike.
 */

const HIDDEN = ['example.com\r\nx', 'exa\tmple.com', 'example.com\t', '\texample.com', 'example.com\n', 'exa\u200bmple.com', 'ex\u00adample.com', 'exa\u202emple.com', 'exa\u2060mple.com', 'example.com\u0000'];

let store: TestStore;
let app: TestApp;
before(async () => {
  store = await createTestStore();
  await prepareStore(store);
  app = await startTestApp({}, { store });
});
after(async () => {
  await app.stop();
  await store.dispose();
});

const domains = () => countOf(app.mailroom.db, 'SELECT count(*) AS n FROM domains');

test('POST /domains refuses a name with control or invisible characters: 400 naming domain, nothing stored', async () => {
  const before = await domains();
  for (const domain of HIDDEN) {
    const response = await app.api('/domains', { method: 'POST', json: { domain } });
    const body = (await response.json()) as { error: { code: string; details: { field: string }[] } };
    assert.equal(response.status, 400, JSON.stringify(domain));
    assert.equal(body.error.code, 'VALIDATION_ERROR');
    assert.deepEqual(body.error.details.map((detail) => detail.field), ['domain']);
  }
  assert.equal(await domains(), before);
  const names = (await app.mailroom.db.query<{ domain: string }>('SELECT domain FROM domains')).map((row) => row.domain);
  assert.ok(!names.includes('example.comx') && !names.includes('example.com'), names.join(', '));
});

test('a plain name is still accepted as it was: case, a final dot and surrounding spaces, IDN in A-labels', async () => {
  const one = await app.api('/domains', { method: 'POST', json: { domain: ' Shop.Example.COM. ' } });
  assert.equal(one.status, 201, await one.clone().text());
  assert.equal(((await one.json()) as { data: { domain: string } }).data.domain, 'shop.example.com');
  const idn = await app.api('/domains', { method: 'POST', json: { domain: 'bücher.example' } });
  assert.equal(((await idn.json()) as { data: { domain: string } }).data.domain, 'xn--bcher-kva.example');
});

function mailroom(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], { env: { ...process.env, MAILROOM_LOG_LEVEL: 'warn', ...store.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test('the CLI refuses it too (domains add), and names the input with its characters visible', async () => {
  // The CLI opens the same store; PGlite allows one process, so the app is stopped first.
  await app.stop();
  try {
    const added = await mailroom(['domains', 'add', 'cli.example\r\nx', '--account', 'default']);
    assert.equal(added.code, 1, added.stdout);
    assert.match(added.stderr, /^mailroom: not a domain name: "cli\.example\\r\\nx"/);
    const key = await mailroom(['keys', 'create', '--account', 'default', '--name', 'ci\r\nBcc: x']);
    assert.notEqual(key.code, 0, key.stdout);
    assert.match(key.stderr, /name/);
  } finally {
    app = await startTestApp({}, { store });
  }
  const names = (await app.mailroom.db.query<{ domain: string }>('SELECT domain FROM domains')).map((row) => row.domain);
  assert.ok(!names.some((name) => name.startsWith('cli.example')), names.join(', '));
  const keyNames = (await app.mailroom.db.query<{ name: string }>('SELECT name FROM api_keys')).map((row) => row.name);
  assert.ok(!keyNames.some((name) => /[\r\n]/.test(name)), keyNames.join(', '));
});
