import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TEST_KEY, eventually } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { freePort, prepareStore, runCli, spawnMailroom, type MailroomProcess } from '../helpers/process.js';
import { CLI_ARGS } from '../helpers/paths.js';

let store: TestStore;
let server: MailroomProcess;
let work: string;
let env: Record<string, string>;

before(async () => {
  store = await createTestStore();
  await prepareStore(store, ['example.com']);
  server = await spawnMailroom(store.env, 'api,worker');
  work = mkdtempSync(join(tmpdir(), 'mailroom-client-'));
  env = { ...store.env, MAILROOM_URL: server.url!, MAILROOM_API_KEY: TEST_KEY };
});
after(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
  rmSync(work, { recursive: true, force: true });
  await store.dispose();
});

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
  assert.equal(response.status, 200, `GET ${path}: ${response.status}`);
  return (await response.json()) as T;
}

async function messagesTo(address: string): Promise<{ id: string; subject: string; status: string }[]> {
  return (await api<{ data: { id: string; subject: string; status: string }[] }>(`/emails?to=${encodeURIComponent(address)}&limit=100`)).data;
}

test('send: from flags, from a JSON request, and from an .eml sent as its parsed fields', async () => {
  const flags = await runCli(['send', '--from', 'news@example.com', '--to', 'ann@example.org', '--subject', 'Hello', '--text', 'Hi Ann'], env);
  assert.equal(flags.code, 0, flags.stderr);
  const [id, to, status] = flags.stdout.trim().split('\t');
  assert.equal(to, 'ann@example.org');
  assert.equal(status, 'QUEUED');
  const stored = await api<{ data: { subject: string; from: string } }>(`/emails/${id}`);
  assert.equal(stored.data.subject, 'Hello', 'the message the command sent is stored');

  writeFileSync(join(work, 'request.json'), JSON.stringify({ from: 'news@example.com', to: 'bob@example.org', subject: 'From JSON', text: 'json body' }));
  const json = await runCli(['send', join(work, 'request.json'), '--json'], env);
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { data: { subject: string } }).data.subject, 'From JSON', '--json prints the API answer');

  writeFileSync(join(work, 'note.eml'), 'From: News <news@example.com>\r\nTo: carl@example.org\r\nSubject: From an eml\r\nContent-Type: text/plain\r\n\r\nplain body\r\n');
  const eml = await runCli(['send', join(work, 'note.eml')], env);
  assert.equal(eml.code, 0, eml.stderr);
  const [carl] = await messagesTo('carl@example.org');
  assert.equal(carl?.subject, 'From an eml', 'the .eml was sent as its subject and body');

  const bad = await runCli(['send', '--from', 'news@example.com', '--to', 'not an address', '--subject', 'x', '--text', 'y'], env);
  assert.equal(bad.code, 1, 'a refused request is exit 1');
  assert.match(bad.stderr, /^mailroom: HTTP 400 VALIDATION_ERROR: /, bad.stderr);
  const usage = await runCli(['send', '--to', 'x@example.org'], env);
  assert.equal(usage.code, 2, 'a missing --from is a usage error');
  const noKey = await runCli(['send', '--from', 'news@example.com', '--to', 'a@example.org', '--subject', 'x', '--text', 'y'], { ...env, MAILROOM_API_KEY: '' });
  assert.match(noKey.stderr, /HTTP 401 .*set MAILROOM_API_KEY/, noKey.stderr);
});

test('templates push is idempotent, pull writes what push reads back unchanged', async () => {
  const dir = join(work, 'templates');
  mkdirSync(dir);
  writeFileSync(join(dir, 'welcome.json'), JSON.stringify({ subject: 'Welcome {{name}}', defaults: { name: 'friend' } }));
  writeFileSync(join(dir, 'welcome.txt'), 'Hello {{name}}, your code is {{code}}.');
  writeFileSync(join(dir, 'receipt.json'), JSON.stringify({ subject: 'Receipt', html: '<p>Paid</p>' }));
  const first = await runCli(['templates', 'push', dir], env);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, 'created\treceipt\tversion 1\ncreated\twelcome\tversion 1\n');
  const again = await runCli(['templates', 'push', dir], env);
  assert.equal(again.stdout, 'unchanged\treceipt\tversion 1\nunchanged\twelcome\tversion 1\n', 'unchanged templates get no new version');
  writeFileSync(join(dir, 'welcome.txt'), 'Hello {{name}}, your code: {{code}}.');
  const changed = await runCli(['templates', 'push', join(dir, 'welcome.json'), '--json'], env);
  assert.deepEqual(JSON.parse(changed.stdout), { templates: [{ name: 'welcome', action: 'updated', version: 2 }] });

  const pulled = join(work, 'pulled');
  const pull = await runCli(['templates', 'pull', pulled], env);
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal(readFileSync(join(pulled, 'welcome.txt'), 'utf8'), 'Hello {{name}}, your code: {{code}}.');
  assert.ok(existsSync(join(pulled, 'receipt.html')) && !existsSync(join(pulled, 'receipt.txt')), 'each part in its own file');
  const roundTrip = await runCli(['templates', 'push', pulled], env);
  assert.equal(roundTrip.stdout, 'unchanged\treceipt\tversion 1\nunchanged\twelcome\tversion 2\n', 'what was pulled pushes back unchanged');
});

