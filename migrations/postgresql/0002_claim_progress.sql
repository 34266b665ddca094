-- 0002_claim_progress: how far a job had got when its current attempt claimed it, so that an
-- attempt lost to a crash counts against max_attempts only when it made no progress.

ALTER TABLE jobs ADD COLUMN claim_progress_done integer NOT NULL DEFAULT 0;
