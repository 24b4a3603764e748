/**
 * Requests for every operation of Mailroom's OpenAPI document, made hostile one field at a time:
 * the building blocks of test/http/fuzz.test.ts. An operation's parameters and JSON body are
 * first filled with plausible values taken from their schemas (so that a request gets past the
 * fields it does not attack), then one field (a path or query parameter, or any leaf or container
 * of the body) is replaced with a value from the hostile table.
 */

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  minLength?: number;
  pattern?: string;
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  default?: unknown;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  /** As documented, e.g. /emails/{id}. */
  path: string;
  parameters: Parameter[];
  body: JsonSchema | null;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: JsonSchema }> } }>>;
}

export function operationsOf(doc: unknown): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries((doc as OpenApiDocument).paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: (operation.parameters ?? []).filter((parameter) => parameter.in !== 'header'),
        body: operation.requestBody?.content['application/json']?.schema ?? null,
      });
    }
  }
  return operations;
}

/** Values for fields whose name says what they hold, so the rest of a request is valid. */
const BY_NAME: Record<string, unknown> = {
  to: 'fuzz.to@example.com', from: 'fuzz.from@example.com', email: 'fuzz.sender@example.com', address: 'fuzz.listed@example.com',
  replyTo: 'fuzz.reply@example.com', url: 'http://127.0.0.1:9/fuzz-hook', domain: 'fuzz.example.com', name: 'fuzz-name',
  subject: 'Fuzz subject', text: 'Fuzz text', html: '<p>Fuzz</p>', selector: 'fuzz1', type: undefined, filename: 'fuzz.txt',
  content: 'ZnV6eg==', contentType: 'text/plain', sendAt: undefined, templateId: undefined, templateVersion: undefined,
  placeholders: undefined, after: undefined, before: undefined,
};

/** A plausible value for a schema: the first enum or const, a string that fits, the minimum number. */
export function sample(schema: JsonSchema | undefined, name = ''): unknown {
  if (!schema) return 'x';
  if (name in BY_NAME && BY_NAME[name] !== undefined && (schema.type === 'string' || schema.anyOf || schema.type === undefined)) return BY_NAME[name];
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const alternative = schema.anyOf ?? schema.oneOf;
  if (alternative) return sample(alternative[0], name);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, property] of Object.entries(schema.properties ?? {})) {
        if (!(schema.required ?? []).includes(key) && !(key in BY_NAME && BY_NAME[key] !== undefined)) continue;
        out[key] = sample(property, key);
      }
      return out;
    }
    case 'array':
      return [sample(schema.items, name)];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'string':
      if (schema.pattern?.startsWith('^[0-9]')) return '1';
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
    default:
      return 'x';
  }
}

/**
 * Hostile JSON values, as JSON text: numbers are written exactly as an attacker would (a double
 * cannot hold 9007199254740993, and 1e999 parses to Infinity).
 */
export const HOSTILE_JSON: readonly string[] = [
  '"\\u0000"', '"a\\u0000b"', '"\\u0001\\u0008\\u000b\\u001f\\u007f"', '"a\\r\\nX-Injected: yes"', '"\\ud800"', '"x\\udc00"', '"\\ufeff\\u202e\\u200b"',
  JSON.stringify('x'.repeat(70_000)), JSON.stringify('é'.repeat(3_000)), '""', '" "',
  '2147483648', '-2147483649', '9007199254740993', '99999999999999999999999999', '1e308', '-1e308', '1e999', '1e30', '-1', '0', '0.5', '-0.0', '1E+2',
  'null', 'true', 'false', '[]', '{}', '[null]', '[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]', '{"\\u0000":1}', '{"__proto__":{"x":1}}',
  '"%00"', '"\' OR \'1\'=\'1\' --"', '"../../../etc/passwd"', '"<script>alert(1)</script>"', '"😀"', '"$1"', '"{{name}}"',
];

