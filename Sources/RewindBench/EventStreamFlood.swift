import Foundation
import HTTPClient
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `bench-http --event-streams N`: N event streams (`GET /v1/jobs/{id}/events`) opened one after
/// another on a thread of their own while the measured load runs, and held open until it ends, so
/// the load's latencies are those of ordinary requests while a thousand watchers arrive and stay.
///
/// Each stream comes from its own loopback address (127.0.x.y), as a thousand watchers on a
/// thousand machines would: the per-address cap is not what is measured. Streams past the server's
/// total cap are answered at once; their statuses are counted (503 expected, never 408).
final class EventStreamFlood: Sendable {
    /// What the streams were answered, by status (0: no answer in time, or no connection).
    struct Outcome: Sendable {
        var statuses: [Int: Int] = [:]
        /// Seconds from the first connect to the last stream's answer.
        var openingSeconds = 0.0
    }

    private let endpoint: LoopbackEndpoint
    private let path: String
    private let headers: [(name: String, value: String)]
    private let count: Int
    private let state = Mutex<(outcome: Outcome, open: [HTTPClientConnection], done: Bool)>((Outcome(), [], false))
    private let finished = DispatchSemaphore(value: 0)

    init(endpoint: LoopbackEndpoint, jobID: String, headers: [(name: String, value: String)], count: Int) {
        self.endpoint = endpoint
        path = "/v1/jobs/\(jobID)/events"
        self.headers = headers
        self.count = count
    }

    /// Starts opening the streams after `delay` (the load's warm-up) on a thread of its own.
    func start(after delay: Duration) {
        Self.raiseDescriptorLimit(to: count + LoadGenerator.maximumConnections + 256)
        let thread = Thread { [self] in
            Thread.sleep(forTimeInterval: delay.seconds)
            open()
            finished.signal()
        }
        thread.name = "rewind.load.streams"
        thread.start()
    }

    /// Waits for the opening to end, closes every stream and answers what they got.
    func stop() -> Outcome {
        finished.wait()
        return state.withLock { state in
            state.open.forEach { $0.close() }
            state.open = []
            return state.outcome
        }
    }

    private func open() {
        var head = "GET \(path) HTTP/1.1\r\nHost: \(endpoint.authority)\r\nAccept: text/event-stream\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let request = Array((head + "\r\n").utf8)
        let started = ContinuousClock.now
        var connections: [HTTPClientConnection] = []
        for index in 0..<count {
            let source = "127.0.\(1 + index / 250).\(1 + index % 250)"
            guard
                let connection = try? HTTPClientConnection(
                    host: endpoint.host, port: endpoint.port, timeout: .seconds(30), source: source),
                (try? connection.send(request)) != nil
            else {
                state.withLock { $0.outcome.statuses[0, default: 0] += 1 }
                continue
            }
            connections.append(connection)
        }
        for connection in connections {
            let status = (try? connection.readHead().status) ?? 0
            state.withLock { state in
                state.outcome.statuses[status, default: 0] += 1
                if status == 200 { state.open.append(connection) }
            }
            if status != 200 { connection.close() }
        }
        let seconds = started.duration(to: .now).seconds
        state.withLock { $0.outcome.openingSeconds = seconds }
    }

    /// A thousand streams and the load's connections need more descriptors than the usual soft
    /// limit of 1,024; the server this command starts inherits the raised limit.
    static func raiseDescriptorLimit(to wanted: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(wanted) else { return }
        limit.rlim_cur = min(limit.rlim_max, rlim_t(wanted))
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
