/**
 * A small JSON Schema to TypeScript emitter, for the schemas Mailroom's routes declare (TypeBox,
 * shown by @fastify/swagger in OpenAPI 3.0 dialect: `nullable`, enums for literal unions).
 * Written here rather than taken from `json-schema-to-typescript`: that package is not installed
 * (no dependency may be added from a helper's worktree), it would pull a formatter and a $ref
 * resolver the document does not need, and these few rules are all the document uses: object,
 * array, enum, const, anyOf/oneOf (union), allOf (intersection), nullable, additionalProperties.
 * Validation-only keywords (lengths, bounds, patterns, formats) have no TypeScript counterpart and
 * are left out; a description becomes a doc comment.
 */

export interface JsonSchema {
  type?: string | string[];
  nullable?: boolean;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema | JsonSchema[];
  description?: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A property name as TypeScript writes it: bare when it is an identifier, quoted otherwise. */
export function propertyName(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

/** A doc comment for a description, indented; nothing when there is none. */
export function docComment(description: string | undefined, indent: string): string {
  if (!description) return '';
  const text = description.replace(/\*\//g, '*\\/');
  const lines = text.split('\n');
  if (lines.length === 1) return `${indent}/** ${text} */\n`;
  return `${indent}/**\n${lines.map((line) => `${indent} * ${line}`.trimEnd()).join('\n')}\n${indent} */\n`;
}

function literal(value: unknown): string {
  return value === null ? 'null' : JSON.stringify(value);
}

/** Members joined by `|`, each once (a union inside a union needs no parentheses). */
function union(members: string[]): string {
  const unique = [...new Set(members)];
  if (unique.includes('unknown')) return 'unknown';
  return unique.length === 0 ? 'never' : unique.join(' | ');
}

/** Whether a type has a `|` or `&` outside any braces, brackets, parentheses or string: `T[]` would then bind to its last member. */
function hasTopLevelOperator(type: string): boolean {
  let depth = 0;
  let quoted = false;
  for (let index = 0; index < type.length; index++) {
    const char = type[index];
    if (quoted) {
      if (char === '\\') index++;
      else if (char === '"') quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === '{' || char === '[' || char === '(') depth++;
    else if (char === '}' || char === ']' || char === ')') depth--;
    else if (depth === 0 && (char === '|' || char === '&')) return true;
  }
  return false;
}

function objectType(schema: JsonSchema, indent: string): string {
  const required = new Set(schema.required ?? []);
  const inner = indent + '  ';
  const lines = Object.entries(schema.properties ?? {}).map(([name, property]) =>
    `${docComment(property.description, inner)}${inner}${propertyName(name)}${required.has(name) ? '' : '?'}: ${toTypeScript(property, inner)};\n`,
  );
  const extra = schema.additionalProperties;
  if (extra === true || (typeof extra === 'object' && extra !== null)) {
    // Declared properties must be assignable to the index signature: a typed map with named
    // properties widens its values to unknown rather than lying about them.
    const value = extra === true || lines.length > 0 ? 'unknown' : toTypeScript(extra, inner);
    lines.push(`${inner}[key: string]: ${value};\n`);
  }
  if (lines.length === 0) return extra === false ? 'Record<string, never>' : 'Record<string, unknown>';
  return `{\n${lines.join('')}${indent}}`;
}

function arrayType(schema: JsonSchema, indent: string): string {
  const items = schema.items;
  if (Array.isArray(items)) return `[${items.map((item) => toTypeScript(item, indent)).join(', ')}]`;
  const element = items ? toTypeScript(items, indent) : 'unknown';
  return hasTopLevelOperator(element) ? `(${element})[]` : `${element}[]`;
}

function typeNamed(type: string, schema: JsonSchema, indent: string): string {
  switch (type) {
    case 'string': return 'string';
    case 'number':
    case 'integer': return 'number';
    case 'boolean': return 'boolean';
    case 'null': return 'null';
    case 'array': return arrayType(schema, indent);
    case 'object': return objectType(schema, indent);
    default: return 'unknown';
  }
}

/** The TypeScript type of a schema; `indent` is the indentation of the line the type starts on. */
export function toTypeScript(schema: JsonSchema | undefined, indent = ''): string {
  if (!schema || typeof schema !== 'object') return 'unknown';
  const nullable = schema.nullable === true;
  const withNull = (type: string) => (nullable && type !== 'unknown' ? union([type, 'null']) : type);

  if ('const' in schema) return withNull(literal(schema.const));
  if (schema.enum) return withNull(union(schema.enum.map(literal)));
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return withNull(union(alternatives.map((alternative) => toTypeScript(alternative, indent))));
  if (schema.allOf) return withNull(schema.allOf.map((part) => toTypeScript(part, indent)).join(' & ') || 'unknown');

  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length === 0) {
    // No type but object keywords: an object, as a validator would treat the properties.
    if (schema.properties || schema.additionalProperties !== undefined) return withNull(objectType(schema, indent));
    return 'unknown';
  }
  return withNull(union(types.map((type) => typeNamed(type, schema, indent))));
}
