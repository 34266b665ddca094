import Foundation
import JSON

extension HTTPBenchCommand {
    static let workload = "GET /v1/jobs/{id}, two training jobs alternating"

    /// One JSON object; latencies in milliseconds, null when no request succeeded.
    static func json(_ report: LoadReport, jobsAfter: [String], streams: EventStreamFlood.Outcome? = nil) -> JSONValue {
        func milliseconds(_ value: Double?) -> JSONValue {
            value.map { .number(($0 * 1000).rounded() / 1000) } ?? .null
        }
        var o = JSONObject()
        o["workload"] = .string(workload)
        o["connections"] = .number(Double(report.connections))
        o["duration_seconds"] = .number(report.duration.seconds)
        o["requests"] = .number(Double(report.requests))
        o["requests_per_second"] = .number(report.requestsPerSecond.rounded())
        o["p50_ms"] = milliseconds(report.latencyMilliseconds(atQuantile: 0.5))
        o["p90_ms"] = milliseconds(report.latencyMilliseconds(atQuantile: 0.9))
        o["p99_ms"] = milliseconds(report.latencyMilliseconds(atQuantile: 0.99))
        o["max_ms"] = milliseconds(report.maxLatencyMilliseconds)
        o["mean_ms"] = milliseconds(report.meanLatencyMilliseconds)
        o["failed"] = .number(Double(report.failed))
        var failures = JSONObject()
        for (kind, count) in report.tally.failures.sorted(by: { $0.key < $1.key }) {
            failures[kind.rawValue] = .number(Double(count))
        }
        o["failures"] = .object(failures)
        var statuses = JSONObject()
        for (status, count) in report.tally.statuses.sorted(by: { $0.key < $1.key }) {
            statuses[String(status)] = .number(Double(count))
        }
        o["failed_statuses"] = .object(statuses)
        o["connections_opened"] = .number(Double(report.tally.connections))
        o["jobs_status_after"] = .array(jobsAfter.map { .string($0) })
        if let streams {
            var answered = JSONObject()
            for (status, count) in streams.statuses.sorted(by: { $0.key < $1.key }) {
                answered[String(status)] = .number(Double(count))
            }
            var flood = JSONObject()
            flood["opened"] = .number(Double(streams.statuses.values.reduce(0, +)))
            flood["statuses"] = .object(answered)
            flood["opening_seconds"] = .number((streams.openingSeconds * 1000).rounded() / 1000)
            o["event_streams"] = .object(flood)
        }
        return .object(o)
    }

    /// A Markdown table for the README, with the failures spelled out under it.
    static func table(_ report: LoadReport, jobsAfter: [String], streams: EventStreamFlood.Outcome? = nil) -> String {
        func milliseconds(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }
        func right(_ text: String, _ width: Int) -> String {
            String(repeating: " ", count: max(0, width - text.count)) + text
        }
        var lines = [
            "HTTP server under load: \(workload), from a separate process on loopback;",
            "closed loop, keep-alive, 1% latency buckets; jobs after the run: \(jobsAfter.joined(separator: ", ")).",
            "",
            "| connections | duration (s) | requests |   req/s | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | failed |",
            "|------------:|-------------:|---------:|--------:|---------:|---------:|---------:|---------:|-------:|",
            "| "
                + [
                    right(String(report.connections), 11), right(String(format: "%.1f", report.duration.seconds), 12),
                    right(String(report.requests), 8), right(String(format: "%.0f", report.requestsPerSecond), 7),
                    right(milliseconds(report.latencyMilliseconds(atQuantile: 0.5)), 8),
                    right(milliseconds(report.latencyMilliseconds(atQuantile: 0.9)), 8),
                    right(milliseconds(report.latencyMilliseconds(atQuantile: 0.99)), 8),
                    right(milliseconds(report.maxLatencyMilliseconds), 8), right(String(report.failed), 6),
                ].joined(separator: " | ") + " |",
        ]
        if let streams {
            let statuses = streams.statuses.sorted { $0.key < $1.key }.map {
                "\($0.value) × \($0.key == 0 ? "no answer" : "HTTP \($0.key)")"
            }
            lines.append("")
            lines.append(
                "Event streams opened during the load (each from its own address) and held to its end: "
                    + statuses.joined(separator: ", ")
                    + String(format: "; all answered within %.1f s.", streams.openingSeconds))
        }
        if report.failed > 0 {
            let kinds = report.tally.failures.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }
            let statuses = report.tally.statuses.sorted { $0.key < $1.key }.map { "HTTP \($0.key): \($0.value)" }
            lines.append("")
            lines.append("Failed: " + (kinds + statuses).joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}
