import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Sealer } from '../../crypto/sealed.js';
import type { Database } from '../../db/database.js';
import { DomainChecker } from '../../domains/checks.js';
import {
  createDomain, deleteDomain, DomainError, getDomain, keysOfDomains, listDomains, normaliseDomain, SelectorInUseError, startRotation,
} from '../../domains/domains.js';
import { domainView, RECORD_STATUSES, type DomainView } from '../../domains/records.js';
import { defaultDomainSettings, type DomainSettings } from '../../domains/settings.js';
import { verifyDomain } from '../../domains/verify.js';
import type { Clock } from '../../shared/clock.js';
import { ApiError, validationError } from '../../shared/errors.js';
import { principalOf } from '../auth.js';
import { metaOf } from '../errors.js';
import { noBodyIsEmptyObject } from '../jsonBodies.js';
import { SERIALIZED_AS_JSON } from '../schemas.js';

export type { DomainSettings };

const Selector = Type.String({ pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]{0,60}[A-Za-z0-9])?$', description: 'DKIM selector (one DNS label); default mr<year><month>' });
const CreateBody = Type.Object({
  domain: Type.String({ minLength: 1, maxLength: 253 }),
  selector: Type.Optional(Selector),
  algorithm: Type.Optional(Type.Union([Type.Literal('rsa'), Type.Literal('ed25519')], {
    description: 'rsa (default): RSA-2048; ed25519: an Ed25519 key too, signed with beside the RSA key (many receivers verify only RSA)',
  })),
}, { additionalProperties: false });
const RotateBody = Type.Object({ selector: Type.Optional(Selector) }, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,18}$' }) });

const DomainRecordSchema = Type.Object({
  purpose: Type.Union(['dkim', 'spf', 'return-path', 'dmarc', 'tracking'].map((purpose) => Type.Literal(purpose))),
  type: Type.Union(['TXT', 'MX', 'CNAME'].map((type) => Type.Literal(type))),
  name: Type.String(),
  value: Type.String(),
  priority: Type.Optional(Type.Integer()),
  status: Type.Union(RECORD_STATUSES.map((status) => Type.Literal(status))),
  reason: Type.Optional(Type.String()),
  required: Type.Boolean(),
  warning: Type.Optional(Type.String({ description: "the record as this installation makes it cannot work: a configured host name that is not fully qualified, and the setting to change" })),
});
const DomainSchema = Type.Object({
  id: Type.Integer(),
  domain: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('verified'), Type.Literal('failed')]),
  verifiedBy: Type.Union([Type.Literal('dns'), Type.Literal('admin'), Type.Null()]),
  records: Type.Array(DomainRecordSchema),
  createdAt: Type.String(),
  verifiedAt: Type.Union([Type.String(), Type.Null()]),
  lastCheckedAt: Type.Union([Type.String(), Type.Null()]),
  failedAt: Type.Union([Type.String(), Type.Null()]),
});
const Meta = Type.Object({ timestamp: Type.Number(), transactionId: Type.String() });
const OneDomain = { 200: Type.Object({ meta: Meta, data: DomainSchema }) };

export interface DomainRouteDeps {
  db: Database;
  /** Seals the private keys of new domains and rotations. */
  secrets: Sealer;
  clock: Clock;
  /** The records' inputs (sending IPs, MX host, ...) and DNS servers; defaults when absent. */
  domainSettings?: DomainSettings;
}

/** A selector the schema let through but the domain cannot take (DomainError): 400, or 409 when its keys use it. */
function selectorError(error: unknown): never {
  if (error instanceof SelectorInUseError) throw new ApiError(409, 'CONFLICT', `${error.message}.`, [{ field: 'selector', message: 'is in use' }]);
  if (error instanceof DomainError) throw validationError([{ field: 'selector', message: error.message }], `${error.message}.`);
  throw error;
}

function notFound(id: number): ApiError {
  return new ApiError(404, 'NOT_FOUND', `No domain ${id} in this account.`);
}

/**
 * Sending domains (SPEC section 7, docs/DOMAINS.md): adding one creates its DKIM key and answers
 * the DNS records to publish; verify looks them up and answers each one's state; rotate starts a
 * DKIM key rotation. Reads show the last check; only verify (and the daily re-check) ask DNS.
 */
