import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SEED_REQUEST } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { prepareStore, runCli, spawnMailroom, type MailroomProcess } from '../helpers/process.js';

/** Admin commands while `mailroom start` holds the data directory: on PGlite they run inside it, over its admin socket. */
let store: TestStore;
let server: MailroomProcess;
const onPglite = () => !store.settings.databaseUrl;

before(async () => {
  store = await createTestStore();
  await prepareStore(store);
  server = await spawnMailroom(store.env, 'api,worker');
});
after(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
  if (onPglite()) assert.ok(!existsSync(join(store.env.MAILROOM_DATA_DIR!, 'admin.sock')), 'a stopped server removes its admin socket');
  await store.dispose();
});

/** Speaks the admin socket's protocol by hand: one request line, the answer's lines. */
function rawRequest(line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(join(store.env.MAILROOM_DATA_DIR!, 'admin.sock'));
    let answer = '';
    socket.on('connect', () => socket.write(line));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

test('accounts, keys, domains and operators are managed while the server runs, and the new key sends through it', async () => {
  const created = await runCli(['accounts', 'create', 'acme'], store.env);
  assert.equal(created.code, 0, `accounts create: ${created.stderr}`);
  assert.match(created.stdout, /^account acme created; add a key with: mailroom keys create --account acme\n$/);
  const duplicate = await runCli(['accounts', 'create', 'acme'], store.env);
  assert.equal(duplicate.code, 1, 'a duplicate account is refused with exit 1');
  assert.equal(duplicate.stderr, 'mailroom: account "acme" already exists\n', 'the refusal is the same message as without a server');

  const key = await runCli(['keys', 'create', '--account', 'acme', '--name', 'ci'], store.env);
  assert.equal(key.code, 0, `keys create: ${key.stderr}`);
  const plain = /^(mr_\S+)$/m.exec(key.stdout)?.[1];
  assert.ok(plain, `the key is printed once: ${key.stdout}`);

  const domain = await runCli(['domains', 'add', 'acme.example', '--account', 'acme', '--verified'], store.env);
  assert.equal(domain.code, 0, `domains add: ${domain.stderr}`);
  assert.match(domain.stdout, /^domain acme\.example added to acme \(verified\)\npublish DKIM: \S+\._domainkey\.acme\.example TXT "v=DKIM1; k=rsa; p=/);

  const operator = await runCli(['operators', 'create', 'carol', '--account', 'acme', '--password'], { ...store.env, MAILROOM_OPERATOR_PASSWORD: 'a long enough password' });
  assert.equal(operator.code, 0, `operators create: ${operator.stderr}`);
  assert.match(operator.stdout, /operator carol of account acme can sign in to the console \(operator\)/);
  const operators = await runCli(['operators', 'list', '--account', 'acme'], store.env);
  assert.match(operators.stdout, /^carol\toperator\tcan sign in$/m, operators.stdout);
  const badUsage = await runCli(['accounts', 'limits', 'acme', '--per-day', 'lots'], store.env);
  assert.equal(badUsage.code, 2, 'a wrong command line is exit 2 over the socket too');
  assert.match(badUsage.stderr, /--per-day takes a count of messages/);
  const listed = await runCli(['accounts', 'list'], store.env);
  assert.match(listed.stdout, /^acme\tactive\t1 key\(s\)/m, listed.stdout);
  const asJson = JSON.parse((await runCli(['accounts', 'list', '--json'], store.env)).stdout) as { ok: boolean; result: { name: string; activeKeys: number }[] };
  assert.ok(asJson.ok, '--json says the command succeeded');
  assert.deepEqual(asJson.result.find((account) => account.name === 'acme')?.activeKeys, 1, '--json gives the accounts as data');
  const keysJson = JSON.parse((await runCli(['keys', 'list', '--account', 'acme', '--json'], store.env)).stdout) as { result: { name: string }[] };
  assert.deepEqual(keysJson.result.map((entry) => entry.name), ['ci']);
  const help = await runCli(['keys', '--help'], store.env);
  assert.equal(help.code, 0, 'every command has --help');
  assert.match(help.stdout, /^mailroom keys create --account NAME/);

  // The server's own database has them: the key authenticates, the operator signs in.
  const response = await fetch(`${server.url}/emails`, {
    method: 'POST', headers: { authorization: `Bearer ${plain}`, 'content-type': 'application/json' }, body: JSON.stringify({ ...SEED_REQUEST, from: 'news@acme.example' }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(((await response.json()) as { data: { userName: string } }).data.userName, 'acme');
  const signIn = await fetch(`${server.url}/session`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: 'acme', operator: 'carol', password: 'a long enough password' }),
  });
  assert.equal(signIn.status, 200, 'the operator created over the socket signs in');
  assert.match(server.output(), onPglite() ? /admin command over the admin socket/ : /./, 'on PGlite the commands ran inside the server');
});

test('the admin socket is private to its owner and refuses what is not an admin command line', { skip: !process.env.MAILROOM_TEST_DATABASE_URL ? false : 'PostgreSQL: no admin socket' }, async () => {
  const path = join(store.env.MAILROOM_DATA_DIR!, 'admin.sock');
  assert.ok(statSync(path).isSocket(), 'the server listens on <dataDir>/admin.sock');
  assert.equal(statSync(path).mode & 0o777, 0o600, 'only its owner may connect');
  const start = await rawRequest(`${JSON.stringify({ argv: ['start'], password: null, user: 'x' })}\n`);
  assert.match(start, /"start\\" is not an admin command/, start);
  assert.match(start, /\{"exit":2\}/, 'refused with exit 2');
  const notJson = await rawRequest('hello\n');
  assert.match(notJson, /not JSON/, notJson);
  const huge = await rawRequest(`{"argv":["accounts","${'x'.repeat(70 * 1024)}`);
  assert.match(huge, /over 65536 bytes/, 'a request over the limit is refused before it ends');
  const unknownOption = await rawRequest(`${JSON.stringify({ argv: ['accounts', 'list', '--evil'], password: null, user: 'x' })}\n`);
  assert.match(unknownOption, /Unknown option '--evil'/, unknownOption);
  const ok = await rawRequest(`${JSON.stringify({ argv: ['accounts', 'list'], password: null, user: 'x' })}\n`);
  assert.match(ok, /\{"out":"default\\tactive/, ok);
  assert.match(ok, /\{"exit":0\}\n$/, ok);
});
