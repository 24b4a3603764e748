import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from '../../shared/errors.js';

/** The bundled Scalar API reference (`npm run build`: scripts/copy-docs.mjs): dist/docs under the package, from src/ and from dist/ alike. */
export const DOCS_DIR = join(fileURLToPath(new URL('../../../', import.meta.url)), 'dist', 'docs');
export const SCALAR_FILE = 'scalar.js';

/**
 * Scalar's settings: the document from this Mailroom, and nothing from anywhere else (no fonts
 * from fonts.scalar.com, no telemetry, no AI agent, no request proxy): the page works offline and
 * within its Content-Security-Policy.
 */
const SCALAR_CONFIGURATION = {
  url: '/openapi.json',
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  showDeveloperTools: 'never',
  hideClientButton: false,
  theme: 'default',
};

/**
 * Everything from Mailroom itself (self), nothing inline but styles (Scalar sets its themes in
 * <style> elements), fonts and images also as data: URLs (its icons); no frames of it elsewhere.
 */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Mailroom API reference</title>
  </head>
  <body>
    <div id="api-reference"></div>
    <script src="/docs/${SCALAR_FILE}"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

/** No inline script (the CSP allows none): Scalar is started by this file, served from here. */
const INIT = `Scalar.createApiReference('#api-reference', ${JSON.stringify(SCALAR_CONFIGURATION)});\n`;

function notBuilt(): ApiError {
  return new ApiError(503, 'DOCS_NOT_BUILT', 'The API reference page is not built: run "npm run build" (npm install does it). The OpenAPI document itself is at /openapi.json.');
}

/**
 * The API reference page (issue 19) on the standard listener: `/docs` is the page, `/docs/scalar.js`
 * Scalar's standalone build (copied into dist at build time, read once), `/docs/init.js` its start.
 * Without the build, each answers 503 and says how to build it.
 */
export async function docsRoutes(app: FastifyInstance, options: { dir?: string } = {}): Promise<void> {
  const path = join(options.dir ?? DOCS_DIR, SCALAR_FILE);
  const script = existsSync(path) ? readFileSync(path) : null;
  const javascript = (reply: FastifyReply) => reply.type('application/javascript; charset=utf-8').header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache');

  app.get('/docs', { schema: { hide: true } }, async (_request, reply) => {
    if (!script) throw notBuilt();
    return reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(PAGE);
  });
  app.get(`/docs/${SCALAR_FILE}`, { schema: { hide: true } }, async (_request, reply) => {
    if (!script) throw notBuilt();
    return javascript(reply).send(script);
  });
  app.get('/docs/init.js', { schema: { hide: true } }, async (_request, reply) => {
    if (!script) throw notBuilt();
    return javascript(reply).send(INIT);
  });
}
