import { createHmac, randomBytes } from 'node:crypto';
import { decryptWithDataKey, encryptWithDataKey, generateDataKey, unwrapDataKey, wrapDataKey } from '../crypto/dataKeys.js';
import type { Sealer } from '../crypto/sealed.js';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { isProtectedContent, type Content, type StoredContent } from '../sending/render.js';
import type { NewBody, NewMessage } from '../sending/store.js';
import { hipaaIndexKeyContext, messageDataKeyContext } from '../secrets/contexts.js';

const sql = sqlFile(new URL('./vault.sql', import.meta.url), ['indexKey', 'setIndexKey'] as const);

/**
 * Encryption at rest of a HIPAA account's messages (docs/HIPAA.md). Everything a message carries
 * (addresses, subject, free-form fields, content, the submitted MIME) is encrypted with
 * AES-256-GCM under a data key of its own; the data key is stored wrapped (sealed) by the key
 * ring in message_keys, and destroying that row shreds the message. The columns that must stay
 * searchable (the recipient for the suppression check and look-ups, externalId, clientId) keep
 * a keyed hash instead: HMAC-SHA256 under the account's index key, a random key stored sealed
 * in accounts.hipaa_index_key, so rotating the master key re-seals it without changing a hash,
 * and the same address hashes differently in two accounts.
 */
export const KEYED_HASH_PREFIX = 'hmac:';

/** What the ciphertext holds: every field of the row that may carry PHI, and the submitted bytes. */
interface SealedPayload {
  to_address: string;
  subject: string;
  external_id: string | null;
  client_id: string | null;
  alias: string | null;
  tags: string[];
  envelope: { from: string; to: string[] };
  content: Content;
  /** The MIME submitted over SMTP, base64: a HIPAA message carries its own copy, shredded with it. */
  body: string | null;
}

/** What delivery needs of a sealed message, once opened. */
export interface OpenedMessage {
  envelope: { from: string; to: string[] };
  content: Content;
  body: Uint8Array | null;
}

const INDEX_KEYS_KEPT = 10_000;

export class HipaaVault {
  private readonly indexKeys = new Map<number, Buffer>();

  constructor(private readonly db: Queryable, private readonly sealer: Sealer) {}

  /** The account's index key: made (once, whichever process comes first) on first use. */
  async indexKey(accountId: number): Promise<Buffer> {
    const known = this.indexKeys.get(accountId);
    if (known) return known;
    const context = hipaaIndexKeyContext(accountId);
    let [row] = await this.db.query<{ hipaa_index_key: string | null }>(sql.indexKey, [accountId]);
    if (!row?.hipaa_index_key) [row] = await this.db.query<{ hipaa_index_key: string | null }>(sql.setIndexKey, [accountId, this.sealer.seal(randomBytes(32), context)]);
    if (!row?.hipaa_index_key) throw new Error(`account ${accountId} does not exist`);
    const key = this.sealer.openBytes(row.hipaa_index_key, context);
    if (this.indexKeys.size >= INDEX_KEYS_KEPT) this.indexKeys.clear();
    this.indexKeys.set(accountId, key);
    return key;
  }

  /** The keyed hash of an address (lower-cased) or a free-form value, as stored in its column. */
  async hasher(accountId: number): Promise<(value: string) => string> {
    const key = await this.indexKey(accountId);
    return (value) => keyedHash(key, value);
  }

  /** The row as stored for a HIPAA account: its PHI encrypted, searchable fields hashed, the wrapped data key beside it. */
  async seal(row: NewMessage, body: NewBody | null = null): Promise<NewMessage> {
    if (isProtectedContent(row.content)) throw new Error(`message ${row.id} is sealed already`);
    const hashOnce = await this.hasher(row.account_id);
    // The To is hashed for its column, its place in the envelope and its event: once (an HMAC costs ~8 µs).
    const hashes = new Map<string, string>();
    const hash = (value: string) => hashes.get(value) ?? hashes.set(value, hashOnce(value)).get(value)!;
    const dataKey = generateDataKey();
    const payload: SealedPayload = {
      to_address: row.to_address, subject: row.subject, external_id: row.external_id, client_id: row.client_id, alias: row.alias,
      tags: row.tags, envelope: row.envelope, content: row.content, body: body ? body.raw.toString('base64') : null,
    };
    const data = encryptWithDataKey(dataKey, Buffer.from(JSON.stringify(payload), 'utf8'), additionalData(row.account_id, row.id));
    return {
      ...row,
      to_address: hash(row.to_address.toLowerCase()),
      subject: '',
      external_id: row.external_id === null ? null : hash(row.external_id),
      client_id: row.client_id === null ? null : hash(row.client_id),
      alias: null,
      tags: [],
      // The recipients' hashes, index for index: bounces name a recipient by its place here, and
      // a retry's pending recipients are kept as hashes.
      envelope: { from: row.envelope.from, to: row.envelope.to.map((address) => hash(address.toLowerCase())) },
      content: { kind: 'sealed', data: data.toString('base64') },
      data_key: wrapDataKey(this.sealer, dataKey, messageDataKeyContext(row.account_id)),
      event_details: row.event_details ? { ...row.event_details, recipient: hash(row.to_address.toLowerCase()) } : row.event_details ?? null,
    };
  }

  /** Decrypts what delivery needs; throws when the data key is gone (the message was shredded). */
  open(message: { message_id: string; account_id: number; content: StoredContent; data_key: string | null }): OpenedMessage {
    if (message.content.kind !== 'sealed' || !message.data_key) throw new Error(`message ${message.message_id} was shredded: its content and data key are gone`);
    const dataKey = unwrapDataKey(this.sealer, message.data_key, messageDataKeyContext(message.account_id));
    const plaintext = decryptWithDataKey(dataKey, Buffer.from(message.content.data, 'base64'), additionalData(message.account_id, message.message_id));
    const payload = JSON.parse(plaintext.toString('utf8')) as SealedPayload;
    return { envelope: payload.envelope, content: payload.content, body: payload.body === null ? null : Buffer.from(payload.body, 'base64') };
  }
}

/** Hex: lower case already, so a hash goes through the same normalising (lower-casing) as the addresses it stands for. */
export function keyedHash(key: Buffer, value: string): string {
  return KEYED_HASH_PREFIX + createHmac('sha256', key).update(value, 'utf8').digest('hex');
}

/** Whether a stored value is a keyed hash standing in for PHI. */
export function isKeyedHash(value: string | null | undefined): boolean {
  return typeof value === 'string' && value.startsWith(KEYED_HASH_PREFIX);
}

/** The ciphertext is bound to its account and message: copied to another row, it does not open. */
function additionalData(accountId: number, messageId: string): Buffer {
  return Buffer.from(`mailroom message v1\0${accountId}\0${messageId}`, 'utf8');
}
