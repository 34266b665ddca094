/// The statements of `AccessStore`, the same text on both engines (no engine-specific syntax:
/// every parameter is compared with or stored into a typed column).
enum AccessSQL {
    static let keyColumns = "name, role, created_ms, last_used_ms"
    static let insertKey = """
        INSERT INTO api_keys (name, key_sha256, role, created_ms)
        VALUES (:name, :key_sha256, :role, :now)
        ON CONFLICT (name) DO NOTHING
        """
    static let keyByDigest = "SELECT \(keyColumns) FROM api_keys WHERE key_sha256 = :key_sha256"
    static let allKeys = "SELECT \(keyColumns) FROM api_keys ORDER BY created_ms, name"
    static let allKeyDigests = "SELECT key_sha256 FROM api_keys"
    static let deleteKey = "DELETE FROM api_keys WHERE name = :name"
    /// Before the key row goes: its sessions by name and by the key's digest.
    static let deleteSessionsOf = """
        DELETE FROM sessions
         WHERE principal = :name OR key_sha256 = (SELECT key_sha256 FROM api_keys WHERE name = :name)
        """
    static let touchKey = "UPDATE api_keys SET last_used_ms = :now WHERE name = :name"
    static let anyKey = "SELECT 1 FROM api_keys LIMIT 1"

    static let sessionColumns = "principal, role, created_ms, expires_ms, key_sha256"
    /// A seeded key's session (no stored key to check).
    static let insertSession = """
        INSERT INTO sessions (token_sha256, principal, role, created_ms, expires_ms)
        VALUES (:token_sha256, :principal, :role, :now, :expires_ms)
        """
    /// A stored key's session, inserted only if the key still exists: the check and the insert
    /// are one statement, so a key revoked before it runs gets no session. (The casts give
    /// PostgreSQL the types its INSERT ... SELECT cannot infer; SQLite reads them the same way.)
    static let insertKeySession = """
        INSERT INTO sessions (token_sha256, principal, role, created_ms, expires_ms, key_sha256)
        SELECT CAST(:token_sha256 AS TEXT), CAST(:principal AS TEXT), CAST(:role AS TEXT),
               CAST(:now AS BIGINT), CAST(:expires_ms AS BIGINT), key_sha256
          FROM api_keys WHERE key_sha256 = :key_sha256
        """
    /// An unexpired session whose key, if it was signed in by a stored one, still exists: a
    /// session the revocation raced with dies with its key all the same.
    static let sessionByDigest = """
        SELECT \(sessionColumns) FROM sessions
         WHERE token_sha256 = :token_sha256 AND expires_ms > :now
           AND (key_sha256 IS NULL OR EXISTS (SELECT 1 FROM api_keys WHERE api_keys.key_sha256 = sessions.key_sha256))
        """
    static let deleteSession = "DELETE FROM sessions WHERE token_sha256 = :token_sha256"
    /// Expired sessions, and any whose stored key is gone.
    static let deleteExpiredSessions = """
        DELETE FROM sessions
         WHERE expires_ms <= :now
            OR (key_sha256 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM api_keys WHERE api_keys.key_sha256 = sessions.key_sha256))
        """
}
