import HTTPServer
import JSON

/// Health, readiness, metrics and the API description.
extension RewindAPI {
    func health() -> HTTPResponse {
        .json(["status": "ok"])
    }

    /// Ready when the database answers, the workers run and the process is not draining.
    func readiness() -> HTTPResponse {
        var checks = JSONObject()
        let database = (try? store.jobCounts()) != nil
        checks["database"] = .string(database ? "ok" : "unavailable")
        checks["workers"] = .string(runner.isRunning ? "ok" : "stopped")
        checks["shutting_down"] = .bool(isShuttingDown)
        let ready = database && runner.isRunning && !isShuttingDown
        return .json(
            ["status": .string(ready ? "ready" : "not_ready"), "checks": .object(checks)],
            status: ready ? .ok : .serviceUnavailable)
    }

    func metricsText() -> HTTPResponse {
        HTTPResponse(text: metrics.render(), contentType: Metrics.contentType)
    }

    func openAPI() -> HTTPResponse {
        .rawJSON(Array(OpenAPIDocument.json.utf8))
    }
}
