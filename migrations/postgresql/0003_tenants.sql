-- 0003_tenants (PostgreSQL): owners of jobs, data sets and idempotency keys; stored API keys and
-- dashboard sessions (SHA-256 digests only). As in the SQLite migration of the same number, rows
-- from before owners existed belong to 'anonymous', the principal of single-user mode.

ALTER TABLE jobs ADD COLUMN owner text NOT NULL DEFAULT 'anonymous';
CREATE INDEX jobs_owner_list ON jobs (owner, created_ms DESC, id DESC);
CREATE INDEX jobs_owner_status_list ON jobs (owner, status, created_ms DESC, id DESC);

-- Uploads dedupe per owner.
ALTER TABLE datasets ADD COLUMN owner text NOT NULL DEFAULT 'anonymous';
ALTER TABLE datasets DROP CONSTRAINT datasets_sha256_key;
ALTER TABLE datasets ADD CONSTRAINT datasets_owner_sha256_key UNIQUE (owner, sha256);
CREATE INDEX datasets_sha256 ON datasets (sha256);

-- Idempotency keys are scoped per owner.
ALTER TABLE idempotency_keys ADD COLUMN owner text NOT NULL DEFAULT 'anonymous';
ALTER TABLE idempotency_keys ALTER COLUMN owner DROP DEFAULT;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (owner, key);

CREATE TABLE api_keys (
  name text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
  key_sha256 text NOT NULL UNIQUE CHECK (length(key_sha256) = 64),
  role text NOT NULL CHECK (role IN ('admin', 'user')),
  created_ms bigint NOT NULL,
  last_used_ms bigint
);

CREATE TABLE sessions (
  token_sha256 text PRIMARY KEY CHECK (length(token_sha256) = 64),
  principal text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'user')),
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL
);
CREATE INDEX sessions_principal ON sessions (principal);
CREATE INDEX sessions_expires ON sessions (expires_ms);
