import Foundation
import HTTPClient

/// The closed loop of one load connection: send a request, read the whole response, record it,
/// repeat until the end of the run; reconnect when the server closes or a request fails.
struct LoadWorker: Sendable {
    /// When the run starts measuring and when it ends; shared by every connection.
    struct Schedule: Sendable {
        var measureFrom: ContinuousClock.Instant
        var end: ContinuousClock.Instant
        var requestTimeout: Duration
    }

    /// How long to wait after a failed connect, so a dead server is not hammered in a hot loop.
    static let connectBackoff: Duration = .milliseconds(10)

    let endpoint: LoopbackEndpoint
    /// Complete request bytes, used round-robin from `firstRequest`.
    let requests: [[UInt8]]
    let firstRequest: Int
    let schedule: Schedule

    func run() -> LoadTally {
        var tally = LoadTally()
        var connection: HTTPClientConnection?
        var next = firstRequest
        let clock = ContinuousClock()
        while clock.now < schedule.end {
            guard let open = connection ?? connect(&tally) else { continue }
            connection = open
            let request = requests[next % requests.count]
            next += 1
            let started = clock.now
            let timeoutAt = started + schedule.requestTimeout
            do throws(HTTPClientError) {
                try open.send(request)
                let response = try open.readFramedResponse(deadline: min(timeoutAt, schedule.end))
                let elapsed = started.duration(to: clock.now)
                if (200..<300).contains(response.status) {
                    if started >= schedule.measureFrom { tally.latencies.record(nanoseconds: elapsed.nanoseconds) }
                } else {
                    tally.statuses[response.status, default: 0] += 1
                    tally.fail(.status, "HTTP \(response.status) for \(Self.requestLine(request))")
                }
                if !response.keepAlive {
                    open.close()
                    connection = nil
                }
            } catch {
                open.close()
                connection = nil
                // A response cut off by the end of the run, before its own timeout, is no failure.
                if error.kind == .timeout && schedule.end < timeoutAt && clock.now >= schedule.end { break }
                tally.fail(LoadFailureKind(error), "\(error) (\(Self.requestLine(request)))")
            }
        }
        connection?.close()
        return tally
    }

    private func connect(_ tally: inout LoadTally) -> HTTPClientConnection? {
        do throws(HTTPClientError) {
            let connection = try HTTPClientConnection(
                host: endpoint.host, port: endpoint.port, timeout: schedule.requestTimeout)
            tally.connections += 1
            return connection
        } catch {
            tally.fail(.connect, "\(error) (\(endpoint))")
            let pause = min(Self.connectBackoff, ContinuousClock.now.duration(to: schedule.end))
            if pause > .zero { Thread.sleep(forTimeInterval: pause.seconds) }
            return nil
        }
    }

    private static func requestLine(_ request: [UInt8]) -> String {
        String(decoding: request.prefix { $0 != 13 }, as: UTF8.self)
    }
}

extension Duration {
    /// In seconds, with the fraction.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }

    /// Whole nanoseconds, clamped at zero (a latency is never negative).
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
