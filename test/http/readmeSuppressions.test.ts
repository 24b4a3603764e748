import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Issue 19: the README's suppression list commands work as written. Each `curl` line of that
 * block is read from README.md and carried out with fetch (npm test needs nothing but Node), with
 * curl's meaning of the options the block uses: -X, -H, -d, --data-binary @FILE and `> FILE`.
 */
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function suppressionBlock(): string {
  const block = README.split('```sh\n').map((part) => part.split('\n```')[0]!).find((part) => part.includes('/suppressions/import'));
  assert.ok(block, 'the README has a block of suppression commands');
  return block;
}

/** Shell words of one command line: single and double quotes, $KEY expanded, a trailing # comment dropped. */
function words(line: string, key: string): string[] {
  const result: string[] = [];
  const pattern = /'([^']*)'|"([^"]*)"|(#.*$)|(\S+)/g;
  for (const match of line.matchAll(pattern)) {
    if (match[3] !== undefined) break;
    result.push((match[1] ?? match[2] ?? match[4] ?? '').replaceAll('$KEY', key));
  }
  return result;
}

let app: TestApp;
let dir: string;
before(async () => {
  app = await startTestApp();
  dir = mkdtempSync(join(tmpdir(), 'mailroom-readme-'));
});
after(async () => {
  await app.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("the README's suppression commands, run as written, all succeed", async () => {
  const commands = suppressionBlock().replace(/\\\n\s*/g, ' ').split('\n').filter((line) => line.startsWith('curl '));
  assert.ok(commands.length >= 6, `the block's commands: ${commands.length}`);
  const ran: string[] = [];
  for (const command of commands) {
    const argv = words(command, app.key);
    let method = 'GET';
    let url = '';
    let body: string | Uint8Array<ArrayBuffer> | undefined;
    let output: string | null = null;
    const headers = new Headers();
    for (let index = 1; index < argv.length; index++) {
      const word = argv[index]!;
      if (word === '-s') continue;
      else if (word === '-X') method = argv[++index]!;
      else if (word === '-H') {
        const [name, ...value] = argv[++index]!.split(':');
        headers.set(name!.trim(), value.join(':').trim());
      } else if (word === '-d') {
        body = argv[++index]!;
        if (method === 'GET') method = 'POST';
        if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
      } else if (word === '--data-binary') body = new Uint8Array(readFileSync(join(dir, argv[++index]!.replace(/^@/, ''))));
      else if (word === '>') output = join(dir, argv[++index]!);
      else if (/^localhost:3000\//.test(word)) url = word.replace(/^localhost:3000/, app.url);
      else assert.fail(`an option this test does not know: ${word} (in: ${command})`);
    }
    const response = await fetch(url, { method, headers, body });
    const text = await response.text();
    const documented404 = /#.*\b404\b/.test(command) && response.status === 404; // "200 with the entry, or 404"
    assert.ok(response.ok || documented404, `${method} ${url.slice(app.url.length)} answered ${response.status}: ${text}`);
    if (output) writeFileSync(output, text);
    ran.push(`${method} ${new URL(url).pathname}`);
  }
  assert.ok(ran.includes('POST /suppressions/import'), 'the import ran');
  const listed = (await (await app.api('/suppressions?limit=100')).json()) as { data: { address: string; reason: string }[] };
  const reasons = Object.fromEntries(listed.data.map((entry) => [entry.address, entry.reason]));
  assert.equal(reasons['joe@example.org'], 'COMPLAINT', 'the bulk example suppressed its addresses with its reason');
  assert.equal(reasons['ann@example.net'], 'COMPLAINT');
});