/** Hostile path and query values, already percent-encoded as they go into a URL. */
export const HOSTILE_URL: readonly string[] = [
  '%00', 'a%00b', '%01%1F%7F', 'a%0D%0AX-Injected:%20yes', '%ED%A0%80', '%C0%80', '%FF', '%E0%A4%A',
  '1e30', '1e308', '2147483648', '-2147483649', '9007199254740993', '99999999999999999999999999', '-1', '0', '0.5', '0x10', 'Infinity', 'NaN',
  'x'.repeat(5_000), '%20', '', '..%2F..%2Fetc%2Fpasswd', '%27%20OR%201%3D1%20--', 'true', 'null', '%5B%5D', '%7B%7D',
];

export interface Mutation {
  /** `path:id`, `query:limit` or `body:attachments.0.filename` (`body:` alone is the whole body). */
  field: string;
  /** From HOSTILE_URL for parameters, HOSTILE_JSON for the body. */
  value: string;
}

/** Every field of an operation that a mutation can target. */
export function targetsOf(operation: Operation, body: unknown): string[] {
  const targets = operation.parameters.map((parameter) => `${parameter.in}:${parameter.name}`);
  if (operation.body) {
    targets.push('body:');
    const walk = (value: unknown, path: string) => {
      if (value === null || typeof value !== 'object') return;
      for (const [key, child] of Object.entries(value)) {
        const at = path ? `${path}.${key}` : key;
        targets.push(`body:${at}`);
        walk(child, at);
      }
    };
    walk(body, '');
    // Fields the sample left out (optional ones) are attacked too.
    for (const key of Object.keys(operation.body.properties ?? {})) if (!targets.includes(`body:${key}`)) targets.push(`body:${key}`);
  }
  return targets;
}

export interface BuiltRequest {
  method: string;
  url: string;
  body: string | undefined;
}

const MARK = '\u0001mutation:';

/** The request: seeded values for the parameters named in `seeds`, samples elsewhere, and the mutations applied. */
export function buildRequest(operation: Operation, seeds: Record<string, string>, mutations: readonly Mutation[]): BuiltRequest {
  const chosen = new Map(mutations.map((mutation) => [mutation.field, mutation.value]));
  let path = operation.path;
  const query: string[] = [];
  for (const parameter of operation.parameters) {
    const key = `${parameter.in}:${parameter.name}`;
    const hostile = chosen.get(key);
    const value = hostile ?? (seeds[`${operation.path}:${parameter.name}`] ?? seeds[parameter.name] ?? encodeURIComponent(String(sample(parameter.schema, parameter.name))));
    if (parameter.in === 'path') path = path.replace(`{${parameter.name}}`, value);
    // Query parameters are all optional: only the attacked ones are sent.
    else if (hostile !== undefined) query.push(`${parameter.name}=${value}`);
  }
  let body: string | undefined;
  if (operation.body) {
    const whole = chosen.get('body:');
    if (whole !== undefined) body = whole;
    else {
      const value = structuredClone(sample(operation.body)) as Record<string, unknown>;
      for (const mutation of mutations) {
        if (!mutation.field.startsWith('body:') || mutation.field === 'body:') continue;
        const keys = mutation.field.slice(5).split('.');
        let at: Record<string, unknown> = value;
        for (const key of keys.slice(0, -1)) {
          if (at[key] === null || typeof at[key] !== 'object') at[key] = {};
          at = at[key] as Record<string, unknown>;
        }
        at[keys.at(-1)!] = `${MARK}${mutation.value}`;
      }
      body = JSON.stringify(value).replace(new RegExp(`"${MARK.replace('\u0001', '\\\\u0001')}((?:[^"\\\\]|\\\\.)*)"`, 'g'), (_match, escaped: string) => JSON.parse(`"${escaped}"`) as string);
    }
  }
  return { method: operation.method, url: `${path}${query.length > 0 ? `?${query.join('&')}` : ''}`, body };
}
