-- 0001_init: datasets, jobs and the job children (history, checkpoint, idempotency keys, events).
-- Times are integer milliseconds since the Unix epoch, written by the application (one clock).
-- Applied migrations are never edited: change the schema with a new NNNN_name.sql file.

CREATE TABLE datasets (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL CHECK (length(name) > 0),
  rows INTEGER NOT NULL CHECK (rows > 0),
  features INTEGER NOT NULL CHECK (features > 0),
  classes INTEGER NOT NULL CHECK (classes > 0),
  sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),   -- of the uploaded bytes; dedupes uploads
  content BLOB NOT NULL,                                     -- the parsed values, encoded by the caller
  builtin INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
  created_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE jobs (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  spec_json TEXT NOT NULL,
  -- Kept when the dataset goes (only terminal jobs may lose it): the spec still names it.
  dataset_id TEXT REFERENCES datasets (id) ON DELETE SET NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  started_ms INTEGER,
  finished_ms INTEGER,
  progress_done INTEGER NOT NULL DEFAULT 0 CHECK (progress_done >= 0),
  progress_total INTEGER NOT NULL CHECK (progress_total >= 0),
  progress_fraction REAL NOT NULL DEFAULT 0 CHECK (progress_fraction BETWEEN 0 AND 1),
  latest_json TEXT,
  best_json TEXT,
  error_code TEXT,
  error_message TEXT,
  attempt INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),   -- claims that consumed an attempt
  max_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  run_after_ms INTEGER NOT NULL DEFAULT 0,                   -- retry back-off
  lease_owner TEXT,                                          -- "<boot id>/<worker>" while running
  lease_expires_ms INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  version INTEGER NOT NULL DEFAULT 1,                        -- bumped by every update: ETag, long-poll
  CHECK ((finished_ms IS NULL) = (status IN ('queued', 'running'))),
  CHECK ((lease_owner IS NULL) = (status <> 'running')),
  CHECK ((lease_expires_ms IS NULL) = (lease_owner IS NULL)),
  CHECK ((error_code IS NULL) = (status <> 'failed')),
  CHECK (started_ms IS NOT NULL OR status IN ('queued', 'cancelled')),
  CHECK (cancel_requested = 0 OR status IN ('running', 'cancelled'))
) STRICT;

-- Claim order; partial, so the claim scans queued rows only.
CREATE INDEX jobs_claim ON jobs (priority DESC, created_ms, id) WHERE status = 'queued';
-- The reaper's scan for expired leases.
CREATE INDEX jobs_lease ON jobs (lease_expires_ms) WHERE status = 'running';
-- Listing newest first, with and without a status filter (keyset pagination on created_ms, id).
CREATE INDEX jobs_list ON jobs (created_ms DESC, id DESC);
CREATE INDEX jobs_status_list ON jobs (status, created_ms DESC, id DESC);
-- Dataset deletion: the in-use check and ON DELETE SET NULL.
CREATE INDEX jobs_dataset ON jobs (dataset_id) WHERE dataset_id IS NOT NULL;

-- One row per finished meta-iteration; item_json is the API history item, the REAL columns are
-- copies for sorting and plotting (NULL where the value is NaN, which SQLite cannot store).
CREATE TABLE job_history (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  meta_iteration INTEGER NOT NULL CHECK (meta_iteration >= 0),
  item_json TEXT NOT NULL,
  training_loss REAL,
  validation_loss REAL,
  validation_error REAL,
  hypergradient_norm REAL,
  seconds REAL NOT NULL CHECK (seconds >= 0),
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (job_id, meta_iteration)
) STRICT;

-- The tuning state after the job's last committed meta-iteration, to resume from.
CREATE TABLE job_checkpoints (
  job_id TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  meta_iteration INTEGER NOT NULL CHECK (meta_iteration >= 0),
  state BLOB NOT NULL,
  updated_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE idempotency_keys (
  key TEXT PRIMARY KEY NOT NULL,
  request_sha256 TEXT NOT NULL,
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  created_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX idempotency_keys_job ON idempotency_keys (job_id);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);

-- State transitions with their reasons, numbered per job; replayed by the event stream.
CREATE TABLE job_events (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL CHECK (seq > 0),
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (length(kind) > 0),
  data_json TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
) STRICT;
