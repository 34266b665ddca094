import HTTPServer
import JSON
import Tuning

/// Health, readiness, metrics and the API description.
extension RewindAPI {
    func health() -> HTTPResponse {
        .json(["status": "ok"])
    }

    /// Ready when the database answers reads AND accepts writes (as the node's health last saw
    /// it: answered from memory, never waiting on the database), the workers run and the process
    /// is not draining.
    func readiness() -> HTTPResponse {
        var checks = JSONObject()
        let database = store.health.isUp
        checks["database"] = .string(Self.databaseCheck(store.health))
        checks["workers"] = .string(runner.isRunning ? "ok" : "stopped")
        checks["shutting_down"] = .bool(isShuttingDown)
        let ready = database && runner.isRunning && !isShuttingDown
        guard ready else {
            // Every error body is problem+json (docs/api.md, "Errors"); the checks ride along as an extension.
            let failing = checks.filter { $0.value != .string("ok") && $0.value != .bool(false) }.map(\.key)
            var headers = HTTPHeaders()
            headers.set("Retry-After", "5")
            return APIError(
                ProblemDetails(
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
