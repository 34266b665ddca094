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
    /// Starts the workers, then the server; the bound port, or exit 1 (after stopping the
    /// workers and closing the database) when the address cannot be bound.
    static func start(
        runner: JobRunner, server: HTTPServer, store: any Store, logger: JSONLogger, host: String, port: Int
    ) throws -> Int {
        try runner.start()
        do {
            return try server.start()
        } catch {
            logger.log(.error, "cannot listen", ["host": host, "port": "\(port)", "error": "\(error)"])
            runner.shutdown(timeout: 5)
            try? store.close()
            throw ExitCode(1)
        }
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
