import Foundation
import Synchronization

/// The PostgreSQL engine of `Store`: one shared database for any number of API and worker nodes.
///
/// Every operation is one transaction on a pooled connection (`PostgresConnectionPool`), retried
/// whole after a transient failure such as a PostgreSQL restart. Claims use `FOR UPDATE SKIP
/// LOCKED`; every write of a job first locks its row, so concurrent writers of one job (a worker
/// committing, an API node cancelling, the reaper) are ordered and number its events without gaps
/// or collisions. Leases and back-off are on the database's clock unless `timeSource` says
/// otherwise.
public final class PostgresStore: SQLStore {
    typealias SQL = PostgresSQL

    /// Whose clock decides leases, back-off and the times the store writes.
    public enum TimeSource: Sendable {
        /// The database's (`now()`, one instant per transaction): nodes' clocks may disagree. The
        /// `nowMs` arguments are ignored.
        case database
        /// The callers' `nowMs` arguments, so that tests control time exactly as with SQLite.
        case caller
    }

    public var engine: StoreEngine { .postgresql }
    public let schemaVersion: Int
    /// The server and database connected to, without the password (for logs).
    public let location: String
    public let timeSource: TimeSource
    let pool: PostgresConnectionPool
    /// What this node knows about the database (fed by the pool and a probe every second).
    public var health: DatabaseHealth { pool.health }

    /// Connects, checks the schema and applies pending migrations.
    ///
    /// - Parameters:
    ///   - url: a `postgres://` or `postgresql://` URL or a libpq `key=value` string; whatever it
    ///     leaves out comes from the `PG*` environment variables (`PGHOST`, `PGUSER`, `PGPASSWORD`,
    ///     `PGPASSFILE`, ...).
    ///   - password: overrides the URL's password (read from a secret file by the caller).
    ///   - poolSize: connections this store opens at most.
    ///   - retryWindow: how long a transaction without a `StoreDeadline` (a worker's) is retried
    ///     through short failures, and waits for a free connection, before the error reaches it.
    ///   - health: the node's database health, marked up once connected (the CLI passes one that
    ///     `/readyz` already reads while the node waits for its database).
    /// - Throws: `PostgresError` when the server cannot be reached or refuses the login,
    ///   `MigrationError` for a schema this build cannot run against.
    public init(
        url: String, password: String? = nil, poolSize: Int = 4, retryWindow: Duration = .seconds(30),
        timeSource: TimeSource = .database, migrations: [Migration] = Migration.embedded(for: .postgresql),
        health: DatabaseHealth = DatabaseHealth(), nowMs: Int64
    ) throws {
        var parameters: [(String, String)] = [
            ("connect_timeout", "5"), ("application_name", "rewind"),
            // A node cut off mid-transaction must not keep a job's row locked (the reaper would
            // wait on it): the server ends such a session after 10 s. Keepalives and a send
            // timeout make the node notice a dead link in seconds, not TCP's minutes. The URL,
            // which comes after, may override any of these.
            ("options", "-c idle_in_transaction_session_timeout=10000"), ("keepalives", "1"),
            ("keepalives_idle", "5"), ("keepalives_interval", "2"), ("keepalives_count", "3"),
            ("tcp_user_timeout", "10000"),
            ("dbname", url),
        ]
        if let password { parameters.append(("password", password)) }
        pool = PostgresConnectionPool(parameters: parameters, size: poolSize, retryWindow: retryWindow, health: health)
        self.timeSource = timeSource
        location = Self.redacted(url)
        try pool.warmUp()
        let migrator = PostgresMigrator(migrations: migrations)
        try migrator.migrate(pool, nowMs: nowMs)
        schemaVersion = migrator.codeVersion
        health.markUp()
        let probeConnection = ProbeConnection()
        health.startMonitoring { [weak pool] in
            guard let pool else { return nil }
            return .some(pool.probe(on: &probeConnection.connection))
        }
    }

    /// The probe's own connection, touched only by the probe thread.
    private final class ProbeConnection: @unchecked Sendable {
        var connection: PostgresConnection?
    }

    public func close() throws {
        health.stopMonitoring()
        pool.close()
    }

    public func checkWritable() throws {
        let readOnly = try pool.transaction { connection in
            try connection.queryFirst(PostgresSQL.Session.readOnly) { $0.string(0) }
        }
        guard readOnly == "off" else { throw StoreError.readOnly(location) }
    }

    public var busyErrorCount: Int { pool.contentions.load(ordering: .relaxed) }

    /// Transactions run again after a transient failure (a restart, a broken connection).
    public var retriedTransactionCount: Int { pool.retries.load(ordering: .relaxed) }

    /// The `:now` argument of a statement: the caller's time, or NULL for the database's clock.
    func now(_ nowMs: Int64) -> SQLValue {
        switch timeSource {
        case .database: .null
        case .caller: .integer(nowMs)
        }
    }

    func write<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try pool.transaction(body)
    }

    /// Every read (and the heartbeat) is one statement, which PostgreSQL runs as its own
    /// transaction: no `BEGIN`/`COMMIT` round trips.
    func read<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try pool.withConnection(body)
    }

    /// A single statement is its own transaction on PostgreSQL: the heartbeat skips the
    /// `BEGIN`/`COMMIT` round trips.
    func writeOne<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try read(body)
    }

    /// The pool runs a transaction again after a transient failure, which may follow a COMMIT
    /// that took effect but whose answer the connection lost.
    static var writesMayRepeat: Bool { true }

    /// The URL with any password replaced by `***`.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.scheme != nil else {
            return url.split(separator: " ").map { $0.hasPrefix("password=") ? "password=***" : String($0) }
                .joined(separator: " ")
        }
        if components.password != nil { components.password = "***" }
        return components.string ?? "postgresql://***"
    }
}
