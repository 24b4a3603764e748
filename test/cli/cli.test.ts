import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, eventually } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { prepareStore, spawnMailroom } from '../helpers/process.js';
import { CLI_ARGS } from '../helpers/paths.js';


function mailroom(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      env: { ...process.env, MAILROOM_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

let store: TestStore;
before(async () => {
  store = await createTestStore();
  await prepareStore(store);
});
after(() => store.dispose());

test('accounts, keys and domains are managed from the command line, and a created key sends', async () => {
  const created = await mailroom(['accounts', 'create', 'acme'], store.env);
  assert.equal(created.code, 0, created.stderr);
  const duplicate = await mailroom(['accounts', 'create', 'acme'], store.env);
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.stderr, /^mailroom: account "acme" already exists\n$/);

  const key = await mailroom(['keys', 'create', '--account', 'acme', '--operator', 'ops', '--name', 'ci'], store.env);
  assert.equal(key.code, 0, key.stderr);
  const plain = /^(mr_\S+)$/m.exec(key.stdout)?.[1];
  assert.ok(plain, key.stdout);

  const domain = await mailroom(['domains', 'add', 'Acme.Example', '--account', 'acme', '--verified'], store.env);
  assert.equal(domain.code, 0, domain.stderr);
  assert.match(domain.stdout, /domain acme\.example added to acme \(verified\)/);
  assert.match(domain.stdout, /_domainkey\.acme\.example TXT "v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{300,}"/);

  const listed = await mailroom(['accounts', 'list'], store.env);
  assert.match(listed.stdout, /^default\tactive\t1 key\(s\)/m);
  assert.match(listed.stdout, /^acme\tactive\t1 key\(s\)/m);
  const reader = await mailroom(['keys', 'create', '--account', 'acme', '--name', 'dashboard', '--scopes', 'read'], store.env);
  assert.match(reader.stdout, /^key \d+ for account acme, scopes read \(shown once/m);
  const badScopes = await mailroom(['keys', 'create', '--account', 'acme', '--scopes', 'read,root'], store.env);
  assert.equal(badScopes.code, 1);
  assert.match(badScopes.stderr, /scopes are a comma-separated list of send, read and admin/);
  const keys = await mailroom(['keys', 'list', '--account', 'acme'], store.env);
  assert.match(keys.stdout, /\tops\tall scopes\tci\tactive$/m);
  assert.match(keys.stdout, /\tdefault\tread\tdashboard\tactive$/m);
  assert.ok(!keys.stdout.includes(plain), 'a listed key shows only its prefix');

  // Console sign-in: the password from MAILROOM_OPERATOR_PASSWORD (or standard input), never an argument.
  const operator = await mailroom(['operators', 'create', 'carol', '--account', 'acme', '--password'], { ...store.env, MAILROOM_OPERATOR_PASSWORD: 'a long enough password' });
  assert.equal(operator.code, 0, operator.stderr);
  assert.match(operator.stdout, /operator carol of account acme can sign in to the console \(operator\)/);
  const short = await mailroom(['operators', 'passwd', 'carol', '--account', 'acme'], { ...store.env, MAILROOM_OPERATOR_PASSWORD: 'too short' });
  assert.equal(short.code, 1);
  assert.match(short.stderr, /at least 12 characters/);
  const operators = await mailroom(['operators', 'list', '--account', 'acme'], store.env);
  assert.match(operators.stdout, /^carol\toperator\tcan sign in$/m);
  assert.match(operators.stdout, /^ops\toperator\tno password$/m);

  const server = await spawnMailroom({ ...store.env, MAILROOM_BOOTSTRAP_API_KEY: '' }, 'api,worker');
  try {
    const response = await fetch(`${server.url}/emails`, {
      method: 'POST',
      headers: { authorization: `App ${plain}`, 'content-type': 'application/json' },
      body: JSON.stringify(SEED_REQUEST),
    });
    assert.equal(response.status, 200);
    const { data } = (await response.json()) as { data: { userName: string; operator: string; id: string } };
    assert.equal(data.userName, 'acme');
    assert.equal(data.operator, 'ops');
    const signIn = await fetch(`${server.url}/session`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: 'acme', operator: 'carol', password: 'a long enough password' }),
    });
    assert.equal(signIn.status, 200, await signIn.clone().text());
    await eventually(async () => {
      const read = await fetch(`${server.url}/emails/${data.id}`, { headers: { authorization: `App ${plain}` } });
      return ((await read.json()) as { data: { status: string } }).data.status === 'DELIVERED' || undefined;
    });
  } finally {
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  }

  const suspended = await mailroom(['accounts', 'suspend', 'acme'], store.env);
  assert.equal(suspended.code, 0, suspended.stderr);
  const again = await spawnMailroom({ ...store.env, MAILROOM_BOOTSTRAP_API_KEY: '' }, 'api');
  try {
    const response = await fetch(`${again.url}/emails`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plain}`, 'content-type': 'application/json' },
      body: JSON.stringify(SEED_REQUEST),
    });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'ACCOUNT_SUSPENDED');
  } finally {
    again.child.kill('SIGTERM');
    await again.exited;
  }
  const reinstated = await mailroom(['accounts', 'reinstate', 'acme'], store.env);
  assert.equal(reinstated.code, 0, reinstated.stderr);
  assert.match(reinstated.stdout, /reinstated; its bounce and complaint rates start over/);
  assert.match((await mailroom(['accounts', 'list'], store.env)).stdout, /^acme\tactive\t/m);
  const limited = await mailroom(['accounts', 'limits', 'acme', '--per-second', '5', '--per-day', '1000'], store.env);
  assert.equal(limited.code, 0, limited.stderr);
  assert.equal(limited.stdout, 'account acme: 5 per second, 1000 per day\n');
  const badLimit = await mailroom(['accounts', 'limits', 'acme', '--per-day', 'lots'], store.env);
  assert.equal(badLimit.code, 2);
  assert.match(badLimit.stderr, /--per-day takes a count of messages/);
  const unknown = await mailroom(['accounts', 'reinstate', 'no-such-co'], store.env);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no account named "no-such-co"/);
  const revoke = await mailroom(['keys', 'revoke', '1', '--account', 'acme'], store.env);
  assert.equal(revoke.code, 2, 'key 1 belongs to the default account, not acme');
});

test('a bad setting stops start-up with one line naming it', async () => {
  const result = await mailroom(['start'], { ...store.env, MAILROOM_HTTP_PORT: 'eighty' });
  assert.equal(result.code, 1);
  assert.equal(result.stderr, 'mailroom: invalid MAILROOM_HTTP_PORT (environment): expected an integer from 0 to 65535, got "eighty"\n');
});

test('migrate applies the schema once and then reports it up to date', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-migrate-'));
  try {
    const env = { MAILROOM_DATA_DIR: dir, MAILROOM_DATABASE_URL: store.settings.databaseUrl };
    if (!store.settings.databaseUrl) {
      const first = await mailroom(['migrate'], env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^applied: 001_init/);
    }
    const second = await mailroom(['migrate'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'database is up to date\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two processes cannot open one embedded data directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-lock-'));
  const env = { MAILROOM_DATA_DIR: dir, MAILROOM_DATABASE_URL: '' };
  const first = await spawnMailroom(env, 'api');
  try {
    const second = await mailroom(['start', '--roles', 'api'], { ...env, MAILROOM_HTTP_PORT: '0' });
    assert.equal(second.code, 1);
    assert.match(second.stderr, /^mailroom: data directory .* is in use by another Mailroom process\n$/);
    assert.equal((await fetch(`${first.url}/readyz`)).status, 200, 'the first process is unharmed');
  } finally {
    first.child.kill('SIGTERM');
    await first.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
