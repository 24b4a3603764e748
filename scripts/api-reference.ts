// Writes docs/API.md from the OpenAPI document of a Mailroom started here on a throw-away PGlite
// database (`npm run docs:api`); with --check, fails when docs/API.md is not current.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMailroom } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { renderApiReference, type OpenApiDocument } from '../src/http/apiReference.js';
import { createLogger } from '../src/shared/log.js';

const TARGET = 'docs/API.md';

const dataDir = mkdtempSync(join(tmpdir(), 'mailroom-api-reference-'));
const config = loadConfig({ env: { MAILROOM_HTTP_PORT: '0', MAILROOM_DATA_DIR: dataDir, MAILROOM_LOG_LEVEL: 'silent', MAILROOM_ROLES: 'api' }, cwd: dataDir });
const mailroom = await startMailroom(config, createLogger(config.logLevel));
let text: string;
try {
  const doc = (await (await fetch(`${mailroom.url!}/openapi.json`)).json()) as OpenApiDocument;
  text = renderApiReference(doc);
} finally {
  await mailroom.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
if (process.argv.includes('--check')) {
  const current = readFileSync(TARGET, 'utf8');
  if (current !== text) {
    console.error(`${TARGET} is not current: run npm run docs:api`);
    process.exit(1);
  }
  console.log(`${TARGET} is current`);
} else {
  writeFileSync(TARGET, text);
  console.log(`${TARGET} written (${text.split('\n').length} lines)`);
}
