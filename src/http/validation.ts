import { Ajv, type SchemaValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { INT32_MAX, INT32_MIN, isStorableText, UNSTORABLE_TEXT } from '../shared/storable.js';

/**
 * The one validator every route's params, query and body go through. Before a schema is compiled
 * it is hardened, so that no route can forget what the database cannot take:
 * - every string refuses NUL and unpaired surrogates (`storableText`);
 * - every object's property names are storable strings too (records such as template defaults
 *   are stored as jsonb, keys included);
 * - every integer without bounds of its own is bounded by PostgreSQL's integer, so 1e30 or
 *   2147483648 is a 400 and never a "value out of range" from SQL; a bigint column's schema says
 *   so with its own maximum (ID_MAX).
 * Options as Fastify's own validator: query strings arrive as strings and are coerced.
 */
const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: true, allErrors: false, strict: false });
const storableText: SchemaValidateFunction = (enabled: boolean, data: string) => {
  if (!enabled || isStorableText(data)) return true;
  storableText.errors = [{ keyword: 'storableText', message: UNSTORABLE_TEXT, params: {} }];
  return false;
};
ajv.addKeyword({ keyword: 'storableText', type: 'string', schemaType: 'boolean', errors: true, validate: storableText });

type Schema = Record<string, unknown>;

const SUBSCHEMA = new Set(['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'propertyNames', 'contains', 'additionalItems']);
const SUBSCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems']);
const SUBSCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions']);

function mapValues(map: unknown, fn: (value: unknown) => unknown): unknown {
  if (!map || typeof map !== 'object') return map;
  return Object.fromEntries(Object.entries(map).map(([key, value]) => [key, fn(value)]));
}

const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean']);

/**
 * `X or null` (TypeBox's Union([X, Null()]), an anyOf) as one schema whose type is [X, "null"].
 * With coerceTypes, Ajv tries anyOf's branches in order and coerces into the first: a null became
 * false or "" before the null branch was reached, so `"sendAt": null` could not clear a field. With
 * a list of types Ajv coerces only a value that matches none of them, so null stays null and false
 * stays false. Only plain scalar branches are merged (no const or enum, which null would fail).
 */
function nullableScalar(schema: Schema): Schema | null {
  const branches = schema.anyOf;
  if (!Array.isArray(branches) || branches.length !== 2) return null;
  const nullIndex = branches.findIndex((branch: Schema) => branch?.type === 'null' && Object.keys(branch).length === 1);
  if (nullIndex < 0) return null;
  const other = branches[1 - nullIndex] as Schema;
  if (!other || typeof other.type !== 'string' || !SCALAR_TYPES.has(other.type) || 'const' in other || 'enum' in other) return null;
  const { anyOf: _anyOf, ...rest } = schema;
  return { ...rest, ...other, type: [other.type, 'null'] };
}

/** A copy of the schema with the bounds above added wherever they are missing. */
export function hardenSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(hardenSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const merged = nullableScalar(schema as Schema);
  if (merged) return hardenSchema(merged);
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (SUBSCHEMA_MAPS.has(key)) out[key] = mapValues(value, hardenSchema);
    else if (SUBSCHEMA.has(key)) out[key] = hardenSchema(value);
    else if (SUBSCHEMA_LISTS.has(key) && Array.isArray(value)) out[key] = value.map(hardenSchema);
    else out[key] = value;
  }
  const types = [out.type].flat();
  if (types.includes('string')) out.storableText = true;
  if (types.includes('integer') || types.includes('number')) {
    out.maximum ??= INT32_MAX;
    out.minimum ??= INT32_MIN;
  }
  if (types.includes('object') && out.propertyNames === undefined) out.propertyNames = { type: 'string', maxLength: 256, storableText: true };
  return out;
}

export function compileHardened(schema: unknown) {
  return ajv.compile(hardenSchema(schema) as Schema);
}

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema }) => compileHardened(schema);

/**
 * For routes whose body the send pipeline validates itself (one set of rules and messages for
 * single, bulk and SMTP sends): the body schema is declared for the OpenAPI document but not
 * applied by Fastify, which would coerce types and strip fields before the pipeline sees them.
 */
export function documentedOnly(part: 'body'): { validatorCompiler: FastifySchemaCompiler<object> } {
  return {
    validatorCompiler: (route) => {
      if (route.httpPart === part) return (data: unknown) => ({ value: data });
      return validatorCompiler(route);
    },
  };
}
