import type { Database } from '../../src/db/database.js';

/**
 * The reports benchmark's event log, generated in the database with generate_series: a year of
 * campaigns (one every 525.6 minutes, so 1,000 in 365 days), each with one or two of 100 tags;
 * campaign 0 has `bigCampaign` recipients, the others `campaignSize`. Each message is accepted
 * over the two hours after its campaign's start and gets the events a real one would, decided by
 * hashes of its number (so a run is repeatable):
 *   1% REJECTED (suppressed); 2% hard and 1% soft bounces at delivery; 3% deferred once, then
 *   delivered; the rest delivered. Of the delivered: 25% opened by a person (8% twice, the second
 *   a day later), 15% opened by a privacy proxy only; 6% clicked one of five links (1.5% a second
 *   link); 0.5% unsubscribed; 0.1% complained two days later.
 * Recipients: 35% gmail.com, then yahoo.com, outlook.com and seven more big providers, 20% spread
 * over 5,000 company domains. 60% of the messages carry one of 200,000 externalIds, 10% one of
 * 50 clientIds. Inserted through the ordinary tables, so the backlog trigger sees every event.
 */
export interface GeneratedLog {
  campaigns: number;
  messages: number;
  events: number;
}

export const CAMPAIGNS = 1000;
/** Campaigns per statement: about 100,000 messages each. */
const CHUNK = 25;
/** Events per message of the mix above, measured (2.56): sizes campaigns for a target. */
const EVENTS_PER_MESSAGE = 2.56;

/** The campaign size that makes about `events` events with one campaign of `bigCampaign`. */
export function campaignSizeFor(events: number, bigCampaign: number): number {
  return Math.max(1, Math.round((events / EVENTS_PER_MESSAGE - bigCampaign) / (CAMPAIGNS - 1)));
}

export function campaignId(k: number): string {
  return `camp-${String(k).padStart(4, '0')}`;
}

/** A hash of the message number and a salt, from 0 to m - 1. */
const hash = (salt: number, m: number) => `mod(hashint8(n + ${salt})::bigint + 2147483648, ${m})`;

const MESSAGES = `
WITH c AS (
  SELECT k, CASE WHEN k = 0 THEN $4::int ELSE $5::int END AS size,
         $3::timestamptz + k * interval '525.6 minutes' AS starts,
         'camp-' || lpad(k::text, 4, '0') AS campaign,
         CASE WHEN k % 2 = 0 THEN jsonb_build_array('tag-' || lpad((k % 100)::text, 2, '0'))
              ELSE jsonb_build_array('tag-' || lpad((k % 100)::text, 2, '0'), 'tag-' || lpad(((k * 37 + 11) % 100)::text, 2, '0')) END AS tags
  FROM generate_series($1::int, $2::int - 1) k
), m AS (
  SELECT c.*, i, k::bigint * 1000000 + i AS n FROM c CROSS JOIN LATERAL generate_series(1, c.size) i
), h AS (
  SELECT m.*, ${hash(0, 1000)} AS r1, ${hash(7_777_777_777, 1000)} AS r2, ${hash(15_555_555_555, 1_000_000)} AS r3,
         ${hash(23_333_333_333, 100)} AS r4, ${hash(31_111_111_111, 5000)} AS r5, ${hash(38_888_888_888, 1000)} AS r6,
         starts + (i % 7200) * interval '1 second' AS accepted
  FROM m
)`;

