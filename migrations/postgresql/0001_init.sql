-- 0001_init (PostgreSQL): the tables of the SQLite migration of the same number, in PostgreSQL's
-- types. Times are bigint milliseconds since the Unix epoch; leases, back-off and every other time
-- that decides who owns a job come from the database's clock (rewind_now_ms), because the nodes'
-- clocks may disagree. Applied migrations are never edited: change the schema with a new file,
-- in both engines' directories.

-- The database's clock in milliseconds: the start of the current transaction, so that every time
-- one transaction writes is the same instant.
CREATE FUNCTION rewind_now_ms() RETURNS bigint LANGUAGE sql STABLE
  AS $$ SELECT floor(extract(epoch FROM now()) * 1000)::bigint $$;

CREATE TABLE datasets (
  id text PRIMARY KEY,
  name text NOT NULL CHECK (length(name) > 0),
  rows integer NOT NULL CHECK (rows > 0),
  features integer NOT NULL CHECK (features > 0),
  classes integer NOT NULL CHECK (classes > 0),
  sha256 text NOT NULL UNIQUE CHECK (length(sha256) = 64),   -- of the uploaded bytes; dedupes uploads
  content bytea NOT NULL,                                     -- the parsed values, encoded by the caller
  builtin boolean NOT NULL DEFAULT false,
  created_ms bigint NOT NULL
);

CREATE TABLE jobs (
  id text PRIMARY KEY,
  name text NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  spec_json text NOT NULL,
  -- Kept when the dataset goes (only terminal jobs may lose it): the spec still names it.
  dataset_id text REFERENCES datasets (id) ON DELETE SET NULL,
  priority integer NOT NULL DEFAULT 0,
  created_ms bigint NOT NULL,
  started_ms bigint,
  finished_ms bigint,
  progress_done integer NOT NULL DEFAULT 0 CHECK (progress_done >= 0),
  progress_total integer NOT NULL CHECK (progress_total >= 0),
  progress_fraction double precision NOT NULL DEFAULT 0 CHECK (progress_fraction BETWEEN 0 AND 1),
  latest_json text,
  best_json text,
  error_code text,
  error_message text,
  attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),   -- claims that consumed an attempt
  max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  run_after_ms bigint NOT NULL DEFAULT 0,                    -- retry back-off, database clock
  lease_owner text,                                          -- "<boot id>/<worker>" while running
  lease_expires_ms bigint,                                   -- database clock
  cancel_requested boolean NOT NULL DEFAULT false,
  version bigint NOT NULL DEFAULT 1,                         -- bumped by every update: ETag, long-poll
  CHECK ((finished_ms IS NULL) = (status IN ('queued', 'running'))),
  CHECK ((lease_owner IS NULL) = (status <> 'running')),
  CHECK ((lease_expires_ms IS NULL) = (lease_owner IS NULL)),
  CHECK ((error_code IS NULL) = (status <> 'failed')),
  CHECK (started_ms IS NOT NULL OR status IN ('queued', 'cancelled')),
  CHECK (NOT cancel_requested OR status IN ('running', 'cancelled'))
);

-- Claim order; partial, so the claim scans queued rows only.
CREATE INDEX jobs_claim ON jobs (priority DESC, created_ms, id) WHERE status = 'queued';
-- The reaper's scan for expired leases.
CREATE INDEX jobs_lease ON jobs (lease_expires_ms) WHERE status = 'running';
-- Listing newest first, with and without a status filter (keyset pagination on created_ms, id).
CREATE INDEX jobs_list ON jobs (created_ms DESC, id DESC);
CREATE INDEX jobs_status_list ON jobs (status, created_ms DESC, id DESC);
-- Dataset deletion: the in-use check and ON DELETE SET NULL.
CREATE INDEX jobs_dataset ON jobs (dataset_id) WHERE dataset_id IS NOT NULL;

-- One row per finished meta-iteration; item_json is the API history item, the double columns are
-- copies for sorting and plotting (NULL where the value is NaN, as in the SQLite engine).
CREATE TABLE job_history (
  job_id text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  meta_iteration integer NOT NULL CHECK (meta_iteration >= 0),
  item_json text NOT NULL,
  training_loss double precision,
  validation_loss double precision,
  validation_error double precision,
  hypergradient_norm double precision,
  seconds double precision NOT NULL CHECK (seconds >= 0),
  created_ms bigint NOT NULL,
  PRIMARY KEY (job_id, meta_iteration)
);

-- The tuning state after the job's last committed meta-iteration, to resume from.
CREATE TABLE job_checkpoints (
  job_id text PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
  meta_iteration integer NOT NULL CHECK (meta_iteration >= 0),
  state bytea NOT NULL,
  updated_ms bigint NOT NULL
);

CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  request_sha256 text NOT NULL,
  job_id text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  created_ms bigint NOT NULL
);
CREATE INDEX idempotency_keys_job ON idempotency_keys (job_id);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);

-- State transitions with their reasons, numbered per job; replayed by the event stream.
CREATE TABLE job_events (
  job_id text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  seq bigint NOT NULL CHECK (seq > 0),
  at_ms bigint NOT NULL,
  kind text NOT NULL CHECK (length(kind) > 0),
  data_json text NOT NULL,
  PRIMARY KEY (job_id, seq)
);
