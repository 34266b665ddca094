-- 0009_job_warnings: the warnings a submission was answered with (what the data and the spec
-- give reason to doubt), as the JSON array of the 202, so that a queued job's GET shows them too
-- until its first item carries the job's own; NULL for jobs submitted before it and without any.
ALTER TABLE jobs ADD COLUMN warnings_json TEXT;
