/// Where the service keeps its state, as given to `--database`: a `postgres://` (or
/// `postgresql://`) URL selects the PostgreSQL engine, anything else is an SQLite file path.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    /// A libpq URL; what it leaves out (host, user, password ...) comes from the `PG*` variables.
    case postgresql(url: String)

    public init(_ text: String) {
        let lowered = text.lowercased()
        if lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") {
            self = .postgresql(url: text)
        } else {
            self = .sqlite(path: text)
        }
    }

    public var engine: StoreEngine {
        switch self {
        case .sqlite: .sqlite
        case .postgresql: .postgresql
        }
    }

    /// The location fit for logs: a URL's password is masked.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgresql(let url): PostgresStore.redacted(url)
        }
    }

    /// Opens the store: the file is created if missing; the database must exist. Both apply
    /// their pending migrations.
    ///
    /// - Parameters:
    ///   - password: for PostgreSQL, overrides the URL's password (from a secret file).
    ///   - poolSize: for PostgreSQL, the most connections this node opens (4 by default).
    ///   - health: the node's database health, which the store keeps up to date once open.
    public func open(
        password: String? = nil, poolSize: Int? = nil, health: DatabaseHealth = DatabaseHealth(), nowMs: Int64
    ) throws -> any Store {
        switch self {
        case .sqlite(let path):
            return try SQLiteStore(path: path, health: health, nowMs: nowMs)
        case .postgresql(let url):
            return try PostgresStore(
                url: url, password: password, poolSize: poolSize ?? 4, health: health, nowMs: nowMs)
        }
    }

    /// True when `error`, thrown while opening, may pass if the node waits: the database cannot
    /// be reached yet (refused or timed-out connects, a server starting up, an SQLite file that
    /// cannot be opened or written yet). A refused login, a damaged file or a schema this build
    /// cannot run are not worth waiting for.
    public static func isWorthWaiting(after error: any Error) -> Bool {
        if let error = error as? PostgresError {
            return error.connectFailed ? !error.isRefusedLogin : error.isTransient
        }
        if case .down? = DatabaseHealth.condition(after: error) { return true }
        if case .refusingWrites? = DatabaseHealth.condition(after: error) { return true }
        return false
    }

    /// A pool that lets every worker heartbeat and commit while requests are served, without
    /// one node taking more than its share of the server's `max_connections`.
    public static func poolSize(workers: Int) -> Int {
        min(max(workers + 2, 4), 32)
    }
}
