import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Fields of a database error that quote the data of the statement: PostgreSQL's DETAIL, CONTEXT
 * ("JSON data, line 1: ..."), HINT and the query. A statement's data can be message content, and
 * no log line may hold content, so these never reach the log; the SQLSTATE and the message stay.
 */
const QUOTING_FIELDS = ['detail', 'where', 'hint', 'internalQuery', 'internalPosition', 'position', 'query', 'parameters'];

/** PostgreSQL's data exceptions (class 22) quote the offending value in the message itself. */
const QUOTED = /"(?:[^"\\]|\\.)*"/g;

export function errorForLog(error: unknown): Record<string, unknown> {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  for (const field of QUOTING_FIELDS) delete serialized[field];
  const code = typeof serialized.code === 'string' ? serialized.code : '';
  if (/^22[0-9A-Z]{3}$/.test(code)) {
    for (const field of ['message', 'stack'] as const) {
      if (typeof serialized[field] === 'string') serialized[field] = (serialized[field] as string).replace(QUOTED, '"…"');
    }
  }
  return serialized;
}

/** `destination`: where the JSON lines go (default stdout); tests pass a stream to read them back. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'mailroom' }, timestamp: pino.stdTimeFunctions.isoTime, serializers: { err: errorForLog } }, destination);
}
