import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from '../../shared/errors.js';

/** The built console (`vite build`, console/vite.config.ts): dist/console under the package, from src/ and from dist/ alike. */
export const CONSOLE_DIR = join(fileURLToPath(new URL('../../../', import.meta.url)), 'dist', 'console');

/**
 * The page's own rules: scripts and connections from Mailroom only (no inline script, nothing from
 * elsewhere), no frames of it anywhere, no plugins. Styles may be inline: the component library
 * sets its CSS variables in a <style> element.
 */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * The web console (issue 18) on the standard HTTP listener: `/` and `/login` are the page, its
 * scripts and styles are under `/assets/` (file names with content hashes: cached for a year).
 * The console's pages are routes after `#`, so none of them can shadow an API path.
 */
export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  const built = existsSync(join(CONSOLE_DIR, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root: join(CONSOLE_DIR, 'assets'),
      prefix: '/assets/',
      index: false,
      immutable: true,
      maxAge: '365d',
      setHeaders: (response) => void response.setHeader('x-content-type-options', 'nosniff'),
    });
  }
  const page = async (_request: unknown, reply: FastifyReply) => {
    if (!built) throw new ApiError(503, 'CONSOLE_NOT_BUILT', 'The web console is not built: run "npm run build" (npm install does it).');
    return reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').sendFile('index.html', CONSOLE_DIR, { cacheControl: false });
  };
  for (const path of ['/', '/login']) app.get(path, { schema: { hide: true } }, page);
}
