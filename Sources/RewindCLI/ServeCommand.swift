import API
import ArgumentParser
import Dispatch
import Foundation
import HTTPServer
import Jobs
import LinearAlgebra
import Storage
import Synchronization

/// `rewind serve`: the job service. Flags fall back to `REWIND_*` environment variables.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Rewind job service (HTTP API, dashboard, workers).",
        discussion: """
            Every option also reads an environment variable: REWIND_HOST, REWIND_PORT, \
            REWIND_DATABASE, REWIND_DATABASE_PASSWORD_FILE, REWIND_DATABASE_WAIT, REWIND_WORKERS, REWIND_MAX_QUEUED, \
            REWIND_MAX_QUEUED_PER_KEY, REWIND_MAX_UPLOAD_MB, REWIND_SUBMISSION_BURST, REWIND_SUBMISSIONS_PER_SECOND, \
            REWIND_JOB_MEMORY_MB, REWIND_ALLOWED_HOSTS, REWIND_SESSION_HOURS, REWIND_API_KEYS \
            (comma-separated admin keys; when set, or when keys are stored with `rewind keys create`, \
            /v1/ routes need 'Authorization: Bearer KEY'; a list blank after trimming is an error). \
            Limits and their defaults: docs/security.md. --database takes an SQLite file path or a \
            postgres://USER:PASSWORD@HOST:PORT/DB URL; what the URL leaves out comes from the usual \
            PG* variables (PGHOST, PGUSER, PGPASSWORD, PGPASSFILE, ...). With --port 0 a free port is \
            chosen; the first line printed is always 'listening on http://HOST:PORT'. SIGTERM or \
            SIGINT drain the service: /readyz turns 503, running jobs checkpoint and go back to the \
            queue, and the process exits 0. --workers 0 makes an API-only node (see `rewind worker` \
            for worker-only nodes).
            """)

    @Option(help: "Address to bind (REWIND_HOST).")
    var host: String = Environment.string("REWIND_HOST") ?? "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free one (REWIND_PORT).")
    var port: Int = Environment.int("REWIND_PORT") ?? 8080

    @Option(help: "Hours a dashboard sign-in lasts (REWIND_SESSION_HOURS).")
    var sessionHours: Double = Environment.double("REWIND_SESSION_HOURS") ?? 12

    @Option(help: "Jobs trained at once; 0 makes an API-only node (REWIND_WORKERS; default: the number of cores).")
    var workers: Int = Environment.int("REWIND_WORKERS") ?? ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("max-queued"), help: "Queued jobs accepted before 429 (REWIND_MAX_QUEUED).")
    var maxQueued: Int = Environment.int("REWIND_MAX_QUEUED") ?? 100

    @Option(
        name: .customLong("max-queued-per-key"),
        help: "Jobs one non-admin key may have queued or running before 429 (REWIND_MAX_QUEUED_PER_KEY).")
    var maxQueuedPerKey: Int = Environment.int("REWIND_MAX_QUEUED_PER_KEY") ?? 20

    @Option(
        name: .customLong("submission-burst"),
        help: "Submissions (jobs, uploads) per key at once before 429 (REWIND_SUBMISSION_BURST).")
    var submissionBurst: Double = Environment.double("REWIND_SUBMISSION_BURST") ?? 60

    @Option(
        name: .customLong("submissions-per-second"),
        help: "Submissions per key per second after the burst (REWIND_SUBMISSIONS_PER_SECOND).")
    var submissionsPerSecond: Double = Environment.double("REWIND_SUBMISSIONS_PER_SECOND") ?? 5

    @Option(
        name: .customLong("max-upload-mb"),
        help: "Largest data set upload (CSV or .npz body) in MiB; 413 beyond (REWIND_MAX_UPLOAD_MB).")
    var maxUploadMB: Int = Environment.int("REWIND_MAX_UPLOAD_MB") ?? 64

    @Option(name: .customLong("grace-period"), help: "Seconds to drain on SIGTERM before exiting anyway.")
    var gracePeriod: Double = 25

    @OptionGroup var node: NodeOptions

    @Option(
        name: .customLong("allowed-hosts"),
        help: "Comma-separated host names accepted in Host besides the listen address (REWIND_ALLOWED_HOSTS).")
    var allowedHosts: String = Environment.string("REWIND_ALLOWED_HOSTS") ?? ""

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (0...256).contains(workers) else { throw ValidationError("--workers must be between 0 and 256") }
        try node.validate()
        guard maxQueued >= 1 else { throw ValidationError("--max-queued must be at least 1") }
        guard maxQueuedPerKey >= 1 else { throw ValidationError("--max-queued-per-key must be at least 1") }
        guard submissionBurst >= 1, submissionsPerSecond > 0 else {
            throw ValidationError("--submission-burst must be at least 1 and --submissions-per-second more than 0")
        }
        guard sessionHours > 0, sessionHours <= 24 * 365 else {
            throw ValidationError("--session-hours must be more than 0 and at most a year (8760)")
        }
        // A key list that trims to nothing must not silently mean "authentication off".
        if let raw = ProcessInfo.processInfo.environment["REWIND_API_KEYS"], Self.keys(raw).isEmpty,
            !raw.isEmpty
        {
            throw ValidationError(
                "REWIND_API_KEYS is set but holds no key after trimming; unset it to run without keys")
        }
    }

    static func keys(_ raw: String) -> Set<String> {
        Set(raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    func run() throws {
        // First of all: a SIGTERM right after "listening on" (or before) must drain the service.
        let signals = SignalWaiter(signals: [SIGTERM, SIGINT])
        BLAS.setThreadCount(1)
        let logger = JSONLogger()
        let clock = JobRunner.wallClock
        let keys = Self.keys(Environment.string("REWIND_API_KEYS") ?? "")
        var apiConfiguration = APIConfiguration(maxQueuedJobs: maxQueued, apiKeys: keys, version: RewindVersion.current)
        apiConfiguration.jobMemoryBudget = node.jobMemoryBudget
        apiConfiguration.maxJobsPerKey = maxQueuedPerKey
        apiConfiguration.submissionBurst = submissionBurst
        apiConfiguration.submissionsPerSecond = submissionsPerSecond
        apiConfiguration.datasetBodyLimit = max(1, maxUploadMB) << 20
        // One budget per process: bodies (the server), uploads (the API) and jobs draw from it.
        apiConfiguration.memoryBudget = node.makeMemoryBudget()
        apiConfiguration.sessionLifetimeMs = Int64(sessionHours * 3_600_000)
        apiConfiguration.listenHost = host
        apiConfiguration.allowedHosts = Set(
            allowedHosts.split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }.filter { !$0.isEmpty })
        // The server exists before the database is open: a node whose database is not reachable
        // yet answers /healthz and /readyz (503) while it waits (see NodeLifecycle.openDatabase).
        let health = DatabaseHealth(.down("not connected yet"))
        let gate = NodeGate(health: health, configuration: apiConfiguration)
        var serverConfiguration = HTTPServer.Configuration(host: host, port: port)
        gate.configure(&serverConfiguration)
        serverConfiguration.log = { message in logger.log(.warning, message) }
        let server = HTTPServer(configuration: serverConfiguration, handler: gate.handle)
        let booted = try NodeLifecycle.boot(
            node: node, workers: workers, host: host, port: port, server: server, gate: gate, health: health,
            apiConfiguration: apiConfiguration, logger: logger, clock: clock, signals: signals)
        let (store, runner, api) = (booted.store, booted.runner, booted.api)
        // Stored keys (`rewind keys create`) turn authentication on as seeded ones do.
        let authenticated = !keys.isEmpty || (try? store.hasAPIKeys()) == true
        logger.log(
            .info, "service started",
            [
                "database": "\(node.storage.location)", "engine": store.engine.rawValue, "node_id": runner.nodeID,
                "workers": "\(workers)", "schema_version": "\(store.schemaVersion)",
                "authentication": authenticated ? "bearer keys" : "off",
            ])
        if !authenticated && !["127.0.0.1", "localhost", "::1"].contains(host) {
            logger.log(.warning, "listening beyond loopback without API keys; set REWIND_API_KEYS", ["host": host])
        }

        NodeLifecycle.drain(
            after: signals.wait(), api: api, server: server, runner: runner, store: store, logger: logger,
            gracePeriod: gracePeriod)
    }
}

