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
    static let deleteKey = "DELETE FROM api_keys WHERE name = :name"
    static let deleteSessionsOf = "DELETE FROM sessions WHERE principal = :name"
    static let touchKey = "UPDATE api_keys SET last_used_ms = :now WHERE name = :name"
    static let anyKey = "SELECT 1 FROM api_keys LIMIT 1"

    static let sessionColumns = "principal, role, created_ms, expires_ms"
    static let insertSession = """
        INSERT INTO sessions (token_sha256, principal, role, created_ms, expires_ms)
        VALUES (:token_sha256, :principal, :role, :now, :expires_ms)
        """
    static let sessionByDigest = """
        SELECT \(sessionColumns) FROM sessions WHERE token_sha256 = :token_sha256 AND expires_ms > :now
        """
    static let deleteSession = "DELETE FROM sessions WHERE token_sha256 = :token_sha256"
    static let deleteExpiredSessions = "DELETE FROM sessions WHERE expires_ms <= :now"
}
