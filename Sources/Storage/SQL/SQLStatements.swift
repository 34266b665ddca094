/// The statements `SQLStore` runs, one requirement per statement, grouped by table: each engine's
/// statement file (`SQLiteSQL`, `PostgresSQL`) supplies every one in its own dialect, so the
/// compiler names any statement an engine lacks.
///
/// Every statement selects or returns the columns its decoder reads by name (`JobRecord(row:)`
/// ...), and takes the named parameters that `SQLStore` binds. The API keys' and sessions'
/// statements are the same text on both engines (`AccessSQL`).
///
/// Adding a store method: its statement here (a requirement in the table's protocol), its SQL in
/// both engines' statement files, its method once in `SQLStore+<Feature>.swift` (and the `Store`
/// requirement it implements).
protocol SQLStatements {
    associatedtype Statement: SQLStatementText
    associatedtype Jobs: SQLJobStatements where Jobs.Statement == Statement
    associatedtype History: SQLHistoryStatements where History.Statement == Statement
    associatedtype Checkpoints: SQLCheckpointStatements where Checkpoints.Statement == Statement
    associatedtype IdempotencyKeys: SQLIdempotencyKeyStatements where IdempotencyKeys.Statement == Statement
    associatedtype Events: SQLEventStatements where Events.Statement == Statement
    associatedtype Datasets: SQLDatasetStatements where Datasets.Statement == Statement
    associatedtype DatasetChunks: SQLDatasetChunkStatements where DatasetChunks.Statement == Statement
}

/// Statement types made from SQL text: SQLite's text itself, PostgreSQL's translated query.
protocol SQLStatementText {
    init(sql: String)
}

extension String: SQLStatementText {
    init(sql: String) { self = sql }
}

protocol SQLJobStatements {
    associatedtype Statement
    /// Taken first by every transaction that may queue a job, where the engine's write
    /// transactions do not already exclude each other (nil on SQLite, whose `BEGIN IMMEDIATE` does).
    static var lockSubmissions: Statement? { get }
    static var insert: Statement { get }
    static var byID: Statement { get }
    /// `byID` that also locks the row against other writers until the transaction ends.
    static var byIDForUpdate: Statement { get }
    /// The `status` of the job `:id`, locking its row like `byIDForUpdate`.
    static var statusForUpdate: Statement { get }
    /// `count` of queued jobs.
    static var countQueued: Statement { get }
    /// `count`: the jobs of `:owner` that are queued or running.
    static var countActiveOfOwner: Statement { get }
    /// `status, count` per status.
    static var countByStatus: Statement { get }
    static var listFirst: Statement { get }
    static var listAfter: Statement { get }
    static var listStatusFirst: Statement { get }
    static var listStatusAfter: Statement { get }
    static var claim: Statement { get }
    /// Returns `cancel_requested` while `:worker` holds the lease, nothing otherwise.
    static var heartbeat: Statement { get }
    static var commitProgress: Statement { get }
    static var finish: Statement { get }
    /// Returns the job's new `status`.
    static var release: Statement { get }
    static var cancelQueued: Statement { get }
    static var cancelRunning: Statement { get }
    static var delete: Statement { get }
    static var retry: Statement { get }
    /// The recoveries return `id, status, attempt` of each job they move.
    static var reapExpired: Statement { get }
    static var requeueOrphans: Statement { get }
    static var abandon: Statement { get }
}

protocol SQLHistoryStatements {
    associatedtype Statement
    static var upsert: Statement { get }
    static var page: Statement { get }
    static var outline: Statement { get }
}

protocol SQLCheckpointStatements {
    associatedtype Statement
    static var upsert: Statement { get }
    static var byJob: Statement { get }
}

protocol SQLIdempotencyKeyStatements {
    associatedtype Statement
    /// `request_sha256, job_id` of the key.
    static var byKey: Statement { get }
    static var insert: Statement { get }
    static var deleteOlderThan: Statement { get }
}

protocol SQLEventStatements {
    associatedtype Statement
    static var insert: Statement { get }
    static var page: Statement { get }
}

/// Data sets written in chunks while their upload arrives.
protocol SQLDatasetChunkStatements {
    associatedtype Statement
    /// One chunk (`:id`, `:seq`, `:content`).
    static var put: Statement { get }
    /// The data set's row, its content in chunks (`:chunked_bytes`), answering its columns.
    static var commit: Statement { get }
    static var discard: Statement { get }
    /// Chunk `:seq`'s `content`.
    static var chunk: Statement { get }
}

protocol SQLDatasetStatements {
    associatedtype Statement
    static var insert: Statement { get }
    static var byID: Statement { get }
    static var bySHA256: Statement { get }
    static var all: Statement { get }
    /// `content` of the data set.
    static var content: Statement { get }
    static var exists: Statement { get }
    static var isInUse: Statement { get }
    static var delete: Statement { get }
}
