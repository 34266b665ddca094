import RewindTestSupport

@testable import Storage

/// A fresh store of one engine that disappears with the fixture: an SQLite file in a temporary
/// directory, or a new database in the test process's throw-away PostgreSQL cluster.
///
/// The PostgreSQL store runs on the caller's clock (`.caller`), so every conformance test drives
/// time through `nowMs` exactly as it does for SQLite.
final class StoreFixture {
    /// The engines the conformance suite runs against: both, or SQLite alone when the PostgreSQL
    /// server is not installed (then `PostgresAvailabilityTests` is skipped, saying why).
    static let engines: [StoreEngine] = PostgresCluster.isAvailable ? [.sqlite, .postgresql] : [.sqlite]

    let engine: StoreEngine
    let directory: TemporaryDirectory
    let store: Store
    private let postgresDatabase: String?
    var path: String { directory.file("rewind.db") }

    init(_ engine: StoreEngine = .sqlite, readerCount: Int = 2) throws {
        self.engine = engine
        directory = try TemporaryDirectory(prefix: "rewind-storage")
        switch engine {
        case .sqlite:
            postgresDatabase = nil
            store = try SQLiteStore(path: directory.file("rewind.db"), readerCount: readerCount, nowMs: 1_000)
        case .postgresql:
            let cluster = try Self.cluster()
            let name = try cluster.createDatabase()
            postgresDatabase = name
            store = try PostgresStore(url: cluster.url(database: name), poolSize: 2, timeSource: .caller, nowMs: 1_000)
        }
    }

    deinit {
        try? store.close()
        if let postgresDatabase { PostgresCluster.shared?.dropDatabase(postgresDatabase) }
    }

    static func cluster() throws -> PostgresCluster {
        guard let cluster = PostgresCluster.shared else {
            throw FixtureError.unexpected("no PostgreSQL test cluster: \(PostgresCluster.unavailableReason)")
        }
        return cluster
    }

    /// Opens a second store on the same file or database, as another process would.
    func openAnother() throws -> Store {
        switch engine {
        case .sqlite:
            return try SQLiteStore(path: path, nowMs: 1_000)
        case .postgresql:
            let url = try Self.cluster().url(database: postgresDatabase!)
            return try PostgresStore(url: url, poolSize: 2, timeSource: .caller, nowMs: 1_000)
        }
    }

    /// Submits a job with defaults; fails the test if it is not created.
    @discardableResult
    func submit(
        _ id: String, priority: Int = 0, nowMs: Int64 = 1_000, maxAttempts: Int = 3,
        datasetID: String? = nil
    ) throws -> JobRecord {
        let outcome = try store.insertJob(
            NewJob(
                id: id, name: "job \(id)", specJSON: #"{"name":"\#(id)"}"#, datasetID: datasetID,
                priority: priority, progressTotal: 3, maxAttempts: maxAttempts),
            idempotency: nil, maxQueued: 1_000, nowMs: nowMs)
        guard case .created(let job) = outcome else {
            throw FixtureError.unexpected("submit \(id): \(outcome)")
        }
        return job
    }

    /// Commits meta-iteration `iteration` of `jobID` as `worker` with recognisable values.
    func commit(
        _ jobID: String, _ iteration: Int, worker: String = "w", nowMs: Int64 = 2_000,
        checkpoint: [UInt8] = [9], fraction: Double = 0.5
    ) throws -> Bool {
        try store.commitMetaIteration(
            jobID: JobID(jobID), worker: WorkerID(worker), item: StoreFixture.historyRow(iteration, nowMs: nowMs),
            checkpoint: checkpoint, progressDone: iteration + 1, progressFraction: fraction,
            latestJSON: #"{"meta_iteration":\#(iteration)}"#, bestJSON: #"{"b":\#(iteration)}"#, nowMs: nowMs)
    }

    /// A history row for `metaIteration` with recognisable numbers.
    static func historyRow(_ metaIteration: Int, loss: Double = 0.5, nowMs: Int64 = 2_000) -> HistoryRow {
        HistoryRow(
            metaIteration: metaIteration, itemJSON: #"{"meta_iteration":\#(metaIteration)}"#,
            trainingLoss: loss, validationLoss: loss + 0.1, validationError: 0.125,
            hypergradientNorm: 3.5, seconds: 0.25, createdMs: nowMs)
    }
}

enum FixtureError: Error { case unexpected(String) }
