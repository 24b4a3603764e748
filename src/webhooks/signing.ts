import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): a secret is "whsec_" and the
 * base64 of its key; a signature is "v1," and the base64 HMAC-SHA256 of `id.timestamp.body`
 * under that key; several signatures (the old and the new secret during a rotation) are
 * separated by spaces. Written here rather than taken from the `standardwebhooks` package: the
 * signing side is these few lines, and the tests check them against that package.
 */
const PREFIX = 'whsec_';

/** A new secret of 32 random bytes. */
export function newSigningSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** The three headers for one request: `timestamp` in seconds since the epoch. */
export function signatureHeaders(id: string, timestamp: number, body: string, secrets: readonly string[]): SignedHeaders {
  const signed = `${id}.${timestamp}.${body}`;
  const signatures = secrets.map((secret) => `v1,${createHmac('sha256', keyOf(secret)).update(signed).digest('base64')}`);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signatures.join(' ') };
}

/** Whether any v1 signature in the header is that of `secret` (for the test endpoint and tests). */
export function verifySignature(headers: SignedHeaders, body: string, secret: string): boolean {
  const expected = Buffer.from(signatureHeaders(headers['webhook-id'], Number(headers['webhook-timestamp']), body, [secret])['webhook-signature']);
  return headers['webhook-signature'].split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
