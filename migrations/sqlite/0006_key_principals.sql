-- 0006_key_principals: a stored key's principal is its immutable id, `key:` and the first 16 hex
-- digits of its SHA-256 (the form seeded keys already had), no longer its name. Revoking `carol`
-- and creating `carol` again makes a new principal that inherits nothing; rows owned by a name
-- whose key is gone stay with that name, which no key can be any more (names hold no ':'), so
-- only admins see them.

UPDATE jobs SET owner = (SELECT 'key:' || substr(k.key_sha256, 1, 16) FROM api_keys AS k WHERE k.name = jobs.owner)
 WHERE owner IN (SELECT name FROM api_keys);
UPDATE datasets SET owner = (SELECT 'key:' || substr(k.key_sha256, 1, 16) FROM api_keys AS k WHERE k.name = datasets.owner)
 WHERE owner IN (SELECT name FROM api_keys);
UPDATE idempotency_keys SET owner = (SELECT 'key:' || substr(k.key_sha256, 1, 16) FROM api_keys AS k WHERE k.name = idempotency_keys.owner)
 WHERE owner IN (SELECT name FROM api_keys);

-- A session belongs to the key that signed it in (its digest; NULL for a seeded key, which lives
-- in the environment) and is valid only while that key exists. Sessions of keys revoked before
-- this migration, which the revocation race could leave behind, end here.
ALTER TABLE sessions ADD COLUMN key_sha256 TEXT CHECK (key_sha256 IS NULL OR length(key_sha256) = 64);
UPDATE sessions SET key_sha256 = (SELECT k.key_sha256 FROM api_keys AS k WHERE k.name = sessions.principal)
 WHERE principal IN (SELECT name FROM api_keys);
DELETE FROM sessions WHERE key_sha256 IS NULL AND principal NOT LIKE 'key:%';
CREATE INDEX sessions_key ON sessions (key_sha256);
