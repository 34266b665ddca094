/// A failure reported by PostgreSQL or by libpq: the environment failing, not a bug in the caller.
///
/// Like `SQLiteError`, it carries the server's message and the SQL text but never the bound
/// values, which may be user data.
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The five-character SQLSTATE (`40001`, `57P01`, ...); nil when the failure is the client's
    /// own (no connection, a broken socket).
    public let sqlState: String?
    /// The server's or libpq's description of what went wrong.
    public let message: String
    /// The statement that failed, if the failure belongs to one.
    public let sql: String?
    /// True when the connection itself is gone (libpq reports `CONNECTION_BAD`).
    public let connectionLost: Bool
    /// True when no connection could be made at all (the server is down or unreachable), as
    /// opposed to one that broke while in use.
    public let connectFailed: Bool

    public init(
        sqlState: String?, message: String, sql: String? = nil, connectionLost: Bool = false,
        connectFailed: Bool = false
    ) {
        self.sqlState = sqlState
        self.message = message
        self.sql = sql
        self.connectionLost = connectionLost || connectFailed
        self.connectFailed = connectFailed
    }

    /// True when running the same transaction again may succeed: the connection broke, the server
    /// is restarting or shutting this session down, or two transactions collided.
    public var isTransient: Bool {
        if connectionLost { return true }
        guard let sqlState else { return false }
        // Class 08: connection exceptions. 57P01-57P03: admin/crash shutdown, cannot connect now.
        // 40001 serialization failure, 40P01 deadlock: retry the whole transaction.
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03", "40001", "40P01"].contains(sqlState)
    }

    /// True when two transactions collided (not an outage): counted like SQLite's busy errors.
    public var isContention: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// True for a connect that the server refused for good (a wrong password, a missing role or
    /// database): waiting for the database will not help.
    public var isRefusedLogin: Bool {
        guard connectFailed else { return false }
        return ["authentication failed", "does not exist", "no pg_hba.conf entry", "no password supplied"]
            .contains { message.contains($0) }
    }

    /// True for a unique or primary-key violation.
    public var isUniqueViolation: Bool { sqlState == "23505" }

    public var description: String {
        var text = "PostgreSQL error"
        if let sqlState { text += " \(sqlState)" }
        text += ": \(message)"
        if let sql { text += " in \"\(sql)\"" }
        return text
    }
}
