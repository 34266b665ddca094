import HTTPClient

/// What went wrong with one request, as the load report counts it.
enum LoadFailureKind: String, Sendable, CaseIterable, Comparable {
    /// The TCP connection could not be opened.
    case connect
    /// Sending the request or receiving the response failed with an errno.
    case io
    /// The server closed the connection before the response was complete.
    case closed
    /// No complete response within the per-request timeout.
    case timeout
    /// The bytes were not an HTTP/1.1 response the client can frame.
    case malformed
    /// A complete response with a status outside 200..<300.
    case status

    init(_ failure: HTTPClientError) {
        switch failure.kind {
        case .connect, .resolve: self = .connect
        case .send, .receive: self = .io
        case .closed: self = .closed
        case .timeout: self = .timeout
        case .malformed: self = .malformed
        }
    }

    static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Counts kept by one load connection and merged across them at the end.
///
/// Successes are counted only for requests started inside the measured window (after warm-up);
/// failures whenever they happen, because a failure during warm-up is still a failure.
struct LoadTally: Sendable, Equatable {
    /// Latencies of the successful (2xx) requests started in the measured window.
    var latencies = LatencyHistogram()
    var failures: [LoadFailureKind: Int] = [:]
    /// Non-2xx responses by status code.
    var statuses: [Int: Int] = [:]
    /// TCP connections opened, the first included.
    var connections = 0
    /// The first failure seen, to show the user something concrete.
    var firstFailure: String?

    var successes: Int { Int(latencies.count) }
    var failureCount: Int { failures.values.reduce(0, +) }

    mutating func fail(_ kind: LoadFailureKind, _ detail: String) {
        failures[kind, default: 0] += 1
        if firstFailure == nil { firstFailure = detail }
    }

    mutating func merge(_ other: LoadTally) {
        latencies.merge(other.latencies)
        failures.merge(other.failures, uniquingKeysWith: +)
        statuses.merge(other.statuses, uniquingKeysWith: +)
        connections += other.connections
        if firstFailure == nil { firstFailure = other.firstFailure }
    }
}

/// The outcome of a load run: throughput, latency quantiles and failures.
struct LoadReport: Sendable {
    var connections: Int
    /// The measured window (warm-up excluded).
    var duration: Duration
    var tally: LoadTally

    var requests: Int { tally.successes }
    var failed: Int { tally.failureCount }

    var requestsPerSecond: Double {
        let seconds = duration.seconds
        return seconds > 0 ? Double(requests) / seconds : 0
    }

    /// A latency quantile in milliseconds; nil when no request succeeded.
    func latencyMilliseconds(atQuantile quantile: Double) -> Double? {
        tally.latencies.value(atQuantile: quantile).map { Double($0) / 1e6 }
    }

    var maxLatencyMilliseconds: Double? {
        tally.latencies.count == 0 ? nil : Double(tally.latencies.maxNanoseconds) / 1e6
    }

    var meanLatencyMilliseconds: Double? {
        tally.latencies.meanNanoseconds.map { $0 / 1e6 }
    }
}
