-- 0005: reserved for the intake branch's migration; this placeholder only keeps the numbering
-- gap-free on the tenancy branch and is replaced by the real 0005 when the branches merge.
SELECT 1;
