import Foundation
import Synchronization

/// A bounded closed-loop HTTP load generator against a loopback server: `connections` keep-alive
/// clients, each on its own thread, send GETs back to back for a warm-up and then a measured
/// window, and the run ends by itself at the deadline.
///
/// One `Thread` per connection rather than one Dispatch work item: blocking work items would
/// exhaust libdispatch's 255-thread pool, and a thread per client keeps each one a
/// plain loop with no scheduler between the socket and the clock.
struct LoadGenerator: Sendable {
    struct Configuration: Sendable {
        var endpoint: LoopbackEndpoint
        /// Request paths (with any query), used round-robin; each connection starts at its own offset.
        var paths: [String]
        var connections = 64
        /// The measured window, after the warm-up.
        var duration: Duration = .seconds(10)
        var warmUp: Duration = .seconds(1)
        var requestTimeout: Duration = .seconds(5)
        /// Extra request headers, e.g. an API key.
        var headers: [(name: String, value: String)] = []

        init(endpoint: LoopbackEndpoint, paths: [String]) {
            self.endpoint = endpoint
            self.paths = paths
        }
    }

    /// A configuration the generator will not run.
    struct InvalidConfiguration: Error, CustomStringConvertible {
        var description: String
    }

    static let maximumDuration: Duration = .seconds(60)
    static let maximumConnections = 1024

    let configuration: Configuration
    /// The complete bytes of each request, built once.
    let requests: [[UInt8]]

    init(_ configuration: Configuration) throws(InvalidConfiguration) {
        guard !configuration.paths.isEmpty else { throw InvalidConfiguration(description: "no request paths") }
        for path in configuration.paths where !Self.isSafeTarget(path) {
            throw InvalidConfiguration(description: "\(path.debugDescription) is not an origin-form request target")
        }
        for header in configuration.headers
        where header.name.isEmpty || !header.name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") })
            || header.value.utf8.contains(where: { $0 == 13 || $0 == 10 })
        {
            throw InvalidConfiguration(description: "header \(header.name.debugDescription) is not a valid header")
        }
        guard (1...Self.maximumConnections).contains(configuration.connections) else {
            throw InvalidConfiguration(description: "connections must be between 1 and \(Self.maximumConnections)")
        }
        guard configuration.duration > .zero, configuration.duration <= Self.maximumDuration else {
            throw InvalidConfiguration(description: "duration must be more than 0 s and at most 60 s")
        }
        guard configuration.warmUp >= .zero, configuration.warmUp <= Self.maximumDuration,
            configuration.requestTimeout > .zero, configuration.requestTimeout <= .seconds(60)
        else {
            throw InvalidConfiguration(description: "warm-up and request timeout must be within 0-60 s")
        }
        self.configuration = configuration
        requests = configuration.paths.map { path in
            var head = "GET \(path) HTTP/1.1\r\nHost: \(configuration.endpoint.authority)\r\n"
            head += "User-Agent: rewind-bench\r\nAccept: application/json\r\n"
            for (name, value) in configuration.headers { head += "\(name): \(value)\r\n" }
            return Array((head + "\r\n").utf8)
        }
    }

    /// Runs the load and merges every connection's counts. Returns at the end of the window plus
    /// at most one request timeout (a connect or send that blocks until its timeout).
    func run() -> LoadReport {
        let start = ContinuousClock.now
        let measureFrom = start + configuration.warmUp
        let schedule = LoadWorker.Schedule(
            measureFrom: measureFrom, end: measureFrom + configuration.duration,
            requestTimeout: configuration.requestTimeout)
        let finished = Finished()
        let done = DispatchGroup()
        for index in 0..<configuration.connections {
            let worker = LoadWorker(
                endpoint: configuration.endpoint, requests: requests, firstRequest: index, schedule: schedule)
            done.enter()
            let thread = Thread {
                finished.add(worker.run())
                done.leave()
            }
            thread.name = "rewind.load.\(index)"
            thread.stackSize = 512 * 1024
            thread.start()
        }
        // Every wait inside a worker is bounded by the end or by one request timeout; the margin
        // only guards against a bug turning the benchmark into a hang.
        let limit = schedule.end + configuration.requestTimeout + .seconds(5)
        let waited = done.wait(timeout: .now() + ContinuousClock.now.duration(to: limit).seconds)
        var tally = finished.merged()
        if waited == .timedOut {
            tally.fail(.timeout, "some load connections did not stop in time; their counts are missing")
        }
        return LoadReport(connections: configuration.connections, duration: configuration.duration, tally: tally)
    }

    /// An origin-form target ("/path?query") with nothing that could break the request line.
    static func isSafeTarget(_ target: String) -> Bool {
        target.hasPrefix("/") && target.utf8.allSatisfy { $0 > 32 && $0 < 127 }
    }

    /// The tallies of the connections that have finished, collected from their threads.
    private final class Finished: Sendable {
        private let tallies = Mutex(LoadTally())

        func add(_ tally: LoadTally) {
            tallies.withLock { $0.merge(tally) }
        }

        func merged() -> LoadTally {
            tallies.withLock { $0 }
        }
    }
}
