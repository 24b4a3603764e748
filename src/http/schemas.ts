import { Type, type TSchema } from '@sinclair/typebox';

export const Meta = Type.Object({ timestamp: Type.Number(), transactionId: Type.String() });

export const ErrorResponse = Type.Object({
  meta: Meta,
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
  }),
});

/**
 * The meta of a page of a list (every list route answers it): `limit` as applied, `nextCursor`
 * to pass as `cursor` for the next page, null on the last one.
 */
export const PageMeta = Type.Object({
  timestamp: Type.Number(),
  transactionId: Type.String(),
  pagination: Type.Object({
    limit: Type.Integer({ description: 'the page size applied' }),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as cursor for the next page; null on the last page' }),
  }),
});

/**
 * Route options for a route whose response schemas document it (the OpenAPI document) without
 * changing what it sends: the answer is still serialized with JSON.stringify, as it was before the
 * schemas were declared, so a field a schema forgot is sent all the same (never silently dropped
 * by fast-json-stringify) and test/http/openapiContract.test.ts, which checks real answers against
 * the document with undeclared fields refused, reports it.
 */
export const SERIALIZED_AS_JSON = { serializerCompiler: () => (data: unknown) => JSON.stringify(data) };

export const Timestamp = Type.String({ format: 'date-time' });
export const NullableString = (description?: string) => Type.Union([Type.String(), Type.Null()], description ? { description } : {});
export const NullableInteger = (description?: string) => Type.Union([Type.Integer(), Type.Null()], description ? { description } : {});

/** `{meta, data}`: the answer of every route but the lists (`PageOf`). */
export const One = <T extends TSchema>(data: T) => Type.Object({ meta: Meta, data });
/** `{meta: {..., pagination}, data: [...]}`: a page of a list. */
export const PageOf = <T extends TSchema>(item: T) => Type.Object({ meta: PageMeta, data: Type.Array(item) });
/** `{meta, data: [...]}`: a whole list (no paging). */
export const ListOf = <T extends TSchema>(item: T) => Type.Object({ meta: Meta, data: Type.Array(item) });
/** A CSV download. */
export const Csv = { description: 'CSV (text/csv)', content: { 'text/csv': { schema: { type: 'string' } } } } as const;