test('send-bulk killed mid-run and run again sends every row exactly once', async () => {
  const rows = Array.from({ length: 24 }, (_, index) => `bulk${index}@example.org,${index}`);
  const csv = join(work, 'people.csv');
  writeFileSync(csv, `email,code\n${rows.join('\n')}\n`);
  const args = ['send-bulk', '--csv', csv, '--template', 'welcome', '--from', 'news@example.com', '--batch-size', '4', '--rate', '8'];
  // The first run is killed (SIGKILL: no clean-up) once it has finished two batches of six.
  const child = spawn(process.execPath, [...CLI_ARGS, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let progress = '';
  child.stderr.on('data', (chunk: Buffer) => (progress += chunk.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await eventually(async () => /batch 2\/6/.test(progress) || undefined, 60_000, 'two batches');
  child.kill('SIGKILL');
  await exited;
  const state = JSON.parse(readFileSync(`${csv}.mailroom-progress`, 'utf8')) as { done: Record<string, unknown> };
  const doneBefore = Object.keys(state.done).length;
  assert.ok(doneBefore >= 2 && doneBefore < 6, `the killed run left a partial progress file (${doneBefore} batches)`);

  const rerun = await runCli(args, env);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stdout, new RegExp(`^24 of 24 rows accepted, 0 refused \\(${doneBefore} batch\\(es\\) finished by an earlier run\\)`), rerun.stdout);
  for (let index = 0; index < 24; index++) {
    const received = await messagesTo(`bulk${index}@example.org`);
    assert.equal(received.length, 1, `bulk${index}@example.org got ${received.length} messages`);
    assert.equal(received[0]!.subject, 'Welcome friend', 'the template with its defaults');
  }
  // A run killed after the server committed a batch but before the progress file said so: the
  // batch is sent again under its key, and the server answers what it stored.
  const saved = JSON.parse(readFileSync(`${csv}.mailroom-progress`, 'utf8')) as { done: Record<string, unknown> };
  delete saved.done['6'];
  writeFileSync(`${csv}.mailroom-progress`, JSON.stringify(saved));
  const replay = await runCli([...args, '--json'], env);
  assert.equal(replay.code, 0, replay.stderr);
  assert.equal((JSON.parse(replay.stdout) as { sentNow: number }).sentNow, 4, 'the replayed batch answers its four messages');
  for (let index = 20; index < 24; index++) assert.equal((await messagesTo(`bulk${index}@example.org`)).length, 1, `bulk${index}@example.org still got one message`);
  const third = await runCli([...args, '--json'], env);
  assert.equal((JSON.parse(third.stdout) as { sentNow: number; skippedBatches: number }).sentNow, 0, 'a finished run sends nothing more');
  writeFileSync(csv, `email,code\n${rows.join('\n')}\nlate@example.org,99\n`);
  const changed = await runCli(args, env);
  assert.equal(changed.code, 2, 'a changed CSV is not resumed against the old progress');
  assert.match(changed.stderr, /the CSV changed since/);
});

test('tail prints each new event as one line', async () => {
  const child = spawn(process.execPath, [...CLI_ARGS, 'tail', '--type', 'QUEUED'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    const sent = await eventually(async () => {
      // The stream starts at the events after it opened: send until one shows.
      const result = await runCli(['send', '--from', 'news@example.com', '--to', 'tail@example.org', '--subject', 'tailed', '--text', 'x'], env);
      const id = result.stdout.split('\t')[0]!;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return output.includes(id) ? id : undefined;
    }, 60_000, 'the event in tail');
    assert.match(output, new RegExp(`^\\S+Z\\tQUEUED\\t${sent}\\ttail@example\\.org$`, 'm'), output);
  } finally {
    child.kill('SIGTERM');
  }
});

test('suppressions import and export', async () => {
  const file = join(work, 'suppressed.csv');
  writeFileSync(file, 'address,reason\ngone@example.org,HARD_BOUNCE\nno@example.org,UNSUBSCRIBE\n');
  const imported = await runCli(['suppressions', 'import', file], env);
  assert.equal(imported.code, 0, imported.stderr);
  assert.equal(imported.stdout, '2 row(s): 2 added, 0 already listed\n');
  const exported = await runCli(['suppressions', 'export'], env);
  assert.match(exported.stdout, /^gone@example\.org,HARD_BOUNCE,/m, exported.stdout);
  const json = await runCli(['suppressions', 'export', '--json'], env);
  assert.equal((JSON.parse(json.stdout) as unknown[]).length, 2);
});

test('doctor: one line per check; a FAIL when the server does not answer', async () => {
  const smtpPort = String(await freePort());
  const doctorEnv = { ...env, MAILROOM_ROLES: 'api,worker', MAILROOM_SMTP_PORT: smtpPort };
  const result = await runCli(['doctor'], doctorEnv);
  assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /^OK {4}configuration: loaded/m);
  assert.match(result.stdout, /^OK {4}HTTP: /m);
  assert.match(result.stdout, /^OK {4}clock: within a second/m);
  assert.match(result.stdout, /^OK {4}database: reachable/m);
  assert.match(result.stdout, /^WARN {2}SMTP: .*not among MAILROOM_ROLES/m);
  assert.match(result.stdout, /^(WARN|FAIL) {2}domain example\.com: /m, 'each domain is checked');
  const down = await runCli(['doctor', '--json'], { ...doctorEnv, MAILROOM_URL: `http://127.0.0.1:${await freePort()}` });
  assert.equal(down.code, 1, 'a server that does not answer is a FAIL');
  const report = JSON.parse(down.stdout) as { ok: boolean; checks: { check: string; level: string }[] };
  assert.equal(report.checks.find((check) => check.check === 'HTTP')?.level, 'FAIL');
});
