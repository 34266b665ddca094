import CSQLite

/// A failure reported by SQLite: the environment failing, not a bug in the caller.
///
/// It carries the result codes, SQLite's message and the SQL text, but never the bound values:
/// those may be user data (dataset contents, job specs) and do not belong in logs.
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The primary result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT`, ...).
    public let code: Int32
    /// The extended result code (`SQLITE_BUSY_SNAPSHOT`, `SQLITE_CONSTRAINT_CHECK`, ...).
    public let extendedCode: Int32
    /// SQLite's own description of what went wrong.
    public let message: String
    /// The statement that failed, if the failure belongs to one.
    public let sql: String?

    /// Creates an error from an extended result code.
    public init(extendedCode: Int32, message: String, sql: String? = nil) {
        self.code = extendedCode & 0xFF
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    /// True when another connection held a lock for longer than the busy timeout: retryable.
    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }

    /// True when a constraint (CHECK, UNIQUE, FOREIGN KEY, NOT NULL) refused the change.
    public var isConstraintViolation: Bool { code == SQLITE_CONSTRAINT }

    public var description: String {
        let name = String(cString: sqlite3_errstr(extendedCode))
        var text = "SQLite error \(extendedCode) (\(name)): \(message)"
        if let sql { text += " in \"\(sql)\"" }
        return text
    }
}
