import CSQLite

/// The current result row of a stepping statement; valid only inside the callback that receives it.
///
/// Columns are read by name (`SQLRow`) or position. Reading a NULL through a non-optional
/// accessor is a bug in the query or the schema, so it traps.
public struct SQLiteRow: SQLRow {
    let handle: OpaquePointer
    let columns: SQLColumns

    init(handle: OpaquePointer, columns: SQLColumns) {
        self.handle = handle
        self.columns = columns
    }

    public func column(_ name: String) -> Int32 { columns.position(of: name) }

    /// True if the column holds NULL.
    public func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    public func int64(_ column: Int32) -> Int64 {
        precondition(!isNull(column), "column \(column) is NULL")
        return sqlite3_column_int64(handle, column)
    }

    public func bool(_ column: Int32) -> Bool { int64(column) != 0 }

    public func double(_ column: Int32) -> Double {
        precondition(!isNull(column), "column \(column) is NULL")
        return sqlite3_column_double(handle, column)
    }

    public func string(_ column: Int32) -> String {
        precondition(!isNull(column), "column \(column) is NULL")
        // Length-based, so text containing NUL survives intact.
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    public func blob(_ column: Int32) -> [UInt8] {
        precondition(!isNull(column), "column \(column) is NULL")
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}
