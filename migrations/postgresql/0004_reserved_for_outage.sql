-- 0004: the number reserved for the outage change. A placeholder so that this branch's 0007 applies
-- (versions run without gaps); when the outage branch's own 0004 migration is merged, delete this file.
SELECT 1;
