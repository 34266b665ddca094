import API
import Foundation
import HTTPServer
import Jobs
import LinearAlgebra
import Storage

/// The whole job service in this process, for integration tests: a fresh SQLite file in a
/// temporary directory, the store, a worker pool tuned for tests (short leases, heartbeats and
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
    private var stopped = false

    /// Starts the service; `configure` adjusts the HTTP server's settings before it binds.
    public init(
        api configuration: APIConfiguration = TestService.defaultAPIConfiguration,
        workers: Int = 1, startsWorkers: Bool = true,
        configure: (inout HTTPServer.Configuration) -> Void = { _ in },
        configureJobs: (inout JobsConfiguration) -> Void = { _ in }
    ) throws {
        // As `rewind serve` does: one BLAS thread per worker, so parallel tests do not oversubscribe.
        BLAS.setThreadCount(1)
        directory = try TemporaryDirectory(prefix: "rewind-api-test")
        let clock = JobRunner.wallClock
        store = try Store(path: directory.file("rewind.sqlite"), nowMs: clock())
        var jobs = JobsConfiguration(
            workers: workers, leaseMs: 5_000, heartbeatIntervalMs: 50, reaperIntervalMs: 200,
            idlePollMs: 50, bootID: "test-\(UUID().uuidString)")
        configureJobs(&jobs)
        runner = JobRunner(store: store, configuration: jobs, clock: clock)
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
    }

    deinit { stop() }
}
