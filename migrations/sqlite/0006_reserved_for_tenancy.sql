-- 0006: the number reserved for the tenancy change. A placeholder so that this branch's 0007 applies
-- (versions run without gaps); when the tenancy branch's own 0006 migration is merged, delete this file.
SELECT 1;
