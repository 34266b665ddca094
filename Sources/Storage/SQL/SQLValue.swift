/// A value bound to a statement parameter, on either engine: null, a 64-bit integer, a double,
/// UTF-8 text or bytes. Each engine maps these five to its own types (SQLite's storage classes;
/// PostgreSQL's `bigint`, `double precision`, `text` and `bytea`, booleans stored as 0 or 1 by
/// way of a cast), so the store above binds the same values to both.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

extension SQLValue {
    /// An integer, widened to 64 bits.
    public static func integer(_ value: Int) -> SQLValue { .integer(Int64(value)) }

    /// A boolean stored as 0 or 1, the convention of every `CHECK (x IN (0, 1))` column.
    public static func bool(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }

    /// Text, or NULL when absent.
    public static func text(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }

    /// An integer, or NULL when absent.
    public static func integer(_ value: Int64?) -> SQLValue { value.map { .integer($0) } ?? .null }

    /// A real, or NULL when absent. Both engines store NaN as NULL.
    public static func real(_ value: Double?) -> SQLValue { value.map { .real($0) } ?? .null }
}

/// Named arguments for one statement execution, keyed by parameter name including its prefix
/// (`":now"`).
public typealias SQLArguments = [String: SQLValue]
