import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

export const Meta = Type.Object({ timestamp: Type.Number(), transactionId: Type.String() });

export const ErrorResponse = Type.Object({
  meta: Meta,
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
  }),
});

/** The same options Fastify gives its own validator: query strings arrive as strings. */
const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: true, allErrors: false, strict: false });

/**
 * For routes whose body the send pipeline validates itself (one set of rules and messages for
 * single, bulk and SMTP sends): the body schema is declared for the OpenAPI document but not
 * applied by Fastify, which would coerce types and strip fields before the pipeline sees them.
 */
export function documentedOnly(part: 'body'): { validatorCompiler: FastifySchemaCompiler<object> } {
  return {
    validatorCompiler: ({ schema, httpPart }) => {
      if (httpPart === part) return (data: unknown) => ({ value: data });
      return ajv.compile(schema);
    },
  };
}
