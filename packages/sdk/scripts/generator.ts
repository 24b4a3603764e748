import { docComment, propertyName, toTypeScript, type JsonSchema } from './jsonSchemaToTs.js';

/**
 * Turns Mailroom's OpenAPI document into `src/generated.ts`: request and response types for every
 * operation and one resource class per tag, whose methods call the transport. Pure (document in,
 * source out), so that the drift test can run it in memory.
 */

interface OpenApiParameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: JsonSchema;
}

interface OpenApiOperation {
  operationId: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { content?: Record<string, { schema?: JsonSchema }> }>;
}

export interface OpenApiDocument {
  info: { title: string; version: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
}

/** The operations that send mail: each call gets an Idempotency-Key, so that its retries cannot send twice. */
const SENDING_OPERATIONS = new Set(['postEmails', 'postEmailsBulk']);

/**
 * Operations whose answer's `data` is one object or an array as a body field is one value or an
 * array (POST /emails: `to` a string, one message; an array, one message per address): their
 * method is generic in the body, so the caller's type says which it gets.
 */
const DATA_FOLLOWS_FIELD: Record<string, string> = { postEmails: 'to' };

/**
 * Method names the rules below would make awkward, by operationId. An operation renamed in the
 * API simply falls back to the rules (and a clash between two names fails the generator).
 */
const METHOD_NAMES: Record<string, string> = {
  postEmails: 'send',
  postEmailsBulk: 'sendBulk',
  postEmailsByIdRetry: 'retryEmail',
  postEmailsByIdCancel: 'cancelEmail',
  postQueueRetry: 'retry',
  getQueue: 'get',
  postListsByIdContactsRemove: 'removeContacts',
  postListsByIdContacts: 'addContacts',
  postSubscribeByListToken: 'subscribe',
  postCampaignsByIdByAction: 'act',
  postWebhooksByIdDeliveriesByDeliveryIdRedeliver: 'redeliver',
  postTemplatesByIdPreview: 'previewStored',
  getSuppressionsExportCsv: 'exportCsv',
  getListsByIdContactsCsv: 'exportContactsCsv',
  getCampaignsByIdRecipientsCsv: 'exportRecipientsCsv',
  postAdminAccountsByNameReinstate: 'reinstateAccount',
  putSessionAccount: 'switchAccount',
  getContactsByContact: 'getContactAcrossLists',
  deleteContactsByContact: 'eraseContact',
  getReportsTimeseries: 'getTimeseries',
};

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'];

interface Operation {
  id: string;
  method: string;
  path: string;
  group: string;
  name: string;
  summary: string | undefined;
  pathParams: OpenApiParameter[];
  queryParams: OpenApiParameter[];
  body: { contentType: string; schema: JsonSchema | undefined; required: boolean } | null;
  response: JsonSchema | undefined;
  paginated: boolean;
}

const words = (text: string) => text.split(/[^A-Za-z0-9]+/).filter(Boolean);
const pascal = (text: string) => words(text).map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
const camel = (text: string) => {
  const joined = pascal(text);
  return joined ? joined[0]!.toLowerCase() + joined.slice(1) : joined;
};
/** "messages" → "message", "categories" → "category": for a path that ends in one item of a collection. */
const singular = (word: string) => (word.endsWith('ies') ? word.slice(0, -3) + 'y' : word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word);

/**
 * A method's name inside its group, from the HTTP method and the path's words after the group's
 * own: GET /emails is `list` (a collection) and GET /emails/{id} `get`, POST /domains `create`,
 * POST /domains/{id}/verify `verify`, GET /lists/{id}/contacts `listContacts`.
 */
function methodName(method: string, path: string, group: string, takesPages: boolean): string {
  const segments = path.split('/').filter(Boolean);
  const first = camel(segments[0] ?? '');
  const rest = first.startsWith(group) || group.startsWith(first) ? segments.slice(1) : segments;
  const isParam = (segment: string | undefined) => segment?.startsWith('{') ?? false;
  // A noun followed by its id names one item: /sandbox/messages/{id}/content is getMessageContent.
  const nouns = rest.flatMap((segment, index) => (isParam(segment) ? [] : [isParam(rest[index + 1]) ? singular(segment) : segment]));
  const last = segments.at(-1) ?? '';
  const endsInCollection = !isParam(last) && last.endsWith('s') && !last.endsWith('ss');
  switch (method) {
    case 'get': return (takesPages || endsInCollection ? 'list' : 'get') + pascal(nouns.join(' '));
    case 'put':
    case 'patch': return 'update' + pascal(nouns.join(' '));
    case 'delete': return 'delete' + pascal(nouns.join(' '));
    default: {
      // POST to a collection creates one of it (POST /domains, POST /lists/{id}/imports); POST to
      // anything else is the action its last word names (POST /domains/{id}/verify).
      if (nouns.length === 0) return 'create';
      if (endsInCollection) return 'create' + pascal([...nouns.slice(0, -1), singular(nouns.at(-1)!)].join(' '));
      return camel(nouns.at(-1)!) + pascal(nouns.slice(0, -1).join(' '));
    }
  }
}

function operationsOf(document: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const path of Object.keys(document.paths).sort()) {
    const item = document.paths[path]!;
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const parameters = operation.parameters ?? [];
      const queryParams = parameters.filter((parameter) => parameter.in === 'query');
      const group = camel(operation.tags?.[0] ?? path.split('/').filter(Boolean)[0] ?? 'root');
      const paginated = queryParams.some((parameter) => parameter.name === 'cursor');
      const [contentType, media] = Object.entries(operation.requestBody?.content ?? {})[0] ?? [];
      const success = Object.entries(operation.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status)).sort(([a], [b]) => a.localeCompare(b))[0]?.[1];
      operations.push({
        id: operation.operationId,
        method,
        path,
        group,
        name: METHOD_NAMES[operation.operationId] ?? methodName(method, path, group, paginated || queryParams.some((parameter) => parameter.name === 'limit')),
        summary: operation.summary ?? operation.description,
        pathParams: parameters.filter((parameter) => parameter.in === 'path'),
        queryParams,
        body: contentType ? { contentType, schema: media?.schema, required: operation.requestBody?.required === true } : null,
        response: success?.content?.['application/json']?.schema,
        paginated,
      });
    }
  }
  return operations;
}

