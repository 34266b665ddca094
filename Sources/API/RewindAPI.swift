import Foundation
import HTTPServer
import Jobs
import JSON
import Storage
import Synchronization
import Tuning

/// The HTTP API of API.md over the store and the worker pool: routing, authentication, limits,
/// problem+json errors, request logging. Handlers run on the HTTP server's handler queue and may
/// block briefly on SQLite.
public final class RewindAPI: Sendable {
    let store: Store
    let runner: JobRunner
    let configuration: APIConfiguration
    let clock: MillisecondClock
    let log: JobLog
    let metrics: Metrics
    private let shuttingDown = Atomic<Bool>(false)
    private let metricsSubscription: JobEventHub.Subscription
    let eventStreams = EventStreams()
    private let router = Router.api

    public init(
        store: Store, runner: JobRunner, configuration: APIConfiguration = APIConfiguration(),
        metrics: Metrics? = nil, clock: @escaping MillisecondClock = JobRunner.wallClock,
        log: @escaping JobLog = { _, _ in }
    ) {
        self.store = store
        self.runner = runner
        self.configuration = configuration
        let registry = metrics ?? Metrics(version: configuration.version)
        self.metrics = registry
        metricsSubscription = runner.events.subscribe(jobID: nil) { _, event in
            switch event {
            case .metaIteration(_, let seconds): registry.recordMetaIteration(seconds: seconds)
            case .status(let status) where JobStatus(rawValue: status)?.isTerminal == true:
                registry.recordJobFinished(status: status)
            default: break
            }
        }
        self.clock = clock
        self.log = log
        registerCollectors()
    }

    /// From now on `/readyz` answers 503 (the process is draining).
    public func beginShutdown() {
        shuttingDown.store(true, ordering: .relaxed)
    }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }

    /// The body limit of the route a request head is for: large for CSV uploads, small otherwise.
    public func bodyLimit(for head: HTTPRequestHead) -> Int {
        head.method == .post && head.path == "/v1/datasets" ? configuration.datasetBodyLimit : configuration.jsonBodyLimit
    }

    /// The `HTTPServer` handler.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let started = ContinuousClock.now
        let response: HTTPResponse
        let template: String
        switch router.resolve(method: request.method, path: request.path) {
        case .found(let route, let captures):
            template = route.pattern.template
            if let denied = authenticate(request, template: template) {
                response = denied.response
            } else {
                do {
                    response = try dispatch(route.endpoint, RouteContext(request: request, captures: captures))
                } catch {
                    response = error.response
                }
            }
        case .methodNotAllowed(let allowed, let matched):
            template = matched
            var headers = HTTPHeaders()
            headers.set("Allow", allowed.map(\.rawValue).joined(separator: ", "))
            response = APIError(
                ProblemDetails(
                    status: 405, slug: "method-not-allowed", title: "Method not allowed",
                    detail: "\(request.method.rawValue) is not allowed on \(matched); allowed: \(allowed.map(\.rawValue).joined(separator: ", "))"),
                headers: headers
            ).response
        case .notFound:
            template = "unmatched"
            response = APIError.notFound("no route for \(request.path)").response
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(request.method.rawValue)
            ? request.method.rawValue : "other"
        metrics.recordRequest(route: template, method: method, status: response.status.code, seconds: seconds)
        if response.status.code >= 500 {
            log("request failed", ["method": request.method.rawValue, "path": request.path, "status": "\(response.status.code)"])
        }
        return response
    }

    private func dispatch(_ endpoint: Endpoint, _ context: RouteContext) throws(APIError) -> HTTPResponse {
        switch endpoint {
        case .createJob: try createJob(context)
        case .listJobs: try listJobs(context)
        case .getJob: try getJob(context)
        case .jobHistory: try jobHistory(context)
        case .jobResult: try jobResult(context)
        case .cancelJob: try cancelJob(context)
        case .deleteJob: try deleteJob(context)
        case .jobEvents: try jobEvents(context)
        case .jobPlot: try jobPlot(context)
        case .uploadDataset: try uploadDataset(context)
        case .listDatasets: try listDatasets(context)
        case .getDataset: try getDataset(context)
        case .deleteDataset: try deleteDataset(context)
        case .health: health()
        case .readiness: readiness()
        case .metrics: metricsText()
        case .openAPI: openAPI()
        case .indexPage: try indexPage(context)
        case .jobPage: try jobPage(context)
        }
    }

    /// `/v1/` routes need a key when keys are configured; pages, health and metrics do not.
    private func authenticate(_ request: HTTPRequest, template: String) -> APIError? {
        guard !configuration.apiKeys.isEmpty, template.hasPrefix("/v1/") else { return nil }
        let header = request.headers["Authorization"] ?? ""
        let key = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : ""
        guard !configuration.apiKeys.contains(key) else { return nil }
        var headers = HTTPHeaders()
        headers.set("WWW-Authenticate", "Bearer realm=\"rewind\"")
        return APIError(
            ProblemDetails(
                status: 401, slug: "unauthorized", title: "Missing or invalid API key",
                detail: key.isEmpty ? "send Authorization: Bearer <key>" : "the API key is not valid"),
            headers: headers)
    }

    /// 411 for an upload that declares no length: HTTP/1.1 reads such a body as empty, which
    /// would turn a client's framing bug into a confusing 400 or 422 about the content.
    func requireDeclaredLength(_ request: HTTPRequest) throws(APIError) {
        guard request.headers["Content-Length"] == nil, request.headers["Transfer-Encoding"] == nil else { return }
        throw APIError(
            status: 411, slug: "length-required", title: "Length required",
            detail: "send the body with Content-Length or Transfer-Encoding: chunked")
    }

    /// Runs a store call, turning storage failures into 503 (never SQL in the answer).
    func storage<T>(_ body: () throws -> T) throws(APIError) -> T {
        do {
            return try body()
        } catch let error as StoreError where error == .invalidPageToken {
            throw .invalidQuery("page_token", "is not a token this server issued for this listing")
        } catch {
            log("storage error", ["error": "\(error)"])
            throw .storageUnavailable
        }
    }
}
