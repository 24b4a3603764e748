import { Type, type Static } from '@sinclair/typebox';
import { ListOf, Meta, One, SERIALIZED_AS_JSON } from '../schemas.js';
import type { FastifyInstance } from 'fastify';
import type { ConfirmOutcome, SenderRegistry } from '../../senders/senders.js';
import { page } from '../../tracking/pages.js';
import { escapeHtml } from '../../tracking/decorate.js';
import { ID_MAX } from '../../shared/storable.js';
import { principalOf } from '../auth.js';
import { metaOf } from '../errors.js';

const AddBody = Type.Object({ email: Type.String({ minLength: 3, maxLength: 320, description: 'the address to send from' }) }, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: ID_MAX }) });
const Sender = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  verified: Type.Boolean(),
  verifiedBy: Type.Union([Type.Literal('link'), Type.Literal('domain'), Type.Literal('sandbox'), Type.Null()]),
  verifiedAt: Type.Union([Type.String(), Type.Null()]),
  confirmationSentAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'why a confirmed address may not send (confirmed in sandbox mode, under a real transport)' }),
  bounceDomain: Type.Union([Type.String(), Type.Null()], {
    description: "where its bounces go: a VERP Return-Path at this domain, processed by Mailroom; null when the address's domain is not verified and MAILROOM_BOUNCE_DOMAIN is unset: the Return-Path is then the address itself, and bounces reach its mailbox unprocessed",
  }),
});

/** Sender addresses of the account (SPEC section 7). */
export function senderRoutes(app: FastifyInstance, deps: { senders: SenderRegistry }): void {
  app.post<{ Body: Static<typeof AddBody> }>('/senders', {
    schema: { summary: 'Adds a sender address; mails it a confirmation link unless its domain is verified', tags: ['senders'], body: AddBody, response: { 201: Type.Object({ meta: Meta, data: Sender }) } },
  }, async (request, reply) => {
    const meta = metaOf(request);
    return reply.code(201).send({ meta, data: await deps.senders.add(principalOf(request), request.body.email, meta) });
  });
  app.get('/senders', { schema: { summary: 'Sender addresses, with verified: true|false', tags: ['senders'], response: { 200: ListOf(Sender) } }, ...SERIALIZED_AS_JSON }, async (request) => {
    return { meta: metaOf(request), data: await deps.senders.list(principalOf(request).accountId) };
  });
  app.get<{ Params: Static<typeof IdParams> }>('/senders/:id', { schema: { summary: 'One sender address', tags: ['senders'], params: IdParams, response: { 200: One(Sender) } }, ...SERIALIZED_AS_JSON }, async (request) => {
    return { meta: metaOf(request), data: await deps.senders.get(principalOf(request).accountId, request.params.id) };
  });
  app.post<{ Params: Static<typeof IdParams> }>('/senders/:id/resend', {
    schema: { summary: 'Mails a new confirmation link (the earlier ones stop working); at most one a minute', tags: ['senders'], params: IdParams, response: { 200: One(Sender) } },
    ...SERIALIZED_AS_JSON,
  }, async (request) => {
    const meta = metaOf(request);
    return { meta, data: await deps.senders.resend(principalOf(request), request.params.id, meta) };
  });
  app.delete<{ Params: Static<typeof IdParams> }>('/senders/:id', { schema: { summary: 'Removes a sender address', tags: ['senders'], params: IdParams, response: { 204: Type.Null({ description: 'Removed (no body)' }) } } }, async (request, reply) => {
    await deps.senders.remove(principalOf(request).accountId, request.params.id);
    return reply.status(204).send();
  });
}

const PAGES: Record<ConfirmOutcome, [number, string, string]> = {
  confirmed: [200, 'Address confirmed', 'This address may now be used to send email.'],
  already: [200, 'Address confirmed', 'This address was confirmed already.'],
  expired: [410, 'Link expired', 'This link is more than 24 hours old. Ask for a new one (POST /senders/{id}/resend).'],
  superseded: [410, 'Link replaced', 'A newer confirmation link was mailed to this address; use that one.'],
  unknown: [404, 'Link not valid', 'This confirmation link is not valid.'],
};

/**
 * The link in the confirmation mail, opened by whoever reads that mailbox: no API key, the
 * signed token is the credential. GET only shows a button, because link scanners open every URL
 * in a message and must not confirm an address for its owner; the button POSTs.
 */
export function senderConfirmationRoutes(app: FastifyInstance, deps: { senders: SenderRegistry }): void {
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'multipart/form-data'], { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) => done(null, body));
  const send = (reply: import('fastify').FastifyReply, status: number, title: string, body: string) =>
    reply.status(status).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').type('text/html; charset=utf-8').send(page(title, body));

  app.get<{ Params: { token: string } }>('/senders/confirm/:token', { schema: { hide: true } }, async (request, reply) => {
    if (!deps.senders.recognizes(request.params.token)) return send(reply, 404, PAGES.unknown[1], `<h1>${PAGES.unknown[1]}</h1><p>${PAGES.unknown[2]}</p>`);
    return send(reply, 200, 'Confirm your address', `<h1>Confirm your address</h1><p>Allow this address to be used as a sender?</p><form method="post" action="${escapeHtml(request.url)}"><button type="submit">Confirm</button></form>`);
  });
  app.post<{ Params: { token: string } }>('/senders/confirm/:token', { schema: { hide: true } }, async (request, reply) => {
    const [status, title, text] = PAGES[await deps.senders.confirm(request.params.token)];
    return send(reply, status, title, `<h1>${title}</h1><p>${escapeHtml(text)}</p>`);
  });
}
