import HTTPServer
import JSON
import Tuning

/// Health, readiness, metrics and the API description.
extension RewindAPI {
    func health() -> HTTPResponse {
        .json(["status": "ok"])
    }

    /// Ready when the database answers reads AND would accept a write, the workers run and the
    /// process is not draining.
    func readiness() -> HTTPResponse {
        var checks = JSONObject()
        let database = (try? store.jobCounts()) != nil && (try? store.checkWritable()) != nil
        checks["database"] = .string(database ? "ok" : "unavailable")
        checks["workers"] = .string(runner.isRunning ? "ok" : "stopped")
        checks["shutting_down"] = .bool(isShuttingDown)
        let ready = database && runner.isRunning && !isShuttingDown
        guard ready else {
            // Every error body is problem+json (docs/api.md, "Errors"); the checks ride along as an extension.
            let failing = checks.filter { $0.value != .string("ok") && $0.value != .bool(false) }.map(\.key)
            var headers = HTTPHeaders()
            headers.set("Retry-After", "5")
            return APIError(ProblemDetails(
                status: 503, slug: "not-ready", title: "Not ready",
                detail: "not ready: \(failing.joined(separator: ", "))", extensions: ["checks": .object(checks)]),
                headers: headers
            ).response
        }
        return .json(["status": "ready", "checks": .object(checks)])
    }

    func metricsText() -> HTTPResponse {
        HTTPResponse(text: metrics.render(), contentType: Metrics.contentType)
    }

    func openAPI() -> HTTPResponse {
        .rawJSON(servedOpenAPI)
    }
}
