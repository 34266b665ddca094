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
            REWIND_DATABASE, REWIND_DATABASE_PASSWORD_FILE, REWIND_WORKERS, REWIND_MAX_QUEUED, \
            REWIND_API_KEYS (comma-separated; when set, /v1/ routes need 'Authorization: Bearer \
            KEY'). --database takes an SQLite file path or a postgres://USER:PASSWORD@HOST:PORT/DB \
            URL; what the URL leaves out comes from the usual PG* variables (PGHOST, PGUSER, \
            PGPASSWORD, PGPASSFILE, ...). With --port 0 a free port is \
            chosen; the first line printed is always 'listening on http://HOST:PORT'. SIGTERM or \
            SIGINT drain the service: /readyz turns 503, running jobs checkpoint and go back to the \
            queue, and the process exits 0. --workers 0 makes an API-only node (see `rewind worker` \
            for worker-only nodes).
            """)

    @Option(help: "Address to bind (REWIND_HOST).")
    var host: String = Environment.string("REWIND_HOST") ?? "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free one (REWIND_PORT).")
    var port: Int = Environment.int("REWIND_PORT") ?? 8080

    @Option(help: "SQLite file (created if missing) or postgres:// URL (REWIND_DATABASE).")
    var database: String = Environment.string("REWIND_DATABASE") ?? "rewind.sqlite"

    @Option(
        name: .customLong("database-password-file"),
        help: "File holding the PostgreSQL password, e.g. a mounted secret (REWIND_DATABASE_PASSWORD_FILE).")
    var databasePasswordFile: String = Environment.string("REWIND_DATABASE_PASSWORD_FILE") ?? ""

    @Option(
        name: .customLong("database-pool-size"),
        help: "PostgreSQL connections this node opens at most (REWIND_DATABASE_POOL_SIZE; default: workers + 2, 4 to 32).")
    var databasePoolSize: Int = Environment.int("REWIND_DATABASE_POOL_SIZE") ?? 0

    @Option(help: "Jobs trained at once; 0 makes an API-only node (REWIND_WORKERS; default: the number of cores).")
    var workers: Int = Environment.int("REWIND_WORKERS") ?? ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("max-queued"), help: "Queued jobs accepted before 429 (REWIND_MAX_QUEUED).")
    var maxQueued: Int = Environment.int("REWIND_MAX_QUEUED") ?? 100

    @Option(name: .customLong("grace-period"), help: "Seconds to drain on SIGTERM before exiting anyway.")
    var gracePeriod: Double = 25

    @OptionGroup var lease: LeaseOptions

    @OptionGroup var polling: PollingOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (0...256).contains(workers) else { throw ValidationError("--workers must be between 0 and 256") }
        try lease.validate()
        try polling.validate()
        guard maxQueued >= 1 else { throw ValidationError("--max-queued must be at least 1") }
        guard (0...1000).contains(databasePoolSize) else {
            throw ValidationError("--database-pool-size must be between 1 and 1000 (0: automatic)")
        }
    }

    func run() throws {
        BLAS.setThreadCount(1)
        let logger = JSONLogger()
        let clock = JobRunner.wallClock
        let location = StoreLocation(database)
        let store: Store
        do {
            let password = databasePasswordFile.isEmpty ? nil : try Self.readPassword(from: databasePasswordFile)
            let poolSize = databasePoolSize > 0 ? databasePoolSize : StoreLocation.poolSize(workers: workers)
            store = try location.open(password: password, poolSize: poolSize, nowMs: clock())
        } catch {
            logger.log(.error, "cannot open the database", ["database": "\(location)", "error": "\(error)"])
            throw ExitCode(1)
        }
        let runner = JobRunner(
            store: store,
            configuration: polling.apply(to: lease.configuration(workers: workers, port: port, nowMs: clock())),
            clock: clock, log: logger.sink, notifier: store.makeNotifier())
        let keys = Set((Environment.string("REWIND_API_KEYS") ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty })
        let api = RewindAPI(
            store: store, runner: runner,
            configuration: APIConfiguration(maxQueuedJobs: maxQueued, apiKeys: keys, version: RewindVersion.current),
            clock: clock, log: logger.sink)
        var serverConfiguration = HTTPServer.Configuration(host: host, port: port)
        serverConfiguration.bodyLimit = { head in api.bodyLimit(for: head) }
        serverConfiguration.log = { message in logger.log(.warning, message) }
        let server = HTTPServer(configuration: serverConfiguration, handler: api.handle)

        // Before anything announces the service: a SIGTERM right after "listening on" must drain it.
        let signals = SignalWaiter(signals: [SIGTERM, SIGINT])
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
        logger.log(.info, "service started", [
            "database": "\(location)", "engine": store.engine.rawValue, "node_id": runner.nodeID, "workers": "\(workers)", "schema_version": "\(store.schemaVersion)",
            "authentication": keys.isEmpty ? "off" : "bearer keys",
        ])
        if keys.isEmpty && !["127.0.0.1", "localhost", "::1"].contains(host) {
            logger.log(.warning, "listening beyond loopback without API keys; set REWIND_API_KEYS", ["host": host])
        }

        let stop = signals.wait()
        logger.log(.info, "draining", ["signal": stop == SIGTERM ? "SIGTERM" : "SIGINT"])
        api.beginShutdown()
        let deadline = gracePeriod
        let drained = DispatchGroup()
        DispatchQueue.global().async(group: drained) {
            server.stop(gracePeriod: .milliseconds(Int(deadline * 1000 * 0.8)))
        }
        let handedBack = runner.shutdown(timeout: deadline * 0.8)
        _ = drained.wait(timeout: .now() + deadline * 0.2)
        do {
            try store.close()
        } catch {
            logger.log(.error, "closing the database failed", ["error": "\(error)"])
        }
        logger.log(.info, "stopped", ["jobs_handed_back": handedBack ? "all" : "timed out"])
    }
}

extension ServeCommand {
    /// The password in a secret file: its first line, without the line break.
    static func readPassword(from path: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            .trimmingCharacters(in: .init(charactersIn: "\r"))
    }
}

/// Catches `signals` from the moment it is made, so that a signal sent as soon as the service
/// says it listens is not lost; `wait()` blocks until one arrives. The default actions are
/// replaced so a container's PID 1 drains instead of dying.
final class SignalWaiter {
    private let received = Mutex<Int32?>(nil)
    private let semaphore = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "rewind.signals")
    private var sources: [DispatchSourceSignal] = []

    init(signals: [Int32]) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [self] in
                let first = received.withLock { value in
                    defer { if value == nil { value = number } }
                    return value == nil
                }
                if first {
                    semaphore.signal()
                } else {
                    // A second signal while draining: give up waiting.
                    exit(1)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal caught (perhaps before this call).
    func wait() -> Int32 {
        semaphore.wait()
        return received.withLock { $0 } ?? SIGTERM
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
