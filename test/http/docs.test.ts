import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import Fastify from 'fastify';
import { errorHandler } from '../../src/http/errors.js';
import { docsRoutes } from '../../src/http/routes/docs.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * The API reference page (issue 19): /docs is Scalar's standalone build, copied into dist at
 * build time (scripts/copy-docs.mjs, run here as `npm run build` does) and served by Mailroom
 * itself, over /openapi.json, with a CSP that allows nothing from elsewhere.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCALAR = join(ROOT, 'node_modules/@scalar/api-reference/dist/browser/standalone.js');
let app: TestApp;

before(async () => {
  execFileSync(process.execPath, ['scripts/copy-docs.mjs'], { cwd: ROOT });
  app = await startTestApp();
});
after(() => app.stop());

test('GET /docs is the page: Scalar from Mailroom, pointed at /openapi.json, a CSP of self only', async () => {
  const response = await fetch(`${app.url}/docs`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  const html = await response.text();
  assert.ok(html.includes('<script src="/docs/scalar.js"></script>'), 'the page loads Scalar from Mailroom');
  assert.ok(html.includes('<script src="/docs/init.js"></script>'), 'and starts it from a file (no inline script)');
  assert.ok(!/https?:\/\//.test(html), 'the page names nothing elsewhere');
  const csp = response.headers.get('content-security-policy') ?? '';
  for (const rule of ["default-src 'self'", "script-src 'self'", "connect-src 'self'", "font-src 'self' data:", "frame-ancestors 'none'", "object-src 'none'"]) assert.ok(csp.includes(rule), `${rule} in ${csp}`);
  assert.ok(!/script-src[^;]*unsafe/.test(csp), 'no unsafe script source');
  assert.ok(!/https?:/.test(csp), 'no other origin in the CSP');
});

test('GET /docs/scalar.js is the bundled standalone build; /docs/init.js starts it without fonts, telemetry or agent', async () => {
  const script = await fetch(`${app.url}/docs/scalar.js`);
  assert.equal(script.status, 200);
  assert.match(script.headers.get('content-type') ?? '', /^application\/javascript/);
  assert.ok(Buffer.from(await script.arrayBuffer()).equals(readFileSync(SCALAR)), 'the bytes of @scalar/api-reference standalone.js');
  const init = await fetch(`${app.url}/docs/init.js`);
  assert.equal(init.status, 200);
  const text = await init.text();
  const configuration = JSON.parse(/createApiReference\('#api-reference', (.*)\);/.exec(text)?.[1] ?? 'null') as Record<string, unknown> | null;
  assert.ok(configuration, `init.js configures Scalar: ${text}`);
  assert.equal(configuration.url, '/openapi.json');
  assert.equal(configuration.withDefaultFonts, false, "no fonts from Scalar's CDN");
  assert.equal(configuration.telemetry, false, 'no telemetry');
  assert.deepEqual(configuration.agent, { disabled: true }, 'no AI agent');
  assert.equal((await fetch(`${app.url}/openapi.json`)).status, 200, 'the document it reads is served without a key');
});

test('without the build, /docs answers 503 and says how to build it', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'mailroom-docs-'));
  const bare = Fastify();
  bare.setErrorHandler(errorHandler);
  await bare.register(docsRoutes, { dir: empty });
  try {
    for (const path of ['/docs', '/docs/scalar.js', '/docs/init.js']) {
      const response = await bare.inject({ method: 'GET', url: path });
      assert.equal(response.statusCode, 503, path);
      const body = response.json<{ error: { code: string; message: string } }>();
      assert.equal(body.error.code, 'DOCS_NOT_BUILT');
      assert.match(body.error.message, /npm run build/);
    }
  } finally {
    await bare.close();
    rmSync(empty, { recursive: true, force: true });
  }
});
