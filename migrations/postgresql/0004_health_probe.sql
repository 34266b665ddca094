-- 0004_health_probe: the readiness probe writes a row here and deletes it again, in one
-- transaction: a read-only database (a standby) or a full disk refuses it, so the node turns not
-- ready.

CREATE TABLE health_probe (
    id BIGSERIAL PRIMARY KEY,
    probed_at TIMESTAMPTZ NOT NULL
);
