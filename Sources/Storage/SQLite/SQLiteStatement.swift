import CSQLite

/// SQLite copies bound text and blobs, so Swift buffers need not outlive the bind call.
private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One prepared statement of a `SQLiteConnection`; not thread-safe, like the connection that owns it.
///
/// Statements are reused through the connection's cache: each execution binds, steps to the end
/// and resets, so a statement never holds a read transaction open between uses.
public final class SQLiteStatement {
    let handle: OpaquePointer
    /// The SQL text, for error messages.
    public let sql: String
    /// The result's column names, for reading rows by name.
    let columns: SQLColumns
    /// Every named parameter of the statement, with its prefix: all must be bound.
    private let parameters: [String]
    private unowned let database: SQLiteConnection

    init(database: SQLiteConnection, sql: String) throws {
        self.database = database
        self.sql = sql
        var statement: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let code = sql.withCString { text in
            sqlite3_prepare_v3(
                database.handle, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, &tail)
        }
        guard code == SQLITE_OK, let statement else {
            throw database.error(code: code, sql: sql)
        }
        // Everything after the first statement would silently be ignored: a bug in the constant.
        if let tail, !String(cString: tail).allSatisfy(\.isWhitespace) {
            sqlite3_finalize(statement)
            preconditionFailure("more than one statement in \"\(sql)\"; use SQLiteConnection.execute")
        }
        self.handle = statement
        columns = SQLColumns(
            (0..<sqlite3_column_count(statement)).map {
                String(cString: sqlite3_column_name(statement, $0))
            })
        parameters = (0..<sqlite3_bind_parameter_count(statement)).compactMap { index in
            sqlite3_bind_parameter_name(statement, index + 1).map { String(cString: $0) }
        }
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds every named argument; an unknown name or a failing bind is a bug in the caller.
    ///
    /// - Throws: `MissingSQLParameter` for a parameter `arguments` lacks, which SQLite would
    ///   otherwise leave NULL.
    public func bind(_ arguments: SQLArguments) throws {
        if let missing = parameters.first(where: { arguments[$0] == nil }) {
            throw MissingSQLParameter(name: missing, sql: sql)
        }
        sqlite3_clear_bindings(handle)
        for (name, value) in arguments {
            let index = sqlite3_bind_parameter_index(handle, name)
            precondition(index > 0, "no parameter \(name) in \"\(sql)\"")
            let code: Int32
            switch value {
            case .null:
                code = sqlite3_bind_null(handle, index)
            case .integer(let integer):
                code = sqlite3_bind_int64(handle, index, integer)
            case .real(let real):
                code = sqlite3_bind_double(handle, index, real)
            case .text(let text):
                // Length-based, so text containing NUL is stored whole.
                var text = text
                code = text.withUTF8 { utf8 in
                    guard let start = utf8.baseAddress, utf8.count > 0 else {
                        return sqlite3_bind_text(handle, index, "", 0, transientDestructor)
                    }
                    return start.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                        sqlite3_bind_text64(
                            handle, index, $0, UInt64(utf8.count), transientDestructor, UInt8(SQLITE_UTF8))
                    }
                }
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { buffer in
                    // A zero-length blob must still be a blob, not NULL.
                    buffer.baseAddress == nil
                        ? sqlite3_bind_zeroblob(handle, index, 0)
                        : sqlite3_bind_blob64(
                            handle, index, buffer.baseAddress, UInt64(buffer.count),
                            transientDestructor)
                }
            }
            precondition(code == SQLITE_OK, "binding \(name) failed (\(code)) in \"\(sql)\"")
        }
    }

    /// Runs the statement to completion, handing each result row to `body`, then resets it.
    public func run(_ body: (SQLiteRow) throws -> Void = { _ in }) throws {
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            switch code {
            case SQLITE_ROW:
                try body(SQLiteRow(handle: handle, columns: columns))
            case SQLITE_DONE:
                return
            default:
                throw database.error(code: code, sql: sql)
            }
        }
    }
}
