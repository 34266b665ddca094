import HTTPServer
import JSON
import Storage
import Synchronization
import Tuning

/// The HTTP handler of a node that may start before its database is reachable.
///
/// Until `open(_:)` hands it the API, it answers on its own from the node's `DatabaseHealth`:
/// `/healthz` 200 (the process is alive), `/readyz` 503, `/metrics` the database families, and
/// every other route 503 "the database is unavailable" with `Retry-After`. From then on every
/// request goes to the API.
public final class NodeGate: Sendable {
    private let api = Mutex<RewindAPI?>(nil)
    private let health: DatabaseHealth
    private let configuration: APIConfiguration
    private let standbyMetrics: Metrics

    public init(health: DatabaseHealth, configuration: APIConfiguration) {
        self.health = health
        self.configuration = configuration
        standbyMetrics = Metrics(version: configuration.version)
        RewindAPI.registerDatabaseCollectors(standbyMetrics, health: health)
    }

    /// The server hooks of `RewindAPI.configure(_:)`, valid before and after the API exists.
    public func configure(_ server: inout HTTPServer.Configuration) {
        let jsonBodyLimit = configuration.jsonBodyLimit
        server.bodyLimit = { [self] head in api.withLock { $0 }?.bodyLimit(for: head) ?? jsonBodyLimit }
        server.bodyLimitSetting = { [self] head in api.withLock { $0 }?.bodyLimitSetting(for: head) }
        // Until the API is open nothing is screened; `handle` answers 503 for all but the operational routes.
        server.screen = { [self] head in api.withLock { $0 }?.screen(head) }
        server.streamsBody = { [self] head in api.withLock { $0 }?.streamsBody(for: head) ?? false }
        server.memoryBudget = configuration.memoryBudget
        RewindAPI.applyNodeDefaults(&server)
    }

    /// From now on `api` answers every request.
    public func open(_ api: RewindAPI) {
        self.api.withLock { $0 = api }
    }

    /// The `HTTPServer` handler.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        if let api = api.withLock({ $0 }) { return api.handle(request) }
        var response: HTTPResponse
        switch request.path {
        case "/healthz":
            response = .json(["status": "ok"])
        case "/readyz":
            let checks: JSONObject = [
                "database": .string(RewindAPI.databaseCheck(health)), "workers": "not started", "shutting_down": false,
            ]
            var headers = HTTPHeaders()
            headers.set("Retry-After", "5")
            response =
                APIError(
                    ProblemDetails(
                        status: 503, slug: "not-ready", title: "Not ready",
                        detail: "not ready: waiting for the database",
                        extensions: ["checks": .object(checks)]),
                    headers: headers
                ).response
        case "/metrics":
            response = HTTPResponse(text: standbyMetrics.render(), contentType: Metrics.contentType)
        default:
            response = APIError.storageUnavailable.response
        }
        for field in RewindAPI.securityHeaders where !response.headers.contains(field.name) {
            response.headers.add(field.name, field.value)
        }
        return response
    }
}
