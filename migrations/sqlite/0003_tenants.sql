-- 0003_tenants: every job, data set and idempotency key belongs to the principal (API key name)
-- that made it; stored API keys and dashboard sessions, both kept as SHA-256 digests only.
-- Rows from before owners existed belong to 'anonymous', the one principal of single-user mode:
-- without keys nothing changes, with keys only admins see them.

ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT 'anonymous';
CREATE INDEX jobs_owner_list ON jobs (owner, created_ms DESC, id DESC);
CREATE INDEX jobs_owner_status_list ON jobs (owner, status, created_ms DESC, id DESC);

-- Uploads dedupe per owner, so sha256 stops being unique on its own. SQLite cannot drop a UNIQUE
-- constraint: the table is rebuilt. Dropping it fires jobs.dataset_id's ON DELETE SET NULL, so
-- the references are saved first and written back once the new table has the old name.
CREATE TEMP TABLE job_datasets_0003 AS SELECT id, dataset_id FROM jobs WHERE dataset_id IS NOT NULL;
CREATE TABLE datasets_0003 (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL CHECK (length(name) > 0),
  rows INTEGER NOT NULL CHECK (rows > 0),
  features INTEGER NOT NULL CHECK (features > 0),
  classes INTEGER NOT NULL CHECK (classes > 0),
  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
  content BLOB NOT NULL,
  builtin INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
  created_ms INTEGER NOT NULL,
  owner TEXT NOT NULL DEFAULT 'anonymous',
  UNIQUE (owner, sha256)
) STRICT;
INSERT INTO datasets_0003 (id, name, rows, features, classes, sha256, content, builtin, created_ms)
  SELECT id, name, rows, features, classes, sha256, content, builtin, created_ms FROM datasets;
DROP TABLE datasets;
ALTER TABLE datasets_0003 RENAME TO datasets;
CREATE INDEX datasets_sha256 ON datasets (sha256);
UPDATE jobs SET dataset_id = (SELECT saved.dataset_id FROM job_datasets_0003 AS saved WHERE saved.id = jobs.id)
 WHERE id IN (SELECT id FROM job_datasets_0003);
DROP TABLE job_datasets_0003;

-- Idempotency keys are scoped per owner: one principal's key never answers another's job.
CREATE TABLE idempotency_keys_0003 (
  owner TEXT NOT NULL,
  key TEXT NOT NULL,
  request_sha256 TEXT NOT NULL,
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (owner, key)
) STRICT;
INSERT INTO idempotency_keys_0003 (owner, key, request_sha256, job_id, created_ms)
  SELECT 'anonymous', key, request_sha256, job_id, created_ms FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_0003 RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_job ON idempotency_keys (job_id);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);

-- Keys made by `rewind keys create`: the name is the principal, the digest finds the key.
CREATE TABLE api_keys (
  name TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  key_sha256 TEXT NOT NULL UNIQUE CHECK (length(key_sha256) = 64),
  role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
  created_ms INTEGER NOT NULL,
  last_used_ms INTEGER
) STRICT;

-- Dashboard sign-ins. The principal is a stored key's name or a seeded key's 'key:…' name, so
-- there is no foreign key: revoking a stored key deletes its sessions explicitly.
CREATE TABLE sessions (
  token_sha256 TEXT PRIMARY KEY NOT NULL CHECK (length(token_sha256) = 64),
  principal TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_principal ON sessions (principal);
CREATE INDEX sessions_expires ON sessions (expires_ms);
