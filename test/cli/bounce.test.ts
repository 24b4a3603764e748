import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
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
      bounce: true,
      recipients: [
        { address: 'filtered@example.co.jp', status: '5.2.1', replyCode: '550', reason: 'userunknown', hard: true },
        { address: 'userunknown@example.co.jp', status: '5.1.1', replyCode: '550', reason: 'userunknown', hard: true },
      ],
    },
    { file: files[1], bounce: false, recipients: [{ address: 'kijitora@apple.example.com', status: '', replyCode: '', reason: 'vacation', hard: false }] },
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
