import API
import ArgumentParser
import Dispatch
import Foundation
import HTTPServer
import Jobs
import Storage

/// The start and the drain every node that runs workers shares (`serve` and `worker`), in their
/// order: workers before the socket; on a signal, readiness off, jobs handed back while the server
/// finishes its requests, the database closed last.
enum NodeLifecycle {
    /// What a booted node runs.
    struct Node {
        var store: any Store
        var runner: JobRunner
        var api: RewindAPI
    }

    /// The boot `serve` and `worker` share, the server already built around `gate`: open the
    /// database (answering through the gate while waiting for it), build the workers and the API
    /// over it, open the gate, start the workers and then the server, and print the listening line.
    static func boot(
        node options: NodeOptions, workers: Int, host: String, port: Int, server: HTTPServer, gate: NodeGate,
        health: DatabaseHealth, apiConfiguration: APIConfiguration, logger: JSONLogger,
        clock: @escaping MillisecondClock,
        signals: SignalWaiter
    ) throws -> Node {
        var listening: Int?
        let store = try openDatabase(
            node: options, workers: workers, health: health, logger: logger, clock: clock, signals: signals
        ) { listening = try listen(server, logger: logger, host: host, port: port) }
        let jobs = options.jobsConfiguration(
            workers: workers, port: port, nowMs: clock(), memoryBudget: apiConfiguration.memoryBudget)
        let runner = JobRunner(
            store: store, configuration: jobs, clock: clock, log: logger.sink, notifier: store.makeNotifier())
        let api = RewindAPI(
            store: store, runner: runner, configuration: apiConfiguration, clock: clock, log: logger.sink)
        gate.open(api)
        let bound = try start(
            runner: runner, server: server, store: store, logger: logger, host: host, port: port, listening: listening)
        if listening == nil { Console.output("listening on http://\(host):\(bound)") }
        return Node(store: store, runner: runner, api: api)
    }

    /// Starts the workers, then the server (unless it already listens, having answered while the
    /// node waited for its database); the bound port, or exit 1 (after stopping the workers and
    /// closing the database) when the address cannot be bound.
    static func start(
        runner: JobRunner, server: HTTPServer, store: any Store, logger: JSONLogger, host: String, port: Int,
        listening: Int? = nil
    ) throws -> Int {
        try runner.start()
        if let listening { return listening }
        do {
            return try server.start()
        } catch {
            logger.log(.error, "cannot listen", ["host": host, "port": "\(port)", "error": "\(error)"])
            runner.shutdown(timeout: 5)
            try? store.close()
            throw ExitCode(1)
        }
    }

    /// Binds the server and prints the line supervisors and tests wait for; exit 1 when the
    /// address cannot be bound.
    static func listen(_ server: HTTPServer, logger: JSONLogger, host: String, port: Int) throws -> Int {
        do {
            let bound = try server.start()
            Console.output("listening on http://\(host):\(bound)")
            return bound
        } catch {
            logger.log(.error, "cannot listen", ["host": host, "port": "\(port)", "error": "\(error)"])
            throw ExitCode(1)
        }
    }

    /// Opens the node's database. One that cannot be reached yet is tried again with back-off
    /// (0.25 s doubling to 5 s), each attempt logged, until it opens, `node.databaseWaitLimit`
    /// passes (exit 1) or a signal arrives (exit 0); `listen` runs before the first wait, so the
    /// node answers `/healthz` and `/readyz` meanwhile. Errors that waiting cannot cure (a refused
    /// login, a damaged file, a schema this build cannot run) exit 1 at once.
    static func openDatabase(
        node: NodeOptions, workers: Int, health: DatabaseHealth, logger: JSONLogger, clock: MillisecondClock,
        signals: SignalWaiter, whileWaiting listen: () throws -> Void
    ) throws -> any Store {
        health.observe { condition in
            switch condition {
            case .up: logger.log(.info, "the database is available")
            case .down(let reason): logger.log(.warning, "the database is unavailable", ["reason": reason])
            case .refusingWrites(let reason): logger.log(.warning, "the database refuses writes", ["reason": reason])
            }
        }
        let started = ContinuousClock.now
        var pause = Duration.milliseconds(250)
        for attempt in 1... {
            do {
                return try node.openStore(workers: workers, health: health, nowMs: clock())
            } catch {
                let fields = ["database": "\(node.storage.location)", "error": "\(error)", "attempt": "\(attempt)"]
                let limit = node.databaseWaitLimit
                guard StoreLocation.isWorthWaiting(after: error),
                    limit.map({ ContinuousClock.now - started + pause <= $0 }) ?? true
                else {
                    logger.log(.error, "cannot open the database", fields)
                    throw ExitCode(1)
                }
                if attempt == 1 { try listen() }
                logger.log(
                    .warning, "waiting for the database",
                    fields.merging(["retry_in_seconds": "\(Double(pause / .milliseconds(1)) / 1000)"]) { $1 })
                let until = ContinuousClock.now + pause
                while ContinuousClock.now < until {
                    if let signal = signals.received {
                        logger.log(
                            .info, "stopped while waiting for the database",
                            ["signal": signal == SIGTERM ? "SIGTERM" : "SIGINT"])
                        throw ExitCode.success
                    }
                    Thread.sleep(forTimeInterval: 0.05)
                }
                pause = min(pause * 2, .seconds(5))
            }
        }
        fatalError("unreachable")
    }

    /// Drains within `gracePeriod` seconds after `signal`: 80 % for the jobs to hand themselves
    /// back (the server stops alongside), the rest for the last responses.
    static func drain(
        after signal: Int32, api: RewindAPI, server: HTTPServer, runner: JobRunner, store: any Store,
        logger: JSONLogger, gracePeriod: Double
    ) {
        logger.log(.info, "draining", ["signal": signal == SIGTERM ? "SIGTERM" : "SIGINT"])
        api.beginShutdown()
        let drained = DispatchGroup()
        DispatchQueue.global().async(group: drained) {
            server.stop(gracePeriod: .milliseconds(Int(gracePeriod * 1000 * 0.8)))
        }
        let handedBack = runner.shutdown(timeout: gracePeriod * 0.8)
        _ = drained.wait(timeout: .now() + gracePeriod * 0.2)
        do {
            try store.close()
        } catch {
            logger.log(.error, "closing the database failed", ["error": "\(error)"])
        }
        logger.log(.info, "stopped", ["jobs_handed_back": handedBack ? "all" : "timed out"])
    }
}
