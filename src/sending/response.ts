import type { ErrorDetail } from '../shared/errors.js';
import type { MessageData } from './schema.js';

export interface Meta {
  timestamp: number;
  transactionId: string;
}

/** The `data` object of SPEC section 3, for a message row or a freshly accepted message. */
export function messageData(input: {
  id: string;
  to: string;
  from: string;
  userName: string;
  operator: string;
  text: string;
  status: string;
  subject: string;
  externalId: string | null;
  clientId: string | null;
  callbacks: string[];
  alias: string | null;
}): MessageData {
  return {
    id: input.id,
    to: input.to,
    from: input.from,
    userName: input.userName,
    operator: input.operator,
    text: input.text,
    status: input.status,
    subject: input.subject,
    externalId: input.externalId,
    clientId: input.clientId,
    callbacks: input.callbacks,
    alias: input.alias,
  };
}

export function successBody(meta: Meta, data: unknown, warnings: ErrorDetail[] = []): Record<string, unknown> {
  return warnings.length > 0 ? { meta, data, warnings } : { meta, data };
}

/**
 * A HIPAA account's response as it is kept for Idempotency-Key replays (docs/HIPAA.md): ids,
 * statuses and codes only. A replay answers the same ids; what the messages said is not kept.
 */
export function withheldResponseBody(body: unknown): unknown {
  // A single send's data is the message; a send to several addresses', its messages; a bulk
  // send's, its results (each {data} or {error}), one per message.
  type Result = { data: MessageData } | { error: unknown };
  const shaped = body as { data?: MessageData | (MessageData | Result)[]; warnings?: unknown };
  const withhold = (data: MessageData): MessageData => ({ ...data, to: '', from: '', text: '', subject: '', externalId: null, clientId: null, alias: null });
  const isResult = (item: MessageData | Result): item is Result => 'data' in item || 'error' in item;
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  delete copy.warnings;
  if (Array.isArray(shaped.data)) {
    copy.data = shaped.data.map((item) => (!isResult(item) ? withhold(item) : 'data' in item ? { data: withhold(item.data) } : { error: { code: (item.error as { code: string }).code } }));
  } else if (shaped.data) copy.data = withhold(shaped.data);
  return copy;
}
