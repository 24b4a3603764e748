import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Database } from '../../db/database.js';
import { ApiError } from '../../shared/errors.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/log.js';
import { Engagement, type Visitor } from '../../tracking/engagement.js';
import type { TrackingLinks } from '../../tracking/links.js';
import { confirmationPage, unsubscribedPage } from '../../tracking/pages.js';

/** The smallest transparent GIF (1x1). */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
/**
 * RFC 8058: the body a mail client posts for one-click unsubscription, form-urlencoded or as a
 * multipart/form-data field. Any POST to a valid link unsubscribes; this only tells which way.
 */
const ONE_CLICK = /(^|&)List-Unsubscribe=One-Click(&|$)|name="?List-Unsubscribe"?\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/;

interface Deps {
  db: Database;
  clock: Clock;
  log: Logger;
  links: TrackingLinks;
}

const notFound = () => new ApiError(404, 'NOT_FOUND', 'No such link.');

function visitorOf(request: FastifyRequest): Visitor {
  return { method: request.method, userAgent: request.headers['user-agent'] ?? '', ip: request.ip };
}

/**
 * The URLs in sent mail (SPEC section 8): the open pixel, click redirects and the unsubscribe
 * link. Each is checked against its signature before anything else; a forged or edited URL is a
 * 404 and never a redirect. A hit that cannot be recorded (the database is down) still gets its
 * pixel or its redirect: the reader is not punished for it, and the error is logged.
 */
export function trackingRoutes(app: FastifyInstance, deps: Deps): void {
  const engagement = new Engagement(deps.db, deps.clock);
  // Mail clients post the one-click body as a form (RFC 8058 allows either encoding); the
  // confirmation page posts an ordinary form.
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'multipart/form-data'], { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) => done(null, body));

  app.get<{ Params: { messageId: string; file: string } }>('/t/o/:messageId/:file', { schema: { hide: true } }, async (request, reply) => {
    const { messageId, file } = request.params;
    if (!file.endsWith('.gif') || !deps.links.verifyOpen(messageId, file.slice(0, -4))) throw notFound();
    await engagement.opened(messageId, visitorOf(request)).catch((error: unknown) => deps.log.error({ err: error, messageId }, 'could not record an open'));
    return reply.header('cache-control', 'no-store, no-cache, must-revalidate, private').type('image/gif').send(PIXEL);
  });

  app.get<{ Params: { messageId: string; index: string; url: string; signature: string } }>('/t/c/:messageId/:index/:url/:signature', { schema: { hide: true } }, async (request, reply) => {
    const { messageId, index, url, signature } = request.params;
    const target = deps.links.verifyClick(messageId, index, url, signature);
    if (!target) throw notFound();
    await engagement.clicked(messageId, target, visitorOf(request)).catch((error: unknown) => deps.log.error({ err: error, messageId }, 'could not record a click'));
    return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(target.url, 302);
  });

  // GET only shows a confirmation: link scanners fetch every URL in a message, and must not
  // unsubscribe anybody by doing so. The page's button, and a mail client's one-click, POST.
  app.get<{ Params: { messageId: string; signature: string } }>('/u/:messageId/:signature', { schema: { hide: true } }, async (request, reply) => {
    const { messageId, signature } = request.params;
    if (!deps.links.verifyUnsubscribe(messageId, signature)) throw notFound();
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(confirmationPage(request.url));
  });

  app.post<{ Params: { messageId: string; signature: string } }>('/u/:messageId/:signature', { schema: { hide: true } }, async (request, reply) => {
    const { messageId, signature } = request.params;
    if (!deps.links.verifyUnsubscribe(messageId, signature)) throw notFound();
    const oneClick = typeof request.body === 'string' && ONE_CLICK.test(request.body.trim());
    const result = await engagement.unsubscribed(messageId, visitorOf(request), oneClick ? 'one-click' : 'page');
    if (!result.found) throw notFound();
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(unsubscribedPage());
  });
}
