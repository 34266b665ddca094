-- 0004: reserved for the database-health migration developed alongside; this no-op stands in for it
-- on this branch only so that versions run without gaps (drop it when the real 0004 is merged).
SELECT 1;
