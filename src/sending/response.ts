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
