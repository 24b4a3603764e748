import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verifies a webhook request as Standard Webhooks define it (https://www.standardwebhooks.com),
 * which is how Mailroom signs: the signature is "v1," and the base64 HMAC-SHA256, under the
 * secret's key (the base64 after "whsec_"), of `${webhook-id}.${webhook-timestamp}.${body}`;
 * during a secret rotation the header carries several, separated by spaces.
 */

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
}

/** Node's IncomingHttpHeaders, a fetch Headers, or a plain object. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  /** How far the timestamp may be from now, either way (default 300 s): an old request replayed is refused. */
  toleranceSeconds?: number;
  /** The present, for tests (default Date.now()). */
  now?: Date;
}

function header(headers: WebhookHeaders, name: string): string | null {
  if (headers instanceof Headers) return headers.get(name);
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(entry) ? (entry[0] ?? null) : (entry ?? null);
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/**
 * Checks the request's signature and timestamp and returns the parsed payload; throws a
 * WebhookVerificationError otherwise. `body` must be the raw body as received (a re-serialised
 * JSON object would not match).
 */
export function verifyWebhook<Payload = unknown>(secret: string, headers: WebhookHeaders, body: string | Uint8Array, options: VerifyOptions = {}): Payload {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('Missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError('Invalid webhook-timestamp');
  const tolerance = options.toleranceSeconds ?? 300;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - Number(timestamp)) > tolerance) throw new WebhookVerificationError('The webhook-timestamp is too old or too new');

  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const expected = createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.`).update(raw).digest();
  const matches = signatures.split(' ').some((candidate) => {
    const [version, signature] = candidate.split(',', 2);
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new WebhookVerificationError('No matching signature');
  return JSON.parse(raw.toString('utf8')) as Payload;
}
