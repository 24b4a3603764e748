-- Reads of the rollups (migration 018). `/* counters */` is replaced by the sum of every counter
-- and `/* columns */` by the counter columns themselves (counters.ts). All time is one row per
-- key (span 't'); a range is the whole UTC days [dayFrom, dayTo) from the day rows, plus, in the
-- `...WithHours` forms, the hours in [from, to) outside them from the hour rows (ranges.ts). The primary key is (account_id, dim,
-- span, key, sub, bucket): a grouped report walks one span's keys in index order and stops at
-- the end of its page; a series reads one key's range of buckets.

-- name: groupedByKey
-- A page of one dimension's keys from $3 on (inclusive), up to $4 (inclusive) when given, over
-- the buckets [$5, $6) of span $8 (days, or 't': all time); $7 rows.
SELECT key AS name, /* counters */
FROM report_counts
WHERE account_id = $1 AND dim = $2 AND span = $8 AND key >= $3 AND ($4::text IS NULL OR key <= $4) AND sub = ''
  AND bucket >= $5 AND bucket < $6
GROUP BY key
ORDER BY key
LIMIT $7;

-- name: groupedByKeyWithHours
-- The same with the hours [$8, $9) outside the whole days.
SELECT key AS name, /* counters */
FROM (
  SELECT key, /* columns */ FROM report_counts
  WHERE account_id = $1 AND dim = $2 AND span = 'd' AND key >= $3 AND ($4::text IS NULL OR key <= $4) AND sub = ''
    AND bucket >= $5 AND bucket < $6
  UNION ALL
  SELECT key, /* columns */ FROM report_counts
  WHERE account_id = $1 AND dim = $2 AND span = 'h' AND key >= $3 AND ($4::text IS NULL OR key <= $4) AND sub = ''
    AND bucket >= $8 AND bucket < $9 AND (bucket < $5 OR bucket >= $6)
) r
GROUP BY key
ORDER BY key
LIMIT $7;

-- name: groupedBySub
-- A page of the second keys of a combined dimension under one first key $3 (a campaign's tags or
-- domains, a tag's domains), from $4 on (inclusive), up to $5 (inclusive) when given, over the
-- buckets [$6, $7) of span $9 (days, or 't': all time); $8 rows.
SELECT sub AS name, /* counters */
FROM report_counts
WHERE account_id = $1 AND dim = $2 AND span = $9 AND key = $3 AND sub >= $4 AND ($5::text IS NULL OR sub <= $5)
  AND bucket >= $6 AND bucket < $7
GROUP BY sub
ORDER BY sub
LIMIT $8;

-- name: groupedBySubWithHours
-- The same with the hours [$9, $10) outside the whole days.
SELECT sub AS name, /* counters */
FROM (
  SELECT sub, /* columns */ FROM report_counts
  WHERE account_id = $1 AND dim = $2 AND span = 'd' AND key = $3 AND sub >= $4 AND ($5::text IS NULL OR sub <= $5)
    AND bucket >= $6 AND bucket < $7
  UNION ALL
  SELECT sub, /* columns */ FROM report_counts
  WHERE account_id = $1 AND dim = $2 AND span = 'h' AND key = $3 AND sub >= $4 AND ($5::text IS NULL OR sub <= $5)
    AND bucket >= $9 AND bucket < $10 AND (bucket < $6 OR bucket >= $7)
) r
GROUP BY sub
ORDER BY sub
LIMIT $8;

-- name: seriesHours
-- One key's hours in [$5, $6) that have counts, at most $7.
SELECT bucket AS time, /* counters */
FROM report_counts
WHERE account_id = $1 AND dim = $2 AND span = 'h' AND key = $3 AND sub = $4 AND bucket >= $5 AND bucket < $6
GROUP BY bucket
ORDER BY bucket
LIMIT $7;

-- name: seriesDays
-- One key's UTC days in [$5, $6) that have counts, at most $7.
SELECT bucket AS time, /* counters */
FROM report_counts
WHERE account_id = $1 AND dim = $2 AND span = 'd' AND key = $3 AND sub = $4 AND bucket >= $5 AND bucket < $6
GROUP BY bucket
ORDER BY bucket
LIMIT $7;

-- name: seriesDaysWithHours
-- The same with the hours [$8, $9) outside the whole days, added to their day.
SELECT time, /* counters */
FROM (
  SELECT bucket AS time, /* columns */ FROM report_counts
  WHERE account_id = $1 AND dim = $2 AND span = 'd' AND key = $3 AND sub = $4 AND bucket >= $5 AND bucket < $6
  UNION ALL
  SELECT date_trunc('day', bucket, 'UTC'), /* columns */ FROM report_counts
  WHERE account_id = $1 AND dim = $2 AND span = 'h' AND key = $3 AND sub = $4
    AND bucket >= $8 AND bucket < $9 AND (bucket < $5 OR bucket >= $6)
) r
GROUP BY time
ORDER BY time
LIMIT $7;

-- name: totals
-- Everything one key ever counted (its row of span 't').
SELECT /* counters */
FROM report_counts
WHERE account_id = $1 AND dim = $2 AND span = 't' AND key = $3 AND sub = $4;

-- name: campaignExists
-- A campaignId some message of the account carries, or a campaign of the account (one not yet
-- started reports zeros rather than 404).
SELECT EXISTS (SELECT 1 FROM messages WHERE account_id = $1 AND campaign_id = $2)
    OR EXISTS (SELECT 1 FROM campaigns WHERE account_id = $1 AND id = $2) AS found;

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
