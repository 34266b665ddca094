/// API keys and sessions (`AccessStore`) on PostgreSQL.
extension PostgresStore {
    public func createAPIKey(name: String, keySHA256: String, role: PrincipalRole, nowMs: Int64) throws -> Bool {
        try write { database in
            try database.run(PostgresQuery(AccessSQL.insertKey), [
                ":name": .text(name), ":key_sha256": .text(keySHA256), ":role": .text(role.rawValue),
                ":now": .integer(nowMs),
            ]) == 1
        }
    }

    public func apiKey(keySHA256: String) throws -> APIKeyRecord? {
        try read { try $0.queryFirst(PostgresQuery(AccessSQL.keyByDigest), [":key_sha256": .text(keySHA256)], APIKeyRecord.init) }
    }

    public func listAPIKeys() throws -> [APIKeyRecord] {
        try read { try $0.query(PostgresQuery(AccessSQL.allKeys), [:], APIKeyRecord.init) }
    }

    public func revokeAPIKey(name: String) throws -> Bool {
        try write { database in
            // The key's sessions go in the same transaction: revoking signs the browser out.
            _ = try database.run(PostgresQuery(AccessSQL.deleteSessionsOf), [":name": .text(name)])
            return try database.run(PostgresQuery(AccessSQL.deleteKey), [":name": .text(name)]) == 1
        }
    }

    public func touchAPIKey(name: String, nowMs: Int64) throws {
        try write { _ = try $0.run(PostgresQuery(AccessSQL.touchKey), [":name": .text(name), ":now": .integer(nowMs)]) }
    }

    public func hasAPIKeys() throws -> Bool {
        try read { try $0.queryFirst(PostgresQuery(AccessSQL.anyKey), [:]) { _ in true } } ?? false
    }

    @discardableResult
    public func createSession(
        tokenSHA256: String, principal: String, keySHA256: String?, role: PrincipalRole, nowMs: Int64, expiresMs: Int64
    ) throws -> Bool {
        try write { database in
            var arguments: SQLArguments = [
                ":token_sha256": .text(tokenSHA256), ":principal": .text(principal),
                ":role": .text(role.rawValue), ":now": .integer(nowMs), ":expires_ms": .integer(expiresMs),
            ]
            guard let keySHA256 else { return try database.run(PostgresQuery(AccessSQL.insertSession), arguments) == 1 }
            arguments[":key_sha256"] = .text(keySHA256)
            return try database.run(PostgresQuery(AccessSQL.insertKeySession), arguments) == 1
        }
    }

    public func session(tokenSHA256: String, nowMs: Int64) throws -> SessionRecord? {
        try read {
            try $0.queryFirst(
                PostgresQuery(AccessSQL.sessionByDigest), [":token_sha256": .text(tokenSHA256), ":now": .integer(nowMs)],
                SessionRecord.init)
        }
    }

    @discardableResult
    public func deleteSession(tokenSHA256: String) throws -> Bool {
        try write { try $0.run(PostgresQuery(AccessSQL.deleteSession), [":token_sha256": .text(tokenSHA256)]) == 1 }
    }

    @discardableResult
    public func purgeExpiredSessions(nowMs: Int64) throws -> Int {
        try write { try $0.run(PostgresQuery(AccessSQL.deleteExpiredSessions), [":now": .integer(nowMs)]) }
    }
}
