import Dashboard
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
        head.method == .post && (head.path == "/v1/datasets" || head.path == "/datasets") ? configuration.datasetBodyLimit : configuration.jsonBodyLimit
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
                response = denied
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
        case .jobSchedule: try jobSchedule(context)
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
        case .signIn: signIn(context)
        case .comparePage: try comparePage(context)
        case .datasetsPage: try datasetsPage(context)
        case .uploadDatasetPage: try uploadDatasetPage(context)
        }
    }

    /// With keys configured, everything but health, readiness, metrics, the API description and the
    /// sign-in form needs one: `Authorization: Bearer KEY`, or the `rewind_key` cookie that
    /// `POST /login` sets for browsers. A page asks a browser to sign in instead of answering 401 JSON.
    private func authenticate(_ request: HTTPRequest, template: String) -> HTTPResponse? {
        guard !configuration.apiKeys.isEmpty, !Self.openRoutes.contains(template) else { return nil }
        let presented = Self.bearerKey(request) ?? Self.cookieKey(request)
        if let presented, configuration.apiKeys.contains(presented) { return nil }
        if Self.pageRoutes.contains(template) {
            return HTTPResponse(status: .unauthorized, text: DashboardPages.signIn(), contentType: "text/html; charset=utf-8")
        }
        var headers = HTTPHeaders()
        headers.set("WWW-Authenticate", "Bearer realm=\"rewind\"")
        return APIError(
            ProblemDetails(
                status: 401, slug: "unauthorized", title: "Missing or invalid API key",
                detail: presented == nil ? "send Authorization: Bearer <key>" : "the API key is not valid"),
            headers: headers
        ).response
    }

    static let openRoutes: Set<String> = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/login"]
    /// Routes a browser opens: without a key they answer the sign-in page, not 401 JSON.
    static let pageRoutes: Set<String> = ["/", "/jobs/{id}", "/compare", "/datasets"]
    static let keyCookie = "rewind_key"

    static func bearerKey(_ request: HTTPRequest) -> String? {
        guard let header = request.headers["Authorization"], header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst(7))
    }

    static func cookieKey(_ request: HTTPRequest) -> String? {
        for header in request.headers.values(for: "Cookie") {
            for pair in header.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == keyCookie { return String(parts[1]).removingPercentEncoding }
            }
        }
        return nil
    }

    /// `POST /login` with a form-encoded `key`: a cookie for the pages and their fetches, then `/`.
    func signIn(_ context: RouteContext) -> HTTPResponse {
        let form = String(decoding: context.request.body, as: UTF8.self)
        var key: String?
        for pair in form.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == "key" {
                key = String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
        }
        guard let key, configuration.apiKeys.contains(key) else {
            return HTTPResponse(
                status: .unauthorized, text: DashboardPages.signIn(error: "That key is not valid."),
                contentType: "text/html; charset=utf-8")
        }
        let encoded = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key
        var headers = HTTPHeaders()
        headers.set("Location", "/")
        headers.set("Set-Cookie", "\(Self.keyCookie)=\(encoded); Path=/; HttpOnly; SameSite=Strict")
        return HTTPResponse(status: HTTPStatus(code: 303), headers: headers)
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