export function domainRoutes(app: FastifyInstance, deps: DomainRouteDeps): void {
  const settings = deps.domainSettings ?? defaultDomainSettings();
  const checker = new DomainChecker(settings);

  const viewOf = async (accountId: number, id: number): Promise<DomainView> => {
    const domain = await getDomain(deps.db, accountId, id);
    if (!domain) throw notFound(id);
    const keys = await keysOfDomains(deps.db, [id], deps.clock.now());
    return domainView(domain, keys.get(id) ?? [], settings);
  };

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/domains',
    {
      schema: {
        summary: 'Add a sending domain: creates its DKIM key and answers the DNS records to publish (DKIM, SPF, return-path MX, DMARC advice, tracking CNAME)',
        tags: ['domains'],
        body: CreateBody,
        response: { 201: OneDomain[200] },
      },
    },
    async (request, reply) => {
      const { accountId } = principalOf(request);
      let name: string;
      try {
        name = normaliseDomain(request.body.domain);
      } catch (error) {
        if (error instanceof DomainError) throw validationError([{ field: 'domain', message: 'is not a domain name' }], `${request.body.domain} is not a domain name.`);
        throw error;
      }
      const created = await createDomain(deps.db, deps.secrets, accountId, { ...request.body, domain: name }, deps.clock.now()).catch(selectorError);
      if (!created) throw new ApiError(409, 'CONFLICT', `${name} is already a domain of this account.`, [{ field: 'domain', message: 'already added' }]);
      return reply.code(201).send({ meta: metaOf(request), data: domainView(created, [], settings) });
    },
  );

  app.get('/domains', { schema: { summary: 'List the domains with their records as last checked', tags: ['domains'], response: { 200: Type.Object({ meta: Meta, data: Type.Array(DomainSchema) }) } }, ...SERIALIZED_AS_JSON }, async (request) => {
    const domains = await listDomains(deps.db, principalOf(request).accountId);
    const keys = await keysOfDomains(deps.db, domains.map((domain) => Number(domain.id)), deps.clock.now());
    return { meta: metaOf(request), data: domains.map((domain) => domainView(domain, keys.get(Number(domain.id)) ?? [], settings)) };
  });

  app.get<{ Params: Static<typeof IdParams> }>(
    '/domains/:id',
    { schema: { summary: 'One domain with its records as last checked', tags: ['domains'], params: IdParams, response: OneDomain } },
    async (request) => ({ meta: metaOf(request), data: await viewOf(principalOf(request).accountId, Number(request.params.id)) }),
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/domains/:id',
    { schema: { summary: 'Remove a domain and its keys: its mail is no longer signed, nor accepted beyond the sandbox', tags: ['domains'], params: IdParams, response: { 200: Type.Object({ meta: Meta, data: Type.Object({ id: Type.Integer(), domain: Type.String(), deleted: Type.Boolean() }) }) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const id = Number(request.params.id);
      const deleted = await deleteDomain(deps.db, principalOf(request).accountId, id);
      if (!deleted) throw notFound(id);
      return { meta: metaOf(request), data: { id: Number(deleted.id), domain: deleted.domain, deleted: true } };
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/domains/:id/verify',
    {
      schema: {
        summary: 'Look every record up in DNS now: each record verified, missing, wrong or error, with a reason; the domain is verified when every required record is',
        tags: ['domains'],
        params: IdParams,
        response: OneDomain,
      },
    },
    async (request) => {
      const id = Number(request.params.id);
      const outcome = await verifyDomain(deps.db, checker, settings, principalOf(request).accountId, id, deps.clock.now());
      if (!outcome) throw notFound(id);
      return { meta: metaOf(request), data: outcome.view };
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof RotateBody> }>(
    '/domains/:id/rotate',
    {
      // The body is optional: no body is {}.
      preValidation: noBodyIsEmptyObject,
      schema: {
        summary: 'Start a DKIM key rotation: a new key under a new selector, which signs once a verify finds its record published; the current key signs until then, then retires',
        tags: ['domains'],
        params: IdParams,
        body: RotateBody,
        response: OneDomain,
      },
    },
    async (request) => {
      const { accountId } = principalOf(request);
      const id = Number(request.params.id);
      if (!(await startRotation(deps.db, deps.secrets, accountId, id, request.body.selector, deps.clock.now()).catch(selectorError))) throw notFound(id);
      return { meta: metaOf(request), data: await viewOf(accountId, id) };
    },
  );
}
