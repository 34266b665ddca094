-- 0006_key_principals (PostgreSQL): as the SQLite migration of the same number, a stored key's
-- principal becomes its immutable id (`key:` and the first 16 hex digits of its SHA-256), and
-- each session names the key that signed it in.

UPDATE jobs SET owner = 'key:' || substr(k.key_sha256, 1, 16) FROM api_keys AS k WHERE k.name = jobs.owner;
UPDATE datasets SET owner = 'key:' || substr(k.key_sha256, 1, 16) FROM api_keys AS k WHERE k.name = datasets.owner;
UPDATE idempotency_keys SET owner = 'key:' || substr(k.key_sha256, 1, 16) FROM api_keys AS k WHERE k.name = idempotency_keys.owner;

ALTER TABLE sessions ADD COLUMN key_sha256 text CHECK (key_sha256 IS NULL OR length(key_sha256) = 64);
UPDATE sessions SET key_sha256 = k.key_sha256 FROM api_keys AS k WHERE k.name = sessions.principal;
DELETE FROM sessions WHERE key_sha256 IS NULL AND principal NOT LIKE 'key:%';
CREATE INDEX sessions_key ON sessions (key_sha256);
