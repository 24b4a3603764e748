import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, test } from 'node:test';
import { parseBounce } from '../../src/bounces/parser/index.js';
import { join } from 'node:path';
import { CLI_ARGS, SHARED } from '../helpers/paths.js';

const CORPUS = join(SHARED, 'data', 'bounces', 'eml') + '/';

function mailroom(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test('bounce parse prints one JSON line per file, in input order', async () => {
  const files = [`${CORPUS}lhost-postfix-02.eml`, `${CORPUS}rfc3834-03.eml`];
  const result = await mailroom(['bounce', 'parse', ...files]);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(lines, [
    {
      file: files[0],
      index: 0,
      bounce: true,
      recipients: [
        { address: 'filtered@example.co.jp', status: '5.2.1', replyCode: '550', reason: 'userunknown', hard: true },
        { address: 'userunknown@example.co.jp', status: '5.1.1', replyCode: '550', reason: 'userunknown', hard: true },
      ],
    },
    { file: files[1], index: 0, bounce: false, recipients: [{ address: 'kijitora@apple.example.com', status: '', replyCode: '', reason: 'vacation', hard: false }] },
  ]);
});

test('an unreadable file is reported on stderr and fails the run, the others are still printed', async () => {
  const good = `${CORPUS}lhost-qmail-01.eml`;
  const result = await mailroom(['bounce', 'parse', '/nonexistent/bounce.eml', good]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot read \/nonexistent\/bounce\.eml/);
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { file: string; bounce: boolean });
  assert.deepEqual(lines.map(({ file, bounce }) => ({ file, bounce })), [{ file: good, bounce: true }]);
});

test('bounce without a subcommand prints its usage and fails', async () => {
  const result = await mailroom(['bounce']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /usage: mailroom bounce parse FILE/);
});

test('an mbox file is one line per message, with its index, each parsed as the message alone', async () => {
  const names = ['lhost-postfix-02.eml', 'lhost-qmail-01.eml', 'rfc3834-03.eml'];
  // mboxrd: a body line starting with "From " is written ">From "; the reader takes the ">" off.
  const mbox = names
    .map((name) => `From MAILER-DAEMON Mon Dec  7 10:0${names.indexOf(name)}:00 2026\n${readFileSync(`${CORPUS}${name}`, 'latin1').replace(/^(>*From )/gm, '>$1')}\n`)
    .join('');
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-mbox-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bounces.mbox');
  writeFileSync(file, mbox, 'latin1');
  const result = await mailroom(['bounce', 'parse', file, `${CORPUS}${names[0]}`]);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { file: string; index: number; bounce: boolean; recipients: unknown[] });
  assert.deepEqual(lines.map(({ file, index }) => [file, index]), [[file, 0], [file, 1], [file, 2], [`${CORPUS}${names[0]}`, 0]]);
  for (const [index, name] of names.entries()) {
    const alone = parseBounce(readFileSync(`${CORPUS}${name}`));
    const line = lines[index]!;
    assert.equal(line.bounce, alone.bounce, name);
    assert.deepEqual(line.recipients, alone.recipients.map(({ address, status, replyCode, reason, hard }) => ({ address, status, replyCode, reason, hard })), name);
  }
  assert.deepEqual(lines[3]!.recipients, lines[0]!.recipients);
});
