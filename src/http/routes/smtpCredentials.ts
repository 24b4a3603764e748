import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { addIpCredential, defaultIpCredentialRules, type IpCredentialRules } from '../../accounts/ipCredentials.js';
import { createPasswordCredential, listCredentials, revokeCredential, type SmtpCredentialResolver } from '../../accounts/smtpCredentials.js';
import type { Database } from '../../db/database.js';
import { oneLineProblem } from '../../shared/characters.js';
import { ApiError, validationError } from '../../shared/errors.js';
import { principalOf } from '../auth.js';
import { metaOf } from '../errors.js';
import { ErrorResponse, ListOf, NullableString, One, SERIALIZED_AS_JSON, Timestamp } from '../schemas.js';

const CreateBody = Type.Object(
  {
    type: Type.Union([Type.Literal('password'), Type.Literal('ip')], {
      description: '"password": a username and password for AUTH; "ip": an address or CIDR range that submits without AUTH (one account per address: 409 IP_RANGE_TAKEN)',
    }),
    name: Type.Optional(Type.String({ maxLength: 100, description: 'a label, e.g. the application that uses it' })),
    address: Type.Optional(Type.String({ maxLength: 64, description: 'type "ip": an IPv4 or IPv6 address or CIDR range' })),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,18}$' }) });
const Credential = Type.Object({
  id: Type.Integer(),
  type: Type.Union([Type.Literal('password'), Type.Literal('ip')]),
  name: Type.String(),
  username: NullableString('type "password": the AUTH username'),
  address: NullableString('type "ip": the address or CIDR range'),
  createdAt: Timestamp,
});
const Created = Type.Object({
  ...Credential.properties,
  password: Type.Optional(Type.String({ description: 'type "password": the AUTH password, shown only in this answer' })),
});

/**
 * SMTP credentials of the account: passwords for AUTH (the password is in the creation response
 * only; it is stored as a scrypt hash) and IP ranges allowed to submit without AUTH. An API key
 * also authenticates over SMTP, as the username "apikey".
 */
export function smtpCredentialRoutes(
  app: FastifyInstance,
  deps: { db: Database; smtpCredentials: SmtpCredentialResolver; ipCredentialRules?: IpCredentialRules | undefined },
): void {
  const ipRules = deps.ipCredentialRules ?? defaultIpCredentialRules();
  app.post<{ Body: Static<typeof CreateBody> }>(
    '/smtp-credentials',
    { schema: { summary: 'Create an SMTP credential (a password is shown only in this response)', tags: ['smtp'], body: CreateBody, response: { 201: One(Created), 409: ErrorResponse, 422: ErrorResponse } }, ...SERIALIZED_AS_JSON },
    async (request, reply) => {
      const principal = principalOf(request);
      const { type, name = '', address } = request.body;
      const nameProblem = oneLineProblem(name);
      if (nameProblem) throw validationError([{ field: 'name', message: nameProblem }], `The name ${nameProblem}.`);
      let data;
      if (type === 'password') {
        if (address !== undefined) throw validationError([{ field: 'address', message: 'is only for type "ip"' }]);
        data = await createPasswordCredential(deps.db, principal.accountId, principal.operatorId, name);
      } else {
        if (address === undefined) throw validationError([{ field: 'address', message: 'is required for type "ip"' }]);
        data = await addIpCredential(deps.db, ipRules, principal, name, address);
      }
      deps.smtpCredentials.forget();
      return reply.code(201).send({ meta: metaOf(request), data });
    },
  );

  app.get('/smtp-credentials', { schema: { summary: 'List the SMTP credentials (never their passwords)', tags: ['smtp'], response: { 200: ListOf(Credential) } }, ...SERIALIZED_AS_JSON }, async (request) => ({
    meta: metaOf(request),
    data: await listCredentials(deps.db, principalOf(request).accountId),
  }));

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/smtp-credentials/:id',
    { schema: { summary: 'Revoke an SMTP credential', tags: ['smtp'], params: IdParams, response: { 200: One(Type.Object({ id: Type.Integer(), revoked: Type.Boolean() })) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const id = Number(request.params.id);
      if (!(await revokeCredential(deps.db, principalOf(request).accountId, id))) {
        throw new ApiError(404, 'NOT_FOUND', `No SMTP credential ${id} in this account.`);
      }
      deps.smtpCredentials.forget();
      return { meta: metaOf(request), data: { id, revoked: true } };
    },
  );
}