function queryType(parameters: OpenApiParameter[]): string {
  const lines = parameters.map((parameter) =>
    `${docComment(parameter.description, '  ')}  ${propertyName(parameter.name)}${parameter.required ? '' : '?'}: ${toTypeScript(parameter.schema, '  ')};\n`,
  );
  return `{\n${lines.join('')}}`;
}

function typesOf(operation: Operation): string {
  const base = pascal(operation.id);
  const parts = [];
  if (operation.queryParams.length > 0) parts.push(`export type ${base}Query = ${queryType(operation.queryParams)};\n`);
  if (operation.body) {
    const type = operation.body.contentType === 'application/json' ? toTypeScript(operation.body.schema) : 'string';
    parts.push(`export type ${base}Body = ${type};\n`);
  }
  const response = operation.response
    ? toTypeScript(operation.response)
    : 'unknown /* this route declares no response schema yet */';
  parts.push(`export type ${base}Response = ${response};\n`);
  return `// ${operation.method.toUpperCase()} ${operation.path}\n${parts.join('')}`;
}

function methodOf(operation: Operation): string {
  const base = pascal(operation.id);
  const parameters: string[] = operation.pathParams.map((parameter) => `${camel(parameter.name)}: ${toTypeScript(parameter.schema, '    ')}`);
  const args: string[] = [];
  if (operation.pathParams.length > 0) {
    args.push(`path: { ${operation.pathParams.map((parameter) => (parameter.name === camel(parameter.name) ? parameter.name : `${propertyName(parameter.name)}: ${camel(parameter.name)}`)).join(', ')} }`);
  }
  if (operation.body) {
    parameters.push(`body${operation.body.required ? '' : '?'}: ${base}Body`);
    args.push('body');
  }
  const queryRequired = operation.queryParams.some((parameter) => parameter.required);
  if (operation.queryParams.length > 0) {
    parameters.push(`query${queryRequired ? '' : '?'}: ${base}Query`);
    args.push('query');
  }
  parameters.push('options?: RequestOptions');
  const summary = `${operation.summary ? `${operation.summary}. ` : ''}\`${operation.method.toUpperCase()} ${operation.path}\``;
  const follows = DATA_FOLLOWS_FIELD[operation.id];
  let text: string;
  if (follows && operation.body) {
    const answer = `DataFollows<${base}Response, B['${follows}']>`;
    const generic = parameters.map((parameter) => parameter.replace(`body: ${base}Body`, 'body: B'));
    text = `${docComment(summary, '  ')}  ${operation.name}<B extends ${base}Body>(${generic.join(', ')}): Promise<${answer}> {\n`;
    text += `    return this.transport.request<${answer}>(OPERATIONS.${operation.id}, { ${args.join(', ')} }, options);\n  }\n`;
  } else {
    text = `${docComment(summary, '  ')}  ${operation.name}(${parameters.join(', ')}): Promise<${base}Response> {\n`;
    text += `    return this.transport.request<${base}Response>(OPERATIONS.${operation.id}, { ${args.join(', ')} }, options);\n  }\n`;
  }
  if (operation.paginated) {
    const pageParameters = parameters.slice(0, -1).map((parameter) => parameter.replace(/^query(\??): (\w+)$/, `query$1: Omit<$2, 'cursor'>`));
    const callArgs = parameters.slice(0, -1).map((parameter) => parameter.split(/\??:/)[0]!).map((name) => (name === 'query' ? '{ ...query, cursor }' : name));
    text += `\n${docComment(`Every page of \`${operation.name}\`, following the cursor until the last.`, '  ')}`;
    text += `  ${operation.name}Pages(${[...pageParameters, 'options?: RequestOptions'].join(', ')}): AsyncGenerator<${base}Response> {\n`;
    text += `    return paginate<${base}Response, ${base}Query['cursor']>((cursor) => this.${operation.name}(${[...callArgs, 'options'].join(', ')}));\n  }\n`;
  }
  return text;
}

function specOf(operation: Operation): string {
  const fields = [`method: '${operation.method.toUpperCase()}'`, `path: '${operation.path}'`];
  if (operation.body) fields.push(`contentType: '${operation.body.contentType}'`);
  if (SENDING_OPERATIONS.has(operation.id)) fields.push('sendsMail: true');
  return `  ${operation.id}: { ${fields.join(', ')} },\n`;
}

/** The source of src/generated.ts for this document. */
export function generateSource(document: OpenApiDocument): string {
  const operations = operationsOf(document);
  const groups = new Map<string, Operation[]>();
  for (const operation of operations) {
    const list = groups.get(operation.group) ?? [];
    if (list.some((other) => other.name === operation.name || `${other.name}Pages` === operation.name)) {
      throw new Error(`${operation.id} and another ${operation.group} operation are both named ${operation.name}: add one to METHOD_NAMES in generator.ts`);
    }
    list.push(operation);
    groups.set(operation.group, list);
  }
  const groupNames = [...groups.keys()].sort();

  let source = `// Generated by packages/sdk/scripts/generate.ts from the OpenAPI document of ${document.info.title} ${document.info.version}.\n`;
  source += '// Do not edit: change the route schemas and run `npm run sdk:generate` (test/sdk/drift.test.ts checks it).\n';
  source += "import type { DataFollows } from './answers.js';\n";
  source += "import { paginate } from './pagination.js';\n";
  source += "import type { OperationSpec, RequestOptions, Transport } from './transport.js';\n\n";
  source += operations.map(typesOf).join('\n');
  source += '\n/** Every operation: what the transport needs to call it. */\n';
  source += `export const OPERATIONS = {\n${operations.map(specOf).join('')}} as const satisfies Record<string, OperationSpec>;\n`;
  for (const name of groupNames) {
    source += `\n/** The \`${name}\` operations. */\nexport class ${pascal(name)}Resource {\n  constructor(private readonly transport: Transport) {}\n\n`;
    source += groups.get(name)!.map(methodOf).join('\n');
    source += '}\n';
  }
  source += '\n/** Every resource, as properties of the client. */\nexport class MailroomResources {\n';
  source += groupNames.map((name) => `  readonly ${name}: ${pascal(name)}Resource;\n`).join('');
  source += '\n  constructor(transport: Transport) {\n';
  source += groupNames.map((name) => `    this.${name} = new ${pascal(name)}Resource(transport);\n`).join('');
  source += '  }\n}\n';
  return source;
}
