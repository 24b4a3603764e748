-- name: selectAudience
-- One page of a campaign's audience: the subscribed members of lists $2 (ids of account $1) with
-- a contact id above $4 (subscribed at $6 or before, when $6 is given: a campaign's audience as
-- it was when the campaign started), in contact id order, $5 at most, each once. Every list is read along its
-- key (list, contact) from $4 on, $5 subscribed rows at most, so a page costs the same at the start
-- and at the end of a list of millions. Each candidate says whether it is a member of one of the
-- exclusion lists $3 (any status) and its suppression entry; the caller keeps the others.
-- Every look-up is a LATERAL subquery with OFFSET 0, which the planner never turns into a join:
-- with the estimates of a fresh table it merged the candidates with every contact of the
-- account, and scanned the exclusion lists whole, for each page.
WITH chosen AS (
  SELECT seq FROM lists WHERE account_id = $1 AND id = ANY($2::text[])
), excluded AS MATERIALIZED (
  SELECT seq FROM lists WHERE account_id = $1 AND id = ANY($3::text[])
), candidates AS (
  SELECT DISTINCT m.contact_id FROM chosen l
  CROSS JOIN LATERAL (
    SELECT contact_id FROM list_members m
    WHERE m.list_seq = l.seq AND m.status = 'subscribed' AND m.contact_id > $4 AND ($6::timestamptz IS NULL OR m.subscribed_at <= $6)
    ORDER BY contact_id LIMIT $5
  ) m
  ORDER BY 1 LIMIT $5
)
SELECT k.contact_id AS id, c.email, c.name, c.attributes,
       EXISTS (
         SELECT 1 FROM excluded e
         CROSS JOIN LATERAL (SELECT 1 FROM list_members x WHERE x.list_seq = e.seq AND x.contact_id = k.contact_id OFFSET 0) x
       ) AS excluded,
       s.reason AS suppression_reason
FROM candidates k
-- LEFT: a page's size must count every candidate, so that a short page means the end.
LEFT JOIN LATERAL (SELECT email, name, attributes FROM contacts c WHERE c.id = k.contact_id AND c.account_id = $1 OFFSET 0) c ON true
LEFT JOIN LATERAL (SELECT reason FROM suppressions s WHERE s.account_id = $1 AND s.address = c.email OFFSET 0) s ON true
ORDER BY k.contact_id;

-- name: countAudience
-- How many contacts selectAudience would list from the start (suppressed ones included): the
-- subscribed members of lists $2 as of $4, each once, minus the members of lists $3.
WITH chosen AS (
  SELECT seq FROM lists WHERE account_id = $1 AND id = ANY($2::text[])
), excluded AS MATERIALIZED (
  SELECT seq FROM lists WHERE account_id = $1 AND id = ANY($3::text[])
), candidates AS (
  SELECT DISTINCT m.contact_id FROM chosen l
  JOIN list_members m ON m.list_seq = l.seq AND m.status = 'subscribed' AND m.subscribed_at <= $4
)
SELECT count(*)::bigint AS n FROM candidates k
WHERE NOT EXISTS (SELECT 1 FROM excluded e JOIN list_members x ON x.list_seq = e.seq AND x.contact_id = k.contact_id)
  AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = k.contact_id AND c.account_id = $1);
