/** Messages between pglite.ts (the main thread) and pgliteWorker.ts (the engine's thread). */
export type ToWorker =
  | { kind: 'query'; id: number; sql: string; params?: readonly unknown[]; name?: string; tx?: number }
  | { kind: 'begin'; id: number; tx: number }
  | { kind: 'end'; id: number; tx: number; commit: boolean }
  | { kind: 'listen'; id: number; channel: string }
  | { kind: 'unlisten'; id: number; channel: string }
  | { kind: 'close'; id: number };

export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'fatal'; error: SerializedError }
  | { kind: 'result'; id: number; rows: Record<string, unknown>[] }
  | { kind: 'error'; id: number; error: SerializedError }
  | { kind: 'notify'; channel: string; payload: string };

/** An error's message and its fields (PostgreSQL's code, detail, constraint, ...), which callers test. */
export interface SerializedError {
  message: string;
  fields: Record<string, string | number | boolean | null>;
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { message: String(error), fields: {} };
  const fields: SerializedError['fields'] = {};
  for (const [key, value] of Object.entries(error)) {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value as string | number | boolean | null;
  }
  return { message: error.message, fields };
}

export function reviveError(serialized: SerializedError): Error {
  return Object.assign(new Error(serialized.message), serialized.fields);
}
