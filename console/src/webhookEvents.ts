import { api } from './api.js';

/**
 * The event types a webhook may subscribe to, as the server's own OpenAPI document lists them
 * (the enum of `eventTypes` in `POST /webhooks`): a server that knows a new type offers it here
 * without a new console. Tested in console/test.
 */
export function eventTypesOf(document: unknown): string[] {
  const items = dig(document, ['paths', '/webhooks', 'post', 'requestBody', 'content', 'application/json', 'schema', 'properties', 'eventTypes', 'items']);
  const types: string[] = [];
  const collect = (schema: unknown) => {
    if (schema === null || typeof schema !== 'object') return;
    const { enum: values, const: constant, anyOf, oneOf } = schema as { enum?: unknown; const?: unknown; anyOf?: unknown; oneOf?: unknown };
    if (Array.isArray(values)) for (const value of values) if (typeof value === 'string') types.push(value);
    if (typeof constant === 'string') types.push(constant);
    for (const list of [anyOf, oneOf]) if (Array.isArray(list)) list.forEach(collect);
  };
  collect(items);
  return [...new Set(types)];
}

function dig(value: unknown, path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** How the picker groups them: the message's statuses, the reader's actions, and the account's events. */
export function groupOf(type: string): 'Message status' | 'Engagement' | 'Account' {
  if (['OPENED', 'CLICKED', 'UNSUBSCRIBED'].includes(type)) return 'Engagement';
  if (/^(WEBHOOK|REPUTATION|ACCOUNT|DOMAIN)_/.test(type)) return 'Account';
  return 'Message status';
}

let known: Promise<string[]> | null = null;

/** Read once per page load (the document is some 200 KB); a failure is tried again next time. */
export function loadEventTypes(): Promise<string[]> {
  known ??= api<unknown>('GET', '/openapi.json').then(eventTypesOf).catch((error: unknown) => {
    known = null;
    throw error;
  });
  return known;
}
