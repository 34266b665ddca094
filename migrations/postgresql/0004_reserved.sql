-- 0004: reserved for the outage branch's migration; this placeholder only keeps the numbering
-- gap-free on the tenancy branch and is replaced by the real 0004 when the branches merge.
SELECT 1;
