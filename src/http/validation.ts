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
const storableText: SchemaValidateFunction = (enabled: boolean, data: string) => {
  if (!enabled || isStorableText(data)) return true;
  storableText.errors = [{ keyword: 'storableText', message: UNSTORABLE_TEXT, params: {} }];
  return false;
};

function newAjv(options: { removeAdditional: boolean; verbose: boolean }): Ajv {
  const instance = new Ajv({ coerceTypes: 'array', useDefaults: true, allErrors: false, strict: false, ...options });
  instance.addKeyword({ keyword: 'storableText', type: 'string', schemaType: 'boolean', errors: true, validate: storableText });
  return instance;
}

/** Params and bodies: a field an object's schema closes out is removed (removeAdditional). */
const ajv = newAjv({ removeAdditional: true, verbose: false });
/**
 * Query strings: an unknown parameter is refused, never dropped, so that a misspelt filter
 * (`?staus=FAILED`) is not silently a list of everything. Verbose: the error carries the schema,
 * from which its message names the parameters the route takes (errors.ts).
 */
const queryAjv = newAjv({ removeAdditional: false, verbose: true });

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

type Literal = string | number | boolean | null;

/**
 * A union of literals (TypeBox's Union([Literal('A'), Literal('B'), ...]), an anyOf of consts,
 * perhaps with a Null()) as one enum. Ajv reports a value that fails an anyOf once per branch
 * ("must be equal to constant" nine times for nine statuses); an enum fails once, with the allowed
 * values in its params, which errors.ts lists. Only branches that are nothing but a const (and its
 * type) are merged, so no rule of a branch is lost; the types are kept for query-string coercion.
 */
function literalUnion(schema: Schema): Schema | null {
  const branches = schema.anyOf;
  if (!Array.isArray(branches) || branches.length < 2) return null;
  const values: Literal[] = [];
  const types = new Set<string>();
  for (const branch of branches as Schema[]) {
    if (!branch || typeof branch !== 'object') return null;
    const keys = Object.keys(branch);
    if (branch.type === 'null' && keys.length === 1) {
      values.push(null);
      types.add('null');
      continue;
    }
    if (!('const' in branch) || keys.some((key) => key !== 'const' && key !== 'type')) return null;
    const value = branch.const;
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) return null;
    if (typeof branch.type !== 'string') return null;
    values.push(value as Literal);
    types.add(branch.type);
  }
  if (values.every((value) => value === null)) return null;
  const { anyOf: _anyOf, ...rest } = schema;
  return { ...rest, type: types.size === 1 ? [...types][0] : [...types], enum: values };
}

/** A copy of the schema with the bounds above added wherever they are missing. */
export function hardenSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(hardenSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const merged = nullableScalar(schema as Schema) ?? literalUnion(schema as Schema);
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

/**
 * Compiled validators by their hardened schema's JSON. Many routes declare the same parts (an `id`
 * param, a cursor and limit, an empty body), and Ajv's own cache is by schema object, which
 * hardening makes new each time: compiling every route's schemas was about 0.6 s of each start.
 * A validator keeps no state between calls other than `.errors`, set and read within one call.
 */
const compiled = new Map<string, ReturnType<Ajv['compile']>>();

function compileOnce(instance: Ajv, kind: string, schema: Schema) {
  const key = `${kind}:${JSON.stringify(schema)}`;
  let validate = compiled.get(key);
  if (!validate) {
    validate = instance.compile(schema);
    compiled.set(key, validate);
  }
  return validate;
}

export function compileHardened(schema: unknown) {
  return compileOnce(ajv, 'body', hardenSchema(schema) as Schema);
}

/**
 * A route's query string: hardened as the rest, and closed, so that a parameter the route does not
 * take is a 400 naming it. A route that takes free-form parameters says so in its schema
 * (`additionalProperties: true`), which is left as it is.
 */
export function compileQuery(schema: unknown) {
  const hardened = hardenSchema(schema) as Schema;
  const closed = hardened.type === 'object' && hardened.additionalProperties === undefined ? { ...hardened, additionalProperties: false } : hardened;
  return compileOnce(queryAjv, 'query', closed);
}

/** The query string of a route that declares none: it takes no parameters. */
export const NO_QUERY = { type: 'object', properties: {} } as const;

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  httpPart === 'querystring' ? compileQuery(schema) : compileHardened(schema);

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
