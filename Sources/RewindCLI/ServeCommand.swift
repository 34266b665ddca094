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
            REWIND_DATABASE, REWIND_WORKERS, REWIND_MAX_QUEUED, REWIND_JOB_MEMORY_MB, \
            REWIND_ALLOWED_HOSTS, REWIND_API_KEYS (comma-separated; when set, /v1/ routes need \
            'Authorization: Bearer KEY'; a list blank after trimming is an error). Limits and their \
            defaults: docs/security.md. With --port 0 a free port is \
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

    @Option(name: .customLong("job-memory-mb"), help: "Memory one job may use, in MiB; larger specs get 422 (REWIND_JOB_MEMORY_MB).")
    var jobMemoryMB: Int = Environment.int("REWIND_JOB_MEMORY_MB") ?? 1024

    @Option(name: .customLong("allowed-hosts"), help: "Comma-separated host names accepted in Host besides the listen address (REWIND_ALLOWED_HOSTS).")
    var allowedHosts: String = Environment.string("REWIND_ALLOWED_HOSTS") ?? ""

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be between 1 and 256") }
        guard maxQueued >= 1 else { throw ValidationError("--max-queued must be at least 1") }
        guard jobMemoryMB >= 16 else { throw ValidationError("--job-memory-mb must be at least 16") }
        // A key list that trims to nothing must not silently mean "authentication off".
        if let raw = ProcessInfo.processInfo.environment["REWIND_API_KEYS"], Self.keys(raw).isEmpty,
           !raw.isEmpty {
            throw ValidationError("REWIND_API_KEYS is set but holds no key after trimming; unset it to run without keys")
        }
    }

    static func keys(_ raw: String) -> Set<String> {
        Set(raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    func run() throws {
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
        var jobs = JobsConfiguration(workers: workers, bootID: bootID)
        jobs.jobMemoryBudget = jobMemoryMB << 20
        let runner = JobRunner(store: store, configuration: jobs, clock: clock, log: logger.sink)
        let keys = Self.keys(Environment.string("REWIND_API_KEYS") ?? "")
        var apiConfiguration = APIConfiguration(maxQueuedJobs: maxQueued, apiKeys: keys, version: RewindVersion.current)
        apiConfiguration.jobMemoryBudget = jobMemoryMB << 20
        apiConfiguration.listenHost = host
        apiConfiguration.allowedHosts = Set(allowedHosts.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }.filter { !$0.isEmpty })
        let api = RewindAPI(store: store, runner: runner, configuration: apiConfiguration, clock: clock, log: logger.sink)
        var serverConfiguration = HTTPServer.Configuration(host: host, port: port)
        api.configure(&serverConfiguration)
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

        let stop = SignalWaiter(signals: [SIGTERM, SIGINT]).wait()
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

/// Blocks until one of `signals` arrives; the default actions are replaced so a container's PID 1
/// drains instead of dying.
struct SignalWaiter {
    let signals: [Int32]

    func wait() -> Int32 {
        let received = Mutex<Int32?>(nil)
        let semaphore = DispatchSemaphore(value: 0)
        let queue = DispatchQueue(label: "rewind.signals")
        var sources: [DispatchSourceSignal] = []
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
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
        semaphore.wait()
        withExtendedLifetime(sources) {}
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
}

enum RewindVersion {
    static let current = "0.1.0"
}
