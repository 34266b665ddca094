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
            REWIND_DATABASE, REWIND_WORKERS, REWIND_MAX_QUEUED, REWIND_API_KEYS (comma-separated; \
            when set, /v1/ routes need 'Authorization: Bearer KEY'). With --port 0 a free port is \
            chosen; the first line printed is always 'listening on http://HOST:PORT'. SIGTERM or \
            SIGINT drain the service: /readyz turns 503, running jobs checkpoint and go back to the \
            queue, and the process exits 0.
            """)

    @Option(help: "Address to bind (REWIND_HOST).")
    var host: String = Environment.string("REWIND_HOST") ?? "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free one (REWIND_PORT).")
    var port: Int = Environment.int("REWIND_PORT") ?? 8080

    @Option(help: "SQLite database file, created if missing (REWIND_DATABASE).")
    var database: String = Environment.string("REWIND_DATABASE") ?? "rewind.sqlite"

    @Option(help: "Jobs trained at once (REWIND_WORKERS; default: the number of cores).")
    var workers: Int = Environment.int("REWIND_WORKERS") ?? ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("max-queued"), help: "Queued jobs accepted before 429 (REWIND_MAX_QUEUED).")
    var maxQueued: Int = Environment.int("REWIND_MAX_QUEUED") ?? 100

    @Option(name: .customLong("grace-period"), help: "Seconds to drain on SIGTERM before exiting anyway.")
    var gracePeriod: Double = 25

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be between 1 and 256") }
        guard maxQueued >= 1 else { throw ValidationError("--max-queued must be at least 1") }
    }

    func run() throws {
        let signals = SignalWaiter(signals: [SIGTERM, SIGINT])
        BLAS.setThreadCount(1)
        let logger = JSONLogger()
        let clock = JobRunner.wallClock
        let store: Store
        do {
            store = try Store(path: database, nowMs: clock())
        } catch {
            logger.log(.error, "cannot open the database", ["path": database, "error": "\(error)"])
            throw ExitCode(1)
        }
        let bootID = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(clock())"
        let runner = JobRunner(
            store: store, configuration: JobsConfiguration(workers: workers, bootID: bootID), clock: clock,
            log: logger.sink)
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
            "database": database, "workers": "\(workers)", "schema_version": "\(store.schemaVersion)",
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
}

enum RewindVersion {
    static let current = "0.1.0"
}
