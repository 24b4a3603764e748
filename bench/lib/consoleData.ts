import type { Database } from '../../src/db/database.js';

/**
 * The console benchmark's messages, generated in the database with generate_series: `messages`
 * rows of one account, created one after another over 90 days (message n at
 * first + n * span / total), with ids as Mailroom makes them (src/shared/ids.ts: 10 characters of
 * the creation time in milliseconds, then 12 more, here taken from md5(n) so a run is repeatable).
 * Each message's other fields come from hashes of its number:
 *   40% marketing (a campaign of that day, tags "newsletter" and one of 20; half carry the
 *   recipient's subscriber id "sub-K" as externalId), 60% transactional (an order id "ord-N" as
 *   externalId for 90%, one of four tags); 10% one of 50 clientIds; 10% a callback URL.
 *   Recipients: `recipients` addresses (user K at one of ten providers, or one of 5,000 company
 *   domains for every fifth K), spread evenly.
 *   Statuses of the messages older than an hour: 93% DELIVERED, 3% BOUNCED, 2% REJECTED, 0.5%
 *   FAILED, 1.4% SENT, 0.1% COMPLAINED; of the last hour's: QUEUED, DEFERRED, SENT and DELIVERED.
 *   Content as the send pipeline stores it (src/sending/render.ts): a plain-text part of about 300
 *   bytes, and for marketing an HTML part of about 800.
 * The list query (src/sending/messages.sql, listMessages) joins only `accounts` and `operators`,
 * which the first start made: no events are generated (the message page reads them, the list
 * does not).
 */
