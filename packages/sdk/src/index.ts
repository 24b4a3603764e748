export { Mailroom, type MailroomOptions } from './client.js';
export * from './errors.js';
export * from './generated.js';
export type { DataFollows } from './answers.js';
export { itemsOf, nextCursorOf, paginate } from './pagination.js';
export type { OperationSpec, RequestArguments, RequestOptions, TransportOptions } from './transport.js';
export { verifyWebhook, WebhookVerificationError, type VerifyOptions, type WebhookHeaders } from './webhooks.js';
