/**
 * docs/API.md, written from the OpenAPI document (scripts/api-reference.ts writes it; a test
 * checks it is current): every operation with its parameters, body fields and answers, grouped
 * by tag in the order the routes are declared. Pure: the same document gives the same text.
 */

type Schema = {
  type?: string | string[];
  nullable?: boolean;
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  format?: string;
  additionalProperties?: boolean | Schema;
};
interface Parameter { name: string; in: string; required?: boolean; description?: string; schema?: Schema }
interface Media { schema?: Schema; example?: unknown }
interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description?: string; content?: Record<string, Media> }>;
}
export interface OpenApiDocument { info: { title: string; version: string; description?: string }; paths: Record<string, Record<string, Operation>> }

/** A schema as a short type: `string`, `integer | null`, `array of object`, `"a" | "b"`. */
export function typeOf(schema: Schema | undefined): string {
  if (!schema) return 'any';
  const nullable = schema.nullable ? ' | null' : '';
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(' \\| ') + nullable;
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return [...new Set(branches.map(typeOf))].join(' \\| ') + nullable;
  if (schema.type === 'array') return `array of ${typeOf(schema.items)}${nullable}`;
  const type = Array.isArray(schema.type) ? schema.type.join(' \\| ') : schema.type ?? (schema.properties ? 'object' : 'any');
  return `${type}${schema.format === 'date-time' ? ' (date-time)' : ''}${nullable}`;
}

function cell(text: string | undefined): string {
  return (text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function limits(schema: Schema | undefined): string {
  if (!schema) return '';
  const parts: string[] = [];
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  if (schema.minimum !== undefined && schema.maximum !== undefined) parts.push(`${schema.minimum}-${schema.maximum}`);
  else if (schema.maximum !== undefined) parts.push(`at most ${schema.maximum}`);
  if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} characters`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function fieldsTable(schema: Schema | undefined): string[] {
  const properties = schema?.properties;
  if (!properties || Object.keys(properties).length === 0) return [];
  const required = new Set(schema.required ?? []);
  return [
    '| field | type | required | description |',
    '|---|---|---|---|',
    ...Object.entries(properties).map(([name, field]) => `| \`${name}\` | ${cell(typeOf(field))} | ${required.has(name) ? 'yes' : 'no'} | ${cell((field.description ?? '') + limits(field))} |`),
  ];
}

/** The fields of an answer's `data` (or of its items): what a caller reads. */
function dataOf(schema: Schema | undefined): { list: boolean; fields: Schema | undefined } {
  const data = schema?.properties?.data;
  if (!data) return { list: false, fields: undefined };
  if (data.type === 'array') return { list: true, fields: data.items };
  return { list: false, fields: data };
}

function operationSection(method: string, path: string, operation: Operation): string[] {
  const lines = [`### \`${method.toUpperCase()} ${path}\``, ''];
  if (operation.summary) lines.push(operation.summary, '');
  const open = Array.isArray(operation.security) && operation.security.length === 0;
  lines.push(`operationId \`${operation.operationId ?? ''}\`; ${open ? 'no API key (a console session or a signed link)' : 'API key'}.`, '');
  const parameters = operation.parameters ?? [];
  if (parameters.length > 0) {
    lines.push('| parameter | in | type | required | description |', '|---|---|---|---|---|');
    for (const parameter of parameters) {
      lines.push(`| \`${parameter.name}\` | ${parameter.in} | ${cell(typeOf(parameter.schema))} | ${parameter.required ? 'yes' : 'no'} | ${cell((parameter.description ?? parameter.schema?.description ?? '') + limits(parameter.schema))} |`);
    }
    lines.push('');
  }
  for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
    lines.push(`Body (\`${type}\`)${media.schema?.description ? `: ${media.schema.description}` : ''}`, '');
    const table = fieldsTable(media.schema);
    if (table.length > 0) lines.push(...table, '');
    else if (media.schema?.anyOf) lines.push(`One of: ${media.schema.anyOf.map((branch) => Object.keys(branch.properties ?? {}).map((name) => `\`${name}\``).join(', ') || typeOf(branch)).map((names) => `{${names}}`).join(' or ')}.`, '');
    if (media.example !== undefined) lines.push('Example:', '', '```json', JSON.stringify(media.example, null, 2), '```', '');
  }
  lines.push('| status | meaning |', '|---|---|');
  for (const [status, response] of Object.entries(operation.responses)) lines.push(`| ${status} | ${cell(response.description)} |`);
  lines.push('');
  for (const [status, response] of Object.entries(operation.responses)) {
    if (!status.startsWith('2')) continue;
    for (const [type, media] of Object.entries(response.content ?? {})) {
      if (type !== 'application/json') {
        lines.push(`\`${status}\` answers \`${type}\`.`, '');
        continue;
      }
      const { list, fields } = dataOf(media.schema);
      const paged = Boolean(media.schema?.properties?.meta?.properties?.pagination);
      const table = fieldsTable(fields);
      if (table.length > 0) lines.push(`\`${status}\` \`data\`${list ? ` is ${paged ? 'a page of' : 'a list of'} objects` : ''}:`, '', ...table, '');
      else if (fields) lines.push(`\`${status}\` \`data\`: ${cell(typeOf(fields))}${fields.description ? `: ${fields.description}` : ''}.`, '');
      if (media.example !== undefined) lines.push('Example:', '', '```json', JSON.stringify(media.example, null, 2), '```', '');
    }
  }
  return lines;
}

/** Sending first: what most readers come for; then the tags in the order the routes are declared. */
const FIRST_TAGS = ['emails', 'templates', 'suppressions', 'webhooks', 'events', 'domains', 'senders'];

export function renderApiReference(doc: OpenApiDocument): string {
  const groups = new Map<string, string[]>(FIRST_TAGS.map((tag) => [tag, []]));
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const tag = operation.tags?.[0] ?? 'other';
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag)!.push(...operationSection(method, path, operation));
    }
  }
  const lines = [
    `# ${doc.info.title} reference`,
    '',
    '<!-- Written by scripts/api-reference.ts from GET /openapi.json (npm run docs:api); test/http/apiReference.test.ts checks it is current. Do not edit by hand. -->',
    '',
    `Version ${doc.info.version}. The same document is served at \`GET /openapi.json\`, and browsable at \`/docs\`.`,
    '',
    doc.info.description ?? '',
    '',
    'Authentication: `Authorization: Bearer <key>` (or `App <key>`) on every operation but those that say otherwise.',
    '',
    '## Contents',
    '',
    ...[...groups.keys()].filter((tag) => groups.get(tag)!.length > 0).map((tag) => `- [${tag}](#${tag.replace(/[^a-z0-9-]/gi, '').toLowerCase()})`),
    '',
  ];
  for (const [tag, section] of groups) if (section.length > 0) lines.push(`## ${tag}`, '', ...section);
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}