export const DATA_VERSION = 1;
export const SPAN_MS = 90 * 86_400_000;
/** Messages per statement: progress is printed after each. */
export const CHUNK = 200_000;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const PROVIDERS = ['gmail.com', 'gmail.com', 'gmail.com', 'yahoo.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'gmx.de', 'web.de'];

/** SQL for message n's id: newMessageId's time prefix of `ms` (a bigint expression), then md5 of n. */
function idSql(ms: string): string {
  const chars = Array.from({ length: 10 }, (_, k) => `substr('${ALPHABET}', ((${ms} >> ${45 - 5 * k}) & 31)::int + 1, 1)`);
  return `${chars.join(' || ')} || substr(md5(n::text), 1, 12)`;
}

/** A hash of the message number and a salt, from 0 to m - 1 (as bench/lib/reportData.ts). */
const hash = (salt: number, m: number | string) => `mod(hashint8(n + ${salt})::bigint + 2147483648, ${m})`;

const providerSql = `(ARRAY[${PROVIDERS.map((name) => `'${name}'`).join(', ')}])[k % ${PROVIDERS.length} + 1]`;

const GENERATE = `
WITH s AS (
  SELECT n, $6::bigint + (n * $4::bigint) / $3::bigint AS ms,
         ${hash(0, 1000)} AS r1, ${hash(7_777_777_777, 1000)} AS r2, ${hash(15_555_555_555, 1_000_000)} AS r3,
         ${hash(23_333_333_333, 1000)} AS r4, ${hash(31_111_111_111, 1000)} AS r5,
         ${hash(38_888_888_888, '$recipients')} AS k
  FROM generate_series($1::bigint, $2::bigint - 1) n
), m AS (
  SELECT s.*, to_timestamp(0) + ms * interval '1 millisecond' AS at, r1 < 400 AS marketing,
         'user' || k || '@' || CASE WHEN k % 5 = 0 THEN 'company' || (k / 5 % 5000) || '.example' ELSE ${providerSql} END AS address
  FROM s
), c AS (
  SELECT m.*, ${idSql('ms')} AS id,
         CASE WHEN marketing THEN 'news@shop.example' ELSE 'receipts@shop.example' END AS sender,
         CASE WHEN marketing THEN 'Our news of ' || to_char(at, 'DD Mon') ELSE 'Your order ord-' || n END AS subject,
         CASE WHEN marketing THEN 'Hello user' || k || E',\\n\\nThis week at the shop: new arrivals, the autumn sale and a guide to the season''s best buys. '
                                  || 'Read it online at https://shop.example/news/' || to_char(at, 'YYYYMMDD') || E'\\n\\nShop Example, 1 Market Street, Springfield. You get this because you subscribed.'
              ELSE 'Hello user' || k || E',\\n\\nThank you for your order ord-' || n || '. We have received your payment of ' || to_char((r3 % 20000) / 100.0, 'FM99990.00')
                   || E' EUR and will send the parcel within two working days. You can follow it at https://shop.example/orders/ord-' || n
                   || E'\\n\\nQuestions? Reply to this message.\\n\\nShop Example' END AS body,
         CASE WHEN at < $7::timestamptz - interval '1 hour' THEN
                CASE WHEN r2 < 930 THEN 'DELIVERED' WHEN r2 < 960 THEN 'BOUNCED' WHEN r2 < 980 THEN 'REJECTED'
                     WHEN r2 < 985 THEN 'FAILED' WHEN r2 < 999 THEN 'SENT' ELSE 'COMPLAINED' END
              ELSE CASE WHEN r2 < 300 THEN 'QUEUED' WHEN r2 < 400 THEN 'DEFERRED' WHEN r2 < 500 THEN 'SENT' ELSE 'DELIVERED' END END AS status
  FROM m
), inserted AS (
  INSERT INTO messages (id, account_id, operator_id, status, to_address, from_address, subject, external_id, client_id, alias, campaign_id,
                        callbacks, tags, envelope, content, message_id_hdr, send_at, created_at, updated_at)
  SELECT id, $5::bigint, $8::bigint, status, address, sender, subject,
         CASE WHEN marketing AND r4 < 500 THEN 'sub-' || k WHEN NOT marketing AND r4 < 900 THEN 'ord-' || n END,
         CASE WHEN r5 < 100 THEN 'client-' || (r3 % 50) END,
         CASE WHEN marketing THEN 'Shop Example' END,
         CASE WHEN marketing THEN 'camp-' || to_char(at, 'YYYYMMDD') || '-' || (r3 % 3) END,
         CASE WHEN r5 >= 900 THEN '["https://hooks.shop.example/mailroom"]'::jsonb ELSE '[]'::jsonb END,
         CASE WHEN marketing THEN jsonb_build_array('newsletter', 'tag-' || lpad((r3 % 20)::text, 2, '0'))
              ELSE (ARRAY['["receipt"]', '["password-reset"]', '["welcome"]', '[]'])[r3 % 4 + 1]::jsonb END,
         jsonb_build_object('from', sender, 'to', jsonb_build_array(address)),
         jsonb_build_object('to', address, 'from', sender, 'subject', subject, 'text', body, 'plain', NULL,
           'html', CASE WHEN marketing THEN '<!doctype html><html><body style="font-family:Arial,sans-serif;margin:0;padding:0">'
             || '<table role="presentation" width="100%"><tr><td align="center"><table width="600"><tr><td style="padding:24px">'
             || '<h1 style="font-size:22px;color:#222">' || subject || '</h1><p>Hello user' || k || ',</p>'
             || '<p>This week at the shop: new arrivals, the autumn sale and a guide to the season''s best buys.</p>'
             || '<p><a href="https://shop.example/news/' || to_char(at, 'YYYYMMDD') || '?u=' || k || '" style="background:#0b57d0;color:#fff;padding:12px 20px;border-radius:4px;text-decoration:none">Read more</a></p>'
             || '<p style="font-size:12px;color:#666">Shop Example, 1 Market Street, Springfield. <a href="https://shop.example/unsubscribe?u=' || k || '">Unsubscribe</a></p>'
             || '</td></tr></table></td></tr></table></body></html>' END,
           'cc', '[]'::jsonb, 'bcc', '[]'::jsonb, 'replyTo', NULL, 'headers', '{}'::jsonb, 'attachments', '[]'::jsonb,
           'type', CASE WHEN marketing THEN 'marketing' ELSE 'transactional' END,
           'trackOpens', marketing, 'trackClicks', marketing, 'unsubscribeMsg', NULL),
         '<' || id || '@shop.example>', NULL, at, at + CASE WHEN status IN ('QUEUED', 'DEFERRED') THEN interval '0' ELSE interval '30 seconds' END
  FROM c
  RETURNING 1
) SELECT count(*)::int AS n FROM inserted`;

export interface GeneratedMessages {
  total: number;
  /** The first message's creation time (ms) and the newest's. */
  firstMs: number;
  lastMs: number;
}

/** The indexes on `messages` that no constraint owns, as CREATE INDEX statements (dropped while loading, built again after). */
async function secondaryIndexes(db: Database): Promise<{ name: string; definition: string }[]> {
  return db.query<{ name: string; definition: string }>(`
    SELECT indexname AS name, indexdef AS definition FROM pg_indexes
    WHERE schemaname = current_schema() AND tablename = 'messages'
      AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'messages'::regclass)
    ORDER BY indexname`);
}

/**
 * Generates `total` messages into the account, CHUNK per statement, with the secondary indexes
 * dropped while loading and built again afterwards (each index then holds the same rows as if it
 * had grown with them, packed tighter), then VACUUM ANALYZE. `progress` after each chunk and index.
 */
export async function generateMessages(
  db: Database, account: { accountId: number; operatorId: number }, total: number, recipients: number, lastMs: number, progress: (line: string) => void,
): Promise<GeneratedMessages> {
  const firstMs = lastMs - SPAN_MS;
  const indexes = await secondaryIndexes(db);
  for (const index of indexes) await db.query(`DROP INDEX ${index.name}`);
  const started = performance.now();
  const sql = GENERATE.replace('$recipients', String(recipients));
  let done = 0;
  for (let first = 0; first < total; first += CHUNK) {
    const end = Math.min(total, first + CHUNK);
    const [row] = await db.query<{ n: number }>(sql, [first, end, total, SPAN_MS, account.accountId, firstMs, new Date(lastMs), account.operatorId]);
    done += row!.n;
    const seconds = (performance.now() - started) / 1000;
    progress(`${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} messages (${seconds.toFixed(0)} s, ${Math.round(done / seconds).toLocaleString('en-US')}/s)`);
  }
  for (const index of indexes) {
    const t = performance.now();
    await db.query(index.definition);
    progress(`index ${index.name} built in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  }
  const t = performance.now();
  await db.query('VACUUM ANALYZE messages');
  progress(`VACUUM ANALYZE messages in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  return { total: done, firstMs, lastMs: firstMs + Math.floor(((total - 1) * SPAN_MS) / total) };
}
