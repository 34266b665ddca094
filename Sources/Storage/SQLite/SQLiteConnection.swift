import CSQLite

/// One SQLite connection with a statement cache: the SQLite engine's `SQLConnection`.
///
/// Not `Sendable`: a connection belongs to one serial queue (or one borrower of a pool) at a
/// time, so it is opened with `SQLITE_OPEN_NOMUTEX` and SQLite's own locking is skipped.
public final class SQLiteConnection: SQLConnection {
    let handle: OpaquePointer
    /// The file this connection opened, for error messages.
    public let path: String
    private var cache: [String: SQLiteStatement] = [:]
    private var isClosed = false

    /// How a transaction takes its locks.
    public enum TransactionKind: String, Sendable {
        /// Takes no lock until the first read or write. A deferred transaction that reads then
        /// writes can fail with `SQLITE_BUSY` without waiting for the busy timeout.
        case deferred = "BEGIN DEFERRED"
        /// Takes the write lock up front, where the busy timeout applies: use it for every write.
        case immediate = "BEGIN IMMEDIATE"
        case exclusive = "BEGIN EXCLUSIVE"
    }

    /// Opens (creating if needed) the database file at `path`, with extended result codes on.
    public init(path: String, busyTimeoutMs: Int32 = 5000) throws {
        var connection: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &connection, flags, nil)
        guard code == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(connection)
            throw SQLiteError(extendedCode: code, message: "\(message) (opening \(path))")
        }
        self.handle = connection
        self.path = path
        sqlite3_extended_result_codes(connection, 1)
        sqlite3_busy_timeout(connection, busyTimeoutMs)
    }

    deinit {
        if !isClosed {
            cache.removeAll()
            sqlite3_close_v2(handle)
        }
    }

    /// Finalizes the cached statements and closes the connection.
    public func close() throws {
        guard !isClosed else { return }
        cache.removeAll()
        let code = sqlite3_close(handle)
        // SQLITE_BUSY here means a statement outlived its use: a bug, not the environment.
        precondition(code != SQLITE_BUSY, "closing \(path) with unfinalized statements")
        guard code == SQLITE_OK else { throw error(code: code, sql: nil) }
        isClosed = true
    }

    /// Runs one or more statements without arguments (a migration, a pragma).
    public func execute(_ sql: String) throws {
        try sql.withCString { start in
            var next: UnsafePointer<CChar>? = start
            while let current = next, current.pointee != 0 {
                var statement: OpaquePointer?
                let code = sqlite3_prepare_v2(handle, current, -1, &statement, &next)
                guard code == SQLITE_OK else { throw error(code: code, sql: String(cString: current)) }
                // A trailing comment or blank prepares to no statement.
                guard let statement else { continue }
                defer { sqlite3_finalize(statement) }
                var step = sqlite3_step(statement)
                while step == SQLITE_ROW { step = sqlite3_step(statement) }
                guard step == SQLITE_DONE else {
                    throw error(code: step, sql: String(cString: sqlite3_sql(statement)))
                }
            }
        }
    }

    /// The cached prepared statement for `sql`, preparing it on first use.
    public func statement(_ sql: String) throws -> SQLiteStatement {
        if let cached = cache[sql] { return cached }
        let statement = try SQLiteStatement(database: self, sql: sql)
        cache[sql] = statement
        return statement
    }

    /// Runs a statement that returns no rows of interest; answers the number of rows changed.
    ///
    /// - Throws: `MissingSQLParameter` for a parameter of `sql` that `arguments` lacks.
    @discardableResult
    public func run(_ sql: String, _ arguments: SQLArguments = [:]) throws -> Int {
        let statement = try statement(sql)
        try statement.bind(arguments)
        try statement.run()
        return Int(sqlite3_changes64(handle))
    }

    /// Runs a query and decodes every row.
    public func query<T>(
        _ sql: String, _ arguments: SQLArguments = [:], _ decode: (SQLiteRow) throws -> T
    ) throws -> [T] {
        let statement = try statement(sql)
        try statement.bind(arguments)
        var results: [T] = []
        try statement.run { results.append(try decode($0)) }
        return results
    }

    /// Runs a query and decodes its first row, if any; the statement still runs to completion so
    /// that an `UPDATE ... RETURNING` applies to every row it matches.
    public func queryFirst<T>(
        _ sql: String, _ arguments: SQLArguments = [:], _ decode: (SQLiteRow) throws -> T
    ) throws -> T? {
        try query(sql, arguments, decode).first
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction: committed if it returns, rolled back if it throws.
    @discardableResult
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try transaction(.immediate, body)
    }

    /// Runs `body` in a transaction of `kind`: committed if it returns, rolled back if it throws.
    ///
    /// The COMMIT is checked like every other step: a commit that fails (busy, disk full) throws
    /// after rolling back, so the caller never reports a write that is not on disk.
    @discardableResult
    public func transaction<T>(_ kind: TransactionKind, _ body: () throws -> T) throws -> T {
        precondition(sqlite3_get_autocommit(handle) != 0, "nested transaction on \(path)")
        try execute(kind.rawValue)
        let result: T
        do {
            result = try body()
            try execute("COMMIT")
        } catch {
            rollbackIfActive()
            throw error
        }
        return result
    }

    /// True while a transaction is open on this connection.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    private func rollbackIfActive() {
        // SQLite may already have rolled back on its own (for example after SQLITE_FULL).
        guard sqlite3_get_autocommit(handle) == 0 else { return }
        _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
    }

    func error(code: Int32, sql: String?) -> SQLiteError {
        let extended = sqlite3_extended_errcode(handle)
        // The connection's last error may belong to an earlier call when `code` came from open.
        let resolved = (extended & 0xFF) == (code & 0xFF) ? extended : code
        return SQLiteError(
            extendedCode: resolved, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }
}
