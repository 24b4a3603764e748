import { randomBytes, randomUUID } from 'node:crypto';
import { randomBytesPooled } from '../crypto/random.js';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * Message ids: 10 characters of millisecond time and 12 of randomness (60 bits), so that ids
 * sort by creation time (cursor pagination is "id < cursor") and cannot be guessed.
 */
export function newMessageId(now = Date.now()): string {
  const random = randomBytesPooled(12);
  let tail = '';
  for (const byte of random) tail += ALPHABET[byte & 31];
  return timePart(now) + tail;
}

/** The shape of every id newMessageId makes: what a cursor of the messages list must be. */
export const MESSAGE_ID = /^[0-9a-hjkmnp-tv-z]{22}$/;

function timePart(ms: number): string {
  let time = '';
  let value = ms;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[value % 32] + time;
    value = Math.floor(value / 32);
  }
  return time;
}

/**
 * The lowest id a message made at `ms` or later can have: "created at or after a time" is "id at
 * or above this" (a message's id and its created_at come from the same clock reading), which an
 * index on id can answer. Times before 1970 give the lowest id of all.
 */
export function messageIdFloor(ms: number): string {
  return timePart(Math.max(0, Math.floor(ms)));
}

export function newTransactionId(): string {
  return randomUUID();
}

/** Random token in URL-safe base64 for leases and secrets. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