export async function generateChunk(db: Database, accountId: number, start: Date, first: number, end: number, bigCampaign: number, campaignSize: number): Promise<{ messages: number; events: number }> {
  const params = [first, end, start, bigCampaign, campaignSize, accountId];
  const [messages] = await db.query<{ n: number }>(`${MESSAGES}, inserted AS (
    INSERT INTO messages (id, account_id, operator_id, status, to_address, from_address, subject, external_id, client_id, campaign_id, tags,
                          envelope, content, message_id_hdr, created_at, updated_at)
    SELECT 'msg_' || lpad(k::text, 4, '0') || '_' || lpad(i::text, 6, '0'), $6::bigint, 1, 'DELIVERED',
           'u' || n || '@' || CASE WHEN r4 < 35 THEN 'gmail.com' WHEN r4 < 50 THEN 'yahoo.com' WHEN r4 < 60 THEN 'outlook.com'
             WHEN r4 < 65 THEN 'hotmail.com' WHEN r4 < 70 THEN 'icloud.com' WHEN r4 < 73 THEN 'aol.com' WHEN r4 < 75 THEN 'gmx.de'
             WHEN r4 < 77 THEN 'web.de' WHEN r4 < 79 THEN 'mail.ru' WHEN r4 < 80 THEN 'yandex.ru' ELSE 'company' || r5 || '.example' END,
           'news@bench.example', 'Campaign', CASE WHEN r6 < 600 THEN 'user-' || (r3 % 200000) END,
           CASE WHEN r6 >= 900 THEN 'client-' || (r3 % 50) END, campaign, tags, '{}', '{}', 'h', accepted, accepted
    FROM h
    RETURNING 1
  ) SELECT count(*)::int AS n FROM inserted`, params);
  const [events] = await db.query<{ n: number }>(`${MESSAGES}, e AS (
    SELECT h.*, accepted + (r3 % 259200) * interval '1 second' AS opened_at FROM h
  ), inserted AS (
    INSERT INTO message_events (message_id, account_id, type, created_at, details)
    SELECT 'msg_' || lpad(k::text, 4, '0') || '_' || lpad(i::text, 6, '0'), $6::bigint, t.type, t.at, t.details
    FROM e CROSS JOIN LATERAL (VALUES
      ('REJECTED', accepted, '{"reason":"SUPPRESSED"}'::jsonb, r1 < 10),
      ('QUEUED', accepted, '{}'::jsonb, r1 >= 10),
      ('BOUNCED', accepted + interval '30 seconds', '{"bounceClass":"HARD","reason":"userunknown","code":550,"enhancedCode":"5.1.1","reply":"550 5.1.1 User unknown"}'::jsonb, r1 >= 10 AND r1 < 30),
      ('BOUNCED', accepted + interval '30 seconds', '{"bounceClass":"SOFT","reason":"mailboxfull","code":552,"enhancedCode":"5.2.2","reply":"552 5.2.2 Mailbox full"}'::jsonb, r1 >= 30 AND r1 < 40),
      ('DEFERRED', accepted + interval '30 seconds', '{"reply":"451 4.7.1 Try again later"}'::jsonb, r1 >= 40 AND r1 < 70),
      ('DELIVERED', accepted + CASE WHEN r1 < 70 THEN interval '5 minutes' ELSE interval '30 seconds' END, '{"reply":"250 2.0.0 Ok"}'::jsonb, r1 >= 40),
      ('OPENED', opened_at, '{"machine":false}'::jsonb, r1 >= 40 AND r2 < 250),
      ('OPENED', opened_at + interval '1 day', '{"machine":false}'::jsonb, r1 >= 40 AND r2 < 80),
      ('OPENED', accepted + interval '40 seconds', '{"machine":true,"agent":"apple-mail-privacy-protection"}'::jsonb, r1 >= 40 AND r2 >= 250 AND r2 < 400),
      ('CLICKED', opened_at + interval '2 minutes', jsonb_build_object('machine', false, 'link', r3 % 5, 'url', 'https://shop.example/' || campaign || '/' || (r3 % 5)), r1 >= 40 AND r2 < 60),
      ('CLICKED', opened_at + interval '5 minutes', jsonb_build_object('machine', false, 'link', (r3 + 1) % 5, 'url', 'https://shop.example/' || campaign || '/' || ((r3 + 1) % 5)), r1 >= 40 AND r2 < 15),
      ('UNSUBSCRIBED', opened_at + interval '10 minutes', '{"via":"one-click"}'::jsonb, r1 >= 40 AND r2 >= 990 AND r2 < 995),
      ('COMPLAINED', accepted + interval '2 days', '{"feedbackType":"abuse","reason":"feedback","source":"arf"}'::jsonb, r1 >= 40 AND r2 = 995)
    ) t (type, at, details, wanted)
    WHERE t.wanted
    RETURNING 1
  ) SELECT count(*)::int AS n FROM inserted`, params);
  return { messages: messages!.n, events: events!.n };
}

/** The whole log, a chunk of campaigns per statement pair; `progress` after each chunk. */
export async function generateLog(
  db: Database, accountId: number, start: Date, bigCampaign: number, campaignSize: number, progress: (done: GeneratedLog) => void,
): Promise<GeneratedLog> {
  const total: GeneratedLog = { campaigns: 0, messages: 0, events: 0 };
  for (let first = 0; first < CAMPAIGNS; first += CHUNK) {
    const end = Math.min(CAMPAIGNS, first + CHUNK);
    const chunk = await generateChunk(db, accountId, start, first, end, bigCampaign, campaignSize);
    total.campaigns = end;
    total.messages += chunk.messages;
    total.events += chunk.events;
    progress(total);
  }
  return total;
}
