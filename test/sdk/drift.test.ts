import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { generateSource } from '../../packages/sdk/scripts/generator.js';
import { loadOpenApiDocument } from '../../packages/sdk/scripts/openApiDocument.js';

/**
 * The SDK is generated from the OpenAPI document the routes declare: a route whose schema changed
 * without the SDK regenerated fails here, with the command that fixes it.
 */
test('packages/sdk/src/generated.ts is what the current routes generate', { timeout: 120_000 }, async () => {
  const expected = generateSource(await loadOpenApiDocument());
  const committed = await readFile(new URL('../../packages/sdk/src/generated.ts', import.meta.url), 'utf8');
  if (committed === expected) return;
  const committedLines = committed.split('\n');
  const expectedLines = expected.split('\n');
  const line = expectedLines.findIndex((text, index) => text !== committedLines[index]);
  assert.fail(
    'packages/sdk/src/generated.ts is out of date with the API: run `npm run sdk:generate` and commit the result.\n' +
    `First difference at line ${line + 1}:\n  committed: ${committedLines[line] ?? '(end of file)'}\n  generated: ${expectedLines[line] ?? '(end of file)'}`,
  );
});
