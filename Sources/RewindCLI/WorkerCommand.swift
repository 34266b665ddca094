import API
import ArgumentParser
import Dispatch
import Foundation
import HTTPServer
import Jobs
import Learning
import LinearAlgebra
import Storage

/// `rewind worker`: a worker-only node. It claims and trains jobs from the shared database and
/// serves no public API, only `/healthz`, `/readyz` and `/metrics` on a port of its own (for
/// orchestrators and Prometheus).
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker-only node: trains queued jobs, answers only health, readiness and metrics.",
        discussion: """
            Point any number of workers and API nodes (`rewind serve`, possibly with --workers 0) at \
            one PostgreSQL database. Options read the same REWIND_* variables as `serve`; the first \
            line printed is 'listening on http://HOST:PORT' (the health port). SIGTERM hands running \
            jobs back to the queue and exits 0; a worker that dies without one leaves its jobs to be \
            resumed elsewhere once their lease expires.
            """)

    @Option(help: "Address of the health port (REWIND_HOST).")
    var host: String = Environment.string("REWIND_HOST") ?? "127.0.0.1"

    @Option(help: "Health, readiness and metrics port; 0 picks a free one (REWIND_PORT).")
    var port: Int = Environment.int("REWIND_PORT") ?? 9090

    @Option(help: "postgres:// URL of the shared database, or an SQLite file on this machine (REWIND_DATABASE).")
    var database: String = Environment.string("REWIND_DATABASE") ?? "rewind.sqlite"

    @Option(
        name: .customLong("database-password-file"),
        help: "File holding the PostgreSQL password (REWIND_DATABASE_PASSWORD_FILE).")
    var databasePasswordFile: String? = Environment.string("REWIND_DATABASE_PASSWORD_FILE")

    @Option(
        name: .customLong("database-pool-size"),
        help: "PostgreSQL connections this node opens at most (REWIND_DATABASE_POOL_SIZE; default: workers + 2, 4 to 32).")
    var databasePoolSize: Int = Environment.int("REWIND_DATABASE_POOL_SIZE") ?? 0

    @Option(help: "Jobs trained at once (REWIND_WORKERS; default: the number of cores).")
    var workers: Int = Environment.int("REWIND_WORKERS") ?? ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("grace-period"), help: "Seconds to hand jobs back on SIGTERM before exiting anyway.")
    var gracePeriod: Double = 25

    @Option(
        name: .customLong("job-memory-mb"),
        help: "Memory one job may use, in MiB; a job whose learned momenta would need more fails resource_exhausted (REWIND_JOB_MEMORY_MB; default 1024).")
    var jobMemoryMB: Int = Environment.int("REWIND_JOB_MEMORY_MB") ?? 1024

    @Option(
        name: .customLong("job-threads"),
        help: "Threads each job may use: a job's meta.seeds runs in parallel, or a single run's two step halves; results are identical for any number. Set 2 when the node has more cores than jobs (REWIND_JOB_THREADS; default 1).")
    var jobThreads: Int = Environment.int("REWIND_JOB_THREADS") ?? 1

    @OptionGroup var lease: LeaseOptions

    @OptionGroup var polling: PollingOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be between 1 and 256") }
        try lease.validate()
        guard jobMemoryMB >= 16 else { throw ValidationError("--job-memory-mb must be at least 16") }
        guard (1...64).contains(jobThreads) else { throw ValidationError("--job-threads must be between 1 and 64") }
        try polling.validate()
        guard (0...1000).contains(databasePoolSize) else {
            throw ValidationError("--database-pool-size must be between 1 and 1000 (0: automatic)")
        }
    }

    /// The only routes a worker answers.
    static let routes: Set<String> = ["/healthz", "/readyz", "/metrics"]

    func run() throws {
        // First of all: a SIGTERM right after "listening on" (or before) must hand jobs back.
        let signals = SignalWaiter(signals: [SIGTERM, SIGINT])
        BLAS.setThreadCount(1)
        let logger = JSONLogger()
        let clock = JobRunner.wallClock
        let location = StoreLocation(database)
        let store: Store
        do {
            let poolSize = databasePoolSize > 0 ? databasePoolSize : StoreLocation.poolSize(workers: workers)
            store = try location.open(
                password: try databasePasswordFile.map(ServeCommand.readPassword), poolSize: poolSize, nowMs: clock())
        } catch {
            logger.log(.error, "cannot open the database", ["database": "\(location)", "error": "\(error)"])
            throw ExitCode(1)
        }
        var jobs = polling.apply(to: lease.configuration(workers: workers, port: port, nowMs: clock()))
        jobs.jobThreads = jobThreads
        jobs.jobMemoryBudget = jobMemoryMB << 20
        let runner = JobRunner(
            store: store, configuration: jobs, clock: clock, log: logger.sink, notifier: store.makeNotifier())
        // The API object answers the three operational routes exactly as an API node does.
        let api = RewindAPI(
            store: store, runner: runner, configuration: APIConfiguration(version: RewindVersion.current),
            clock: clock, log: logger.sink)
        var serverConfiguration = HTTPServer.Configuration(host: host, port: port)
        serverConfiguration.log = { message in logger.log(.warning, message) }
        let server = HTTPServer(configuration: serverConfiguration) { request in
            guard Self.routes.contains(request.path) else {
                return .problem(.notFound, detail: "a worker node answers only /healthz, /readyz and /metrics")
            }
            return api.handle(request)
        }

        try runner.start()
        let bound: Int
        do {
            bound = try server.start()
        } catch {
            logger.log(.error, "cannot listen", ["host": host, "port": "\(port)", "error": "\(error)"])
            runner.shutdown(timeout: 5)
            try? store.close()
            throw ExitCode(1)
        }
        Console.output("listening on http://\(host):\(bound)")
        logger.log(.info, "worker started", [
            "database": "\(location)", "engine": store.engine.rawValue, "workers": "\(workers)",
            "node_id": runner.nodeID, "numeric_fingerprint": NumericFingerprint.current,
        ])

        let stop = signals.wait()
        logger.log(.info, "draining", ["signal": stop == SIGTERM ? "SIGTERM" : "SIGINT"])
        api.beginShutdown()
        let handedBack = runner.shutdown(timeout: gracePeriod * 0.8)
        server.stop(gracePeriod: .milliseconds(Int(gracePeriod * 100)))
        do {
            try store.close()
        } catch {
            logger.log(.error, "closing the database failed", ["error": "\(error)"])
        }
        logger.log(.info, "stopped", ["jobs_handed_back": handedBack ? "all" : "timed out"])
    }
}
