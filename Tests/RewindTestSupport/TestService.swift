import API
import Foundation
import HTTPServer
import Jobs
import LinearAlgebra
import Storage

/// The whole job service in this process, for integration tests: a fresh SQLite file in a
/// temporary directory (or, with `engine: .postgresql`, a fresh database in the test process's
/// throw-away PostgreSQL cluster, on the database's clock as in production), the store, a worker pool tuned for tests (short leases, heartbeats and
/// polls), the API and the HTTP server on `127.0.0.1:0`.
///
/// With `startsWorkers: false` nothing is ever claimed, so jobs stay `queued` for as long as a
/// test needs (queue caps, cancelling or deleting a queued job) without burning CPU.
public final class TestService {
    public let directory: TemporaryDirectory
    public let store: Store
    public let runner: JobRunner
    public let api: RewindAPI
    public let server: HTTPServer
    /// The port the server bound.
    public let port: Int
    private let workersStarted: Bool
    /// The PostgreSQL database this service runs on (nil for SQLite).
    public let databaseName: String?
    /// The database this service created and drops when it stops.
    private let postgresDatabase: String?
    private var stopped = false

    /// Starts the service; `configure` adjusts the HTTP server's settings before it binds.
    public init(
        api configuration: APIConfiguration = TestService.defaultAPIConfiguration,
        workers: Int = 1, startsWorkers: Bool = true, engine: StoreEngine = .sqlite,
        sharingDatabaseOf other: TestService? = nil,
        configure: (inout HTTPServer.Configuration) -> Void = { _ in },
        jobs adjustJobs: (inout JobsConfiguration) -> Void = { _ in },
        wrappingStore wrap: (Store) -> Store = { $0 }
    ) throws {
        // As `rewind serve` does: one BLAS thread per worker, so parallel tests do not oversubscribe.
        BLAS.setThreadCount(1)
        directory = try TemporaryDirectory(prefix: "rewind-api-test")
        let clock = JobRunner.wallClock
        let opened: Store
        switch engine {
        case .sqlite:
            postgresDatabase = nil
            databaseName = nil
            opened = try SQLiteStore(path: directory.file("rewind.sqlite"), nowMs: clock())
        case .postgresql:
            guard let cluster = PostgresCluster.shared else {
                throw PostgresCluster.ClusterError.failed(PostgresCluster.unavailableReason)
            }
            // A second node on the first one's database leaves dropping it to the first.
            let name = try other?.databaseName ?? cluster.createDatabase()
            postgresDatabase = other == nil ? name : nil
            databaseName = name
            opened = try PostgresStore(url: cluster.url(database: name), poolSize: 4, nowMs: clock())
        }
        store = wrap(opened)
        var jobsConfiguration = JobsConfiguration(
            workers: workers, leaseMs: 5_000, heartbeatIntervalMs: 50, reaperIntervalMs: 200,
            idlePollMs: 50, nodeID: "test-\(UUID().uuidString)", bootID: "boot")
        adjustJobs(&jobsConfiguration)
        runner = JobRunner(store: store, configuration: jobsConfiguration, clock: clock)
        api = RewindAPI(store: store, runner: runner, configuration: configuration, clock: clock)
        var serverConfiguration = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
        api.configure(&serverConfiguration)
        configure(&serverConfiguration)
        server = HTTPServer(configuration: serverConfiguration, handler: api.handle)
        if startsWorkers { try runner.start() }
        workersStarted = startsWorkers
        do {
            port = try server.start()
        } catch {
            if startsWorkers { runner.shutdown(timeout: 10) }
            try? store.close()
            throw error
        }
    }

    /// Small body limits so that 413 is cheap to provoke; everything else as in production.
    public static let defaultAPIConfiguration = APIConfiguration(
        maxQueuedJobs: 100, jsonBodyLimit: 64 << 10, datasetBodyLimit: 64 << 10)

    /// A new keep-alive connection to the service.
    public func client(timeout: Duration = .seconds(10)) throws -> HTTPTestClient {
        try HTTPTestClient(port: port, timeout: timeout)
    }

    /// Stops the server, hands running jobs back, closes the store. Safe to call twice.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        api.beginShutdown()
        server.stop(gracePeriod: .seconds(2))
        if workersStarted { runner.shutdown(timeout: 10) }
        try? store.close()
        if let postgresDatabase { PostgresCluster.shared?.dropDatabase(postgresDatabase) }
    }

    deinit { stop() }
}
