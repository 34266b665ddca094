-- 0005: the number reserved for the intake change. A placeholder so that this branch's 0007 applies
-- (versions run without gaps); when the intake branch's own 0005 migration is merged, delete this file.
SELECT 1;
