import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../shared/errors.js';
import type { ConfirmOutcome, Subscriptions } from '../../subscriptions/subscriptions.js';
import { NAME_MAX } from '../../subscriptions/subscriptions.js';
import { escapeHtml } from '../../tracking/decorate.js';
import { page } from '../../tracking/pages.js';
import { errorHandler, metaOf } from '../errors.js';
import { ErrorResponse, Meta } from '../schemas.js';

/** The honeypot: a field a person never sees (hidden by the form's CSS) and a bot fills in. */
export const HONEYPOT_FIELD = 'website';

const TokenParams = Type.Object({ listToken: Type.String({ minLength: 1, maxLength: 100, description: 'the list\'s token (GET /lists/{id} shows it)' }) });
const SignUpBody = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 320, description: 'the address to subscribe' }),
  name: Type.Optional(Type.String({ maxLength: NAME_MAX, description: 'used only when the address is not a contact yet' })),
  [HONEYPOT_FIELD]: Type.Optional(Type.String({ maxLength: 1000, description: 'leave empty: the honeypot (a hidden field in the form); a sign-up that fills it is answered as usual and ignored' })),
}, { additionalProperties: true, description: 'JSON, or a plain HTML form post (application/x-www-form-urlencoded) with the same fields; other fields are ignored' });
const SignUpResponse = Type.Object({
  meta: Meta,
  data: Type.Object({
    list: Type.String({ description: 'the list\'s name' }),
    optIn: Type.Union([Type.Literal('single'), Type.Literal('double')]),
    message: Type.String({ description: 'the same whoever the address belongs to' }),
  }),
});

const THANKS = {
  single: 'Thank you for subscribing.',
  double: 'Thank you. If this address can be subscribed, a message with a confirmation link is on its way: open it and press the button.',
} as const;

const PAGES: Record<ConfirmOutcome, [number, string, string]> = {
  confirmed: [200, 'Subscription confirmed', 'You are subscribed. Thank you.'],
  already: [200, 'Subscription confirmed', 'This subscription was confirmed already.'],
  expired: [410, 'Link expired', 'This link is more than 7 days old. Sign up again to get a new one.'],
  stale: [410, 'Link no longer valid', 'A newer link was mailed to this address, or it was unsubscribed since. Sign up again to get a new one.'],
  unknown: [404, 'Link not valid', 'This confirmation link is not valid.'],
};

function isFormPost(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

function html(reply: FastifyReply, status: number, title: string, text: string, extra = ''): FastifyReply {
  return reply.status(status).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer')
    .type('text/html; charset=utf-8').send(page(escapeHtml(title), `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${extra}`));
}

/**
 * The public side of lists (SPEC section 9, docs/CAMPAIGNS.md): no API key. A sign-up form on a
 * customer's site posts here, as JSON from a script (CORS: any origin, no credentials) or as a
 * plain form post answered with a page; the confirmation link opens a page whose button POSTs.
 */
export function subscribeRoutes(app: FastifyInstance, deps: { subscriptions: Subscriptions }): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('access-control-allow-origin', '*');
  });

  app.options('/subscribe/:listToken', { schema: { hide: true } }, async (_request, reply) => reply.status(204)
    .header('access-control-allow-methods', 'POST').header('access-control-allow-headers', 'content-type').header('access-control-max-age', '86400').send());

  app.post<{ Params: Static<typeof TokenParams>; Body: Static<typeof SignUpBody> }>(
    '/subscribe/:listToken',
    {
      schema: {
        summary: 'Public sign-up to a list (no API key): single opt-in subscribes, double opt-in mails a confirmation link; throttled per IP and per address',
        tags: ['lists'], security: [], params: TokenParams, body: SignUpBody,
        response: { 202: SignUpResponse, 400: ErrorResponse, 404: ErrorResponse, 429: ErrorResponse },
      },
      // A form post's errors are pages for the person who sent it, not JSON.
      errorHandler: (error, request, reply) => {
        const known = error instanceof ApiError ? error : (error as { validation?: unknown }).validation ? new ApiError(400, 'VALIDATION_ERROR', 'The form is not filled in correctly.') : null;
        if (!isFormPost(request) || !known) return errorHandler(error as Parameters<typeof errorHandler>[0], request, reply);
        for (const [name, value] of Object.entries(known.headers)) reply.header(name, value);
        return html(reply, known.status, known.status === 429 ? 'Too many attempts' : known.status === 404 ? 'Not found' : 'Please check the form', known.message);
      },
    },
    async (request, reply) => {
      const body = request.body;
      const honeypot = typeof body[HONEYPOT_FIELD] === 'string' && body[HONEYPOT_FIELD] !== '';
      const answer = honeypot
        ? await deps.subscriptions.describe(request.params.listToken)
        : await deps.subscriptions.signUp(request.params.listToken, { email: body.email, name: body.name ?? null, ip: request.ip });
      const message = THANKS[answer.optIn];
      if (isFormPost(request)) return html(reply, 200, answer.optIn === 'double' ? 'Almost done' : 'Subscribed', message);
      return reply.status(202).send({ meta: metaOf(request), data: { list: answer.listName, optIn: answer.optIn, message } });
    },
  );

  app.get<{ Params: { token: string } }>('/subscribe/confirm/:token', { schema: { hide: true } }, async (request, reply) => {
    if (!deps.subscriptions.recognizes(request.params.token)) return html(reply, 404, PAGES.unknown[1], PAGES.unknown[2]);
    return html(reply, 200, 'Confirm your subscription', 'Press the button to confirm that you want to receive these emails.',
      `<form method="post" action="${escapeHtml(request.url)}"><button type="submit">Confirm my subscription</button></form>`);
  });
  app.post<{ Params: { token: string } }>('/subscribe/confirm/:token', { schema: { hide: true } }, async (request, reply) => {
    const [status, title, text] = PAGES[await deps.subscriptions.confirm(request.params.token)];
    return html(reply, status, title, text);
  });
}
