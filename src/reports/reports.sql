-- Reads of the rollups (migration 018). `/* counters */` is replaced by the sum of every counter
-- (counters.ts). A range is the whole days [dayFrom, dayTo) from the day rows plus the hours in
-- [from, to) outside them from the hour rows (ranges.ts); every read starts with the primary
-- key's (account_id, dim, key, sub), so a page of a grouped report walks the keys in index order
-- and stops at its end.

-- name: groupedByKey
-- A page of one dimension's keys, from $3 on (inclusive), up to $4 (inclusive) when given.
-- $5 from, $6 to, $7 dayFrom, $8 dayTo, $9 rows.
SELECT key AS name, /* counters */
FROM report_counts
WHERE account_id = $1 AND dim = $2 AND key >= $3 AND ($4::text IS NULL OR key <= $4) AND sub = ''
  AND ((span = 'd' AND bucket >= $7 AND bucket < $8) OR (span = 'h' AND bucket >= $5 AND bucket < $6 AND (bucket < $7 OR bucket >= $8)))
GROUP BY key
ORDER BY key
LIMIT $9;

-- name: groupedBySub
-- A page of the second keys of a combined dimension under one first key $3 (a campaign's tags or
-- domains, a tag's domains), from $4 on (inclusive), up to $5 (inclusive) when given.
-- $6 from, $7 to, $8 dayFrom, $9 dayTo, $10 rows.
SELECT sub AS name, /* counters */
FROM report_counts
WHERE account_id = $1 AND dim = $2 AND key = $3 AND sub >= $4 AND ($5::text IS NULL OR sub <= $5)
  AND ((span = 'd' AND bucket >= $8 AND bucket < $9) OR (span = 'h' AND bucket >= $6 AND bucket < $7 AND (bucket < $8 OR bucket >= $9)))
GROUP BY sub
ORDER BY sub
LIMIT $10;

-- name: seriesHours
-- One key's hours in [$5, $6) that have counts, at most $7.
SELECT bucket AS time, /* counters */
FROM report_counts
WHERE account_id = $1 AND dim = $2 AND key = $3 AND sub = $4 AND span = 'h' AND bucket >= $5 AND bucket < $6
GROUP BY bucket
ORDER BY bucket
LIMIT $7;

-- name: seriesDays
-- One key's UTC days that have counts in the range ($5 from, $6 to, $7 dayFrom, $8 dayTo), at most $9.
SELECT date_trunc('day', bucket, 'UTC') AS time, /* counters */
FROM report_counts
WHERE account_id = $1 AND dim = $2 AND key = $3 AND sub = $4
  AND ((span = 'd' AND bucket >= $7 AND bucket < $8) OR (span = 'h' AND bucket >= $5 AND bucket < $6 AND (bucket < $7 OR bucket >= $8)))
GROUP BY 1
ORDER BY 1
LIMIT $9;

-- name: totals
-- Everything one key ever counted (its day rows).
SELECT /* counters */
FROM report_counts
WHERE account_id = $1 AND dim = $2 AND key = $3 AND sub = $4 AND span = 'd';

-- name: campaignExists
SELECT EXISTS (SELECT 1 FROM messages WHERE account_id = $1 AND campaign_id = $2) AS found;

-- name: topLinks
-- A campaign's most clicked links (by people), and how many links it has.
SELECT url, clicked, clicked_unique, clicked_machine, count(*) OVER () AS links
FROM report_links
WHERE account_id = $1 AND campaign_id = $2
ORDER BY clicked DESC, url_hash
LIMIT $3;

-- name: linksPage
-- Every link of a campaign, a page at a time (for the CSV): in the order of their key.
SELECT url_hash, url, clicked, clicked_unique, clicked_machine
FROM report_links
WHERE account_id = $1 AND campaign_id = $2 AND url_hash > $3
ORDER BY url_hash
LIMIT $4;
