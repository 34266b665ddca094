/// API keys and sessions (`AccessStore`): the statements are the same text on both engines
/// (`AccessSQL`), and times are the caller's on both.
extension SQLStore {
    private typealias Statement = SQL.Statement

    public func createAPIKey(name: String, keySHA256: String, role: PrincipalRole, nowMs: Int64) throws -> Bool {
        try write { connection in
            try connection.run(
                Statement(sql: AccessSQL.insertKey),
                [
                    ":name": .text(name), ":key_sha256": .text(keySHA256), ":role": .text(role.rawValue),
                    ":now": .integer(nowMs),
                ]) == 1
        }
    }

    public func apiKey(keySHA256: String) throws -> APIKeyRecord? {
        try read {
            try $0.queryFirst(
                Statement(sql: AccessSQL.keyByDigest), [":key_sha256": .text(keySHA256)], APIKeyRecord.init)
        }
    }

    public func listAPIKeys() throws -> [APIKeyRecord] {
        try read { try $0.query(Statement(sql: AccessSQL.allKeys), [:], APIKeyRecord.init) }
    }

    public func storedKeyDigests() throws -> Set<String>? {
        try Set(read { try $0.query(Statement(sql: AccessSQL.allKeyDigests), [:]) { $0.string("key_sha256") } })
    }

    public func revokeAPIKey(name: String) throws -> Bool {
        try write { connection in
            // The key's sessions go in the same transaction: revoking signs the browser out.
            _ = try connection.run(Statement(sql: AccessSQL.deleteSessionsOf), [":name": .text(name)])
            return try connection.run(Statement(sql: AccessSQL.deleteKey), [":name": .text(name)]) == 1
        }
    }

    public func touchAPIKey(name: String, nowMs: Int64) throws {
        try write { connection in
            _ = try connection.run(Statement(sql: AccessSQL.touchKey), [":name": .text(name), ":now": .integer(nowMs)])
        }
    }

    public func hasAPIKeys() throws -> Bool {
        try read { try $0.queryFirst(Statement(sql: AccessSQL.anyKey), [:]) { _ in true } } ?? false
    }

    @discardableResult
    public func createSession(
        tokenSHA256: String, principal: String, keySHA256: String?, role: PrincipalRole, nowMs: Int64, expiresMs: Int64
    ) throws -> Bool {
        try write { connection in
            var arguments: SQLArguments = [
                ":token_sha256": .text(tokenSHA256), ":principal": .text(principal),
                ":role": .text(role.rawValue), ":now": .integer(nowMs), ":expires_ms": .integer(expiresMs),
            ]
            guard let keySHA256 else {
                return try connection.run(Statement(sql: AccessSQL.insertSession), arguments) == 1
            }
            arguments[":key_sha256"] = .text(keySHA256)
            return try connection.run(Statement(sql: AccessSQL.insertKeySession), arguments) == 1
        }
    }

    public func session(tokenSHA256: String, nowMs: Int64) throws -> SessionRecord? {
        try read {
            try $0.queryFirst(
                Statement(sql: AccessSQL.sessionByDigest),
                [":token_sha256": .text(tokenSHA256), ":now": .integer(nowMs)], SessionRecord.init)
        }
    }

    @discardableResult
    public func deleteSession(tokenSHA256: String) throws -> Bool {
        try write { connection in
            try connection.run(Statement(sql: AccessSQL.deleteSession), [":token_sha256": .text(tokenSHA256)]) == 1
        }
    }

    @discardableResult
    public func purgeExpiredSessions(nowMs: Int64) throws -> Int {
        try write { try $0.run(Statement(sql: AccessSQL.deleteExpiredSessions), [":now": .integer(nowMs)]) }
    }
}
