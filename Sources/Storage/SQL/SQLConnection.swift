/// What the store above both engines needs of one database connection: `SQLiteConnection` and
/// `PostgresConnection` conform, each binding `SQLArguments` by name to its own statement type.
///
/// A connection is used by one borrower at a time (the engine's writer queue or pool decides who),
/// so conforming types are not `Sendable`.
protocol SQLConnection: AnyObject {
    /// A statement as the engine prepares it: SQL text on SQLite, a `PostgresQuery` on PostgreSQL.
    associatedtype Statement
    /// A result row, valid only inside the `decode` callback that receives it.
    associatedtype Row: SQLRow

    /// Runs one or more statements without parameters (a migration, `BEGIN`, a pragma).
    func execute(_ script: String) throws

    /// Runs a statement that returns no rows of interest; answers the number of rows it changed.
    ///
    /// - Throws: `MissingSQLParameter` when the statement names a parameter `arguments` lacks
    ///   (pass `.null` to mean NULL); naming a parameter the statement lacks is a bug and traps.
    @discardableResult
    func run(_ statement: Statement, _ arguments: SQLArguments) throws -> Int

    /// Runs a query and decodes every row.
    func query<T>(_ statement: Statement, _ arguments: SQLArguments, _ decode: (Row) throws -> T) throws -> [T]

    /// Runs a query and decodes its first row, if any (the statement still runs to completion, so
    /// an `UPDATE ... RETURNING` applies to every row it matches).
    func queryFirst<T>(_ statement: Statement, _ arguments: SQLArguments, _ decode: (Row) throws -> T) throws -> T?

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws (or if the
    /// COMMIT itself fails, which then throws).
    func transaction<T>(_ body: () throws -> T) throws -> T
}

/// A statement named a parameter that the call did not bind.
///
/// Both engines would otherwise bind NULL silently (SQLite leaves an unbound parameter NULL), and
/// a misspelt `:name` would write NULLs instead of failing: a bug in the caller, reported with
/// the statement but never with the bound values.
public struct MissingSQLParameter: Error, Sendable, Equatable, CustomStringConvertible {
    /// The parameter with its prefix, as written in the statement (`":now"`).
    public let name: String
    /// The statement as written.
    public let sql: String

    public var description: String { "no argument for parameter \(name) in \"\(sql)\"" }
}
