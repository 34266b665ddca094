-- 0004_health_probe: the readiness probe writes a row here and deletes it again, in one
-- transaction. Unlike an empty transaction that needs a free page, so a full disk makes the node
-- not ready.

CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY,
    probed_at_ms INTEGER NOT NULL
) STRICT;
