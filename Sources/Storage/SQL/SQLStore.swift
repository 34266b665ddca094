/// The queue, lease, access and data-set semantics of `Store`, written once over `SQLConnection`
/// for both engines; `SQLiteStore` and `PostgresStore` supply only their connections (open, pool,
/// readiness, close) and the hooks below.
///
/// This is the shape of River's queue over its drivers: the rules (claim, fence by lease owner,
/// retry, complete, recover) live here, each statement in the engine's own file
/// (`SQLStatements`), and what really differs between the engines is a hook:
///
/// - `write` and `read`: SQLite's `BEGIN IMMEDIATE` on its one writer connection and deferred
///   snapshots on pooled readers; PostgreSQL's pooled transactions, retried whole after a lost
///   connection.
/// - `now(_:)`: the clock expression's argument (the caller's time, or the database's clock).
/// - the statements' locking reads and `lockSubmissions` (PostgreSQL's row locks and advisory
///   lock; SQLite's write lock already excludes every other writer).
/// - `writesMayRepeat`: a PostgreSQL transaction can run again after its COMMIT succeeded but the
///   answer was lost, so inserts recognise their own earlier run.
protocol SQLStore: Store {
    associatedtype Connection: SQLConnection
    associatedtype SQL: SQLStatements where SQL.Statement == Connection.Statement

    /// Runs `body` in one write transaction.
    func write<T>(_ body: (Connection) throws -> T) throws -> T

    /// Runs `body`'s reads on one consistent snapshot (or, on PostgreSQL, one statement per
    /// transaction: every read there is one statement).
    func read<T>(_ body: (Connection) throws -> T) throws -> T

    /// Runs `body`, a single writing statement, as its own transaction where the engine allows it
    /// (PostgreSQL skips `BEGIN`/`COMMIT` for the heartbeat, its most frequent write).
    func writeOne<T>(_ body: (Connection) throws -> T) throws -> T

    /// The `:now` argument of a statement for the caller's time `nowMs`.
    func now(_ nowMs: Int64) -> SQLValue

    /// True when a write transaction may run again after its COMMIT took effect.
    static var writesMayRepeat: Bool { get }
}

extension SQLStore {
    /// The number of jobs in each status, zeros included (the `rewind_jobs{status}` gauge).
    public func jobCounts() throws -> [JobStatus: Int] {
        let rows = try read { connection in
            try connection.query(SQL.Jobs.countByStatus, [:]) { (status: $0.string("status"), count: $0.int("count")) }
        }
        var counts = Dictionary(uniqueKeysWithValues: JobStatus.allCases.map { ($0, 0) })
        for row in rows {
            if let status = JobStatus(rawValue: row.status) { counts[status] = row.count }
        }
        return counts
    }

    /// The job's last committed checkpoint, or nil.
    func checkpoint(in connection: Connection, jobID: String) throws -> Checkpoint? {
        try connection.queryFirst(SQL.Checkpoints.byJob, [":job_id": .text(jobID)], Checkpoint.init)
    }

    /// Records one transition of a job; the caller's transaction writes (or locks) the job first.
    func recordEvent(
        in connection: Connection, jobID: String, nowMs: Int64, kind: String, data: KeyValuePairs<String, SQLValue>
    ) throws {
        try connection.run(
            SQL.Events.insert,
            [
                ":job_id": .text(jobID), ":now": now(nowMs), ":kind": .text(kind),
                ":data_json": .text(EventData.json(data)),
            ])
    }
}
