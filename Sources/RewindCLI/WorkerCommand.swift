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

    @Option(help: "Jobs trained at once (REWIND_WORKERS; default: the number of cores).")
    var workers: Int = Environment.int("REWIND_WORKERS") ?? ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("grace-period"), help: "Seconds to hand jobs back on SIGTERM before exiting anyway.")
    var gracePeriod: Double = 25

    @OptionGroup var node: NodeOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be between 1 and 256") }
        try node.validate()
    }

    /// The only routes a worker answers.
    static let routes: Set<String> = ["/healthz", "/readyz", "/metrics"]

    func run() throws {
        // First of all: a SIGTERM right after "listening on" (or before) must hand jobs back.
        let signals = SignalWaiter(signals: [SIGTERM, SIGINT])
        BLAS.setThreadCount(1)
        let logger = JSONLogger()
        let clock = JobRunner.wallClock
        // The health port answers while the node waits for its database (see `serve`).
        let health = DatabaseHealth(.down("not connected yet"))
        let memoryBudget = node.makeMemoryBudget()
        var apiConfiguration = APIConfiguration(version: RewindVersion.current)
        apiConfiguration.memoryBudget = memoryBudget
        let gate = NodeGate(health: health, configuration: apiConfiguration)
        var serverConfiguration = HTTPServer.Configuration(host: host, port: port)
        serverConfiguration.memoryBudget = memoryBudget
        serverConfiguration.log = { message in logger.log(.warning, message) }
        let server = HTTPServer(configuration: serverConfiguration) { request in
            guard Self.routes.contains(request.path) else {
                return .problem(.notFound, detail: "a worker node answers only /healthz, /readyz and /metrics")
            }
            return gate.handle(request)
        }
        let booted = try NodeLifecycle.boot(
            node: node, workers: workers, host: host, port: port, server: server, gate: gate, health: health,
            apiConfiguration: apiConfiguration, logger: logger, clock: clock, signals: signals)
        let (store, runner, api) = (booted.store, booted.runner, booted.api)
        logger.log(
            .info, "worker started",
            [
                "database": "\(node.storage.location)", "engine": store.engine.rawValue, "workers": "\(workers)",
                "node_id": runner.nodeID, "numeric_fingerprint": NumericFingerprint.current,
            ])

        NodeLifecycle.drain(
            after: signals.wait(), api: api, server: server, runner: runner, store: store, logger: logger,
            gracePeriod: gracePeriod)
    }
}
