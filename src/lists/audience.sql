-- name: selectAudience
-- One page of a campaign's audience: the subscribed members of lists $2 (ids of account $1) with
-- a contact id above $4, in contact id order, $5 at most, each once. Every list is read from its
-- (list, status, contact) index from $4 on, $5 rows at most, so a page costs the same at the start
-- and at the end of a list of millions. Each candidate says whether it is a member of one of the
-- exclusion lists $3 (any status) and its suppression entry; the caller keeps the others.
WITH chosen AS (
  SELECT seq FROM lists WHERE account_id = $1 AND id = ANY($2::text[])
), excluded AS (
  SELECT array_agg(seq) AS seqs FROM lists WHERE account_id = $1 AND id = ANY($3::text[])
), candidates AS (
  SELECT DISTINCT m.contact_id FROM chosen l
  CROSS JOIN LATERAL (
    SELECT contact_id FROM list_members m
    WHERE m.list_seq = l.seq AND m.status = 'subscribed' AND m.contact_id > $4
    ORDER BY contact_id LIMIT $5
  ) m
  ORDER BY 1 LIMIT $5
)
SELECT k.contact_id AS id, c.email, c.name, c.attributes,
       EXISTS (SELECT 1 FROM list_members x, excluded e WHERE x.list_seq = ANY(e.seqs) AND x.contact_id = k.contact_id) AS excluded,
       s.reason AS suppression_reason
FROM candidates k
-- LEFT: a page's size must count every candidate, so that a short page means the end.
LEFT JOIN contacts c ON c.id = k.contact_id AND c.account_id = $1
LEFT JOIN LATERAL (SELECT reason FROM suppressions s WHERE s.account_id = $1 AND s.address = c.email OFFSET 0) s ON true
ORDER BY k.contact_id;
