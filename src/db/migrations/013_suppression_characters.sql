-- Suppression addresses are refused when they hold control or invisible characters (issue 15,
-- 6c); before, "a@example.com\r\nx" was stored as given. Such an entry never matched a message
-- (sends refuse those addresses), could not be removed through the API any more (the path is
-- held to the same rule), and would make an export fail its own import: it goes.
DELETE FROM suppressions
WHERE address ~ '[\x01-\x1f\x7f-\x9f\u00a0\u00ad\u034f\u061c\u1680\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufe00-\ufe0f\ufeff]';