/// Waits for one of `signals`; their default actions are replaced so a container's PID 1 drains
/// instead of dying, and a second signal while draining exits at once.
///
/// The handler is installed in `init`, before the service prints that it listens: a signal that
/// arrives before `wait()` (a supervisor that stops the service as soon as it is up) is counted,
/// not lost. It only touches an atomic and a POSIX semaphore, both async-signal-safe.
struct SignalWaiter {
    init(signals: [Int32]) {
        sem_init(signalSemaphore, 0, 0)
        var set = sigset_t()
        sigemptyset(&set)
        for number in signals {
            signal(number, signalHandler)
            sigaddset(&set, number)
        }
        // A parent may have started us with these blocked (Foundation's Process passes on the mask
        // of the thread that spawns): unblock them here, and every thread started later inherits it.
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// The first signal, if one has arrived (without waiting).
    var received: Int32? {
        let number = firstSignal.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    /// Blocks until the first signal has arrived and returns it.
    func wait() -> Int32 {
        while sem_wait(signalSemaphore) != 0 {}  // EINTR: keep waiting
        return firstSignal.load(ordering: .relaxed)
    }
}

/// A pointer, not a global `sem_t` passed inout: the handler posts while `wait()` is inside
/// `sem_wait` on the same thread, which Swift's exclusivity checks would take for a conflict.
nonisolated(unsafe) private let signalSemaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
private let firstSignal = Atomic<Int32>(0)
private let signalCount = Atomic<Int>(0)

private let signalHandler: @convention(c) (Int32) -> Void = { number in
    if signalCount.wrappingAdd(1, ordering: .relaxed).oldValue == 0 {
        firstSignal.store(number, ordering: .relaxed)
        sem_post(signalSemaphore)
    } else {
        _exit(1)
    }
}

/// `REWIND_*` environment lookups for option defaults.
enum Environment {
    static func string(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    static func int(_ name: String) -> Int? {
        string(name).flatMap { Int($0) }
    }

    static func double(_ name: String) -> Double? {
        string(name).flatMap { Double($0) }
    }
}

enum RewindVersion {
    static let current = "0.1.0"
}
