import Dashboard
import Digest
import Foundation
import HTTPServer
import JSON
import Jobs
import Storage
import Synchronization
import Tuning

/// The HTTP API of docs/api.md over the store and the worker pool: routing, authentication, limits,
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
    let eventStreams: EventStreams
    /// Event texts built once per event for all of a job's streams.
    let eventTexts: EventTexts
    private let router = Router.api
    /// `/openapi.json`, with the body limits of this configuration's routes.
    let servedOpenAPI: [UInt8]
    /// Failed authentications per client address, and submissions per principal.
    let authFailures: RateLimiter
    let submissions: RateLimiter
    /// Keys this process's CSRF tokens (see `csrfToken(for:)`).
    let csrfSecret = RewindAPI.randomSecret()
    /// Data set uploads being parsed right now.
    let uploadsInFlight = Atomic<Int>(0)
    let plotCache = PlotCache()
    /// The `REWIND_API_KEYS` keys by digest, with their principal names (see `seededIdentity`).
    let seededKeys: [(digest: String, name: String)]
    /// Whether the store holds keys, re-read at most once a second (see `keysRequired`).
    let storedKeysSeen = Mutex<(at: ContinuousClock.Instant?, present: Bool)>((nil, false))

    public init(
        store: Store, runner: JobRunner, configuration: APIConfiguration = APIConfiguration(),
        metrics: Metrics? = nil, clock: @escaping MillisecondClock = JobRunner.wallClock,
        log: @escaping JobLog = { _, _ in }
    ) {
        self.store = store
        self.runner = runner
        self.configuration = configuration
        seededKeys = configuration.apiKeys.map { key in
            let digest = SHA256.hex(of: Array(key.utf8))
            return (digest, Self.seededPrincipal(digest))
        }
        let registry = metrics ?? Metrics(version: configuration.version)
        self.metrics = registry
        // Events of jobs running on other nodes still reach watchers here through the store's
        // notifier; if one is missed, the streams poll (a shared engine only: SQLite's hub is this process).
        eventTexts = EventTexts(store: store)
        eventStreams = store.engine == .sqlite ? EventStreams() : EventStreams(pollInterval: 1, store: store)
        // Metrics count each event on the node that produced it, so a fleet's sums stay right.
        metricsSubscription = runner.events.subscribe(jobID: nil, includingRemote: false) { _, event in
            switch event {
            case .metaIteration(_, let seconds): registry.recordMetaIteration(seconds: seconds)
            case .status(let status) where JobStatus(rawValue: status)?.isTerminal == true:
                registry.recordJobFinished(status: status)
            default: break
            }
        }
        self.clock = clock
        self.log = log
        authFailures = RateLimiter(
            burst: configuration.authFailureBurst, perSecond: configuration.authFailuresPerSecond)
        submissions = RateLimiter(burst: configuration.submissionBurst, perSecond: configuration.submissionsPerSecond)
        servedOpenAPI = OpenAPIDocument.served(routes: Router.api.routes, bodyLimit: configuration.bodyLimit)
        registerCollectors()
        eventStreams.checkCredentials { [weak self] credentials in self?.revokedCredentials(among: credentials) ?? [] }
    }

    /// From now on `/readyz` answers 503 (the process is draining).
    public func beginShutdown() {
        shuttingDown.store(true, ordering: .relaxed)
    }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }

    /// The body limit of the route a request head is for (its `RouteOptions`); a head no route
    /// takes gets the small limit.
    public func bodyLimit(for head: HTTPRequestHead) -> Int {
        guard case .found(let route, _) = router.resolve(method: head.method, path: head.path) else {
            return configuration.jsonBodyLimit
        }
        return bodyLimit(route.options.bodyLimit)
    }

    /// The setting behind a head's body limit, named in its 413: the upload limit's for an upload.
    public func bodyLimitSetting(for head: HTTPRequestHead) -> String? {
        guard case .found(let route, _) = router.resolve(method: head.method, path: head.path),
            case .dataset = route.options.bodyLimit
        else { return nil }
        return "the upload limit, --max-upload-mb or REWIND_MAX_UPLOAD_MB"
    }

    /// Whether the route a head is for reads its body as it arrives (`RouteOptions.streamsBody`).
    public func streamsBody(for head: HTTPRequestHead) -> Bool {
        guard case .found(let route, _) = router.resolve(method: head.method, path: head.path) else { return false }
        return route.options.streamsBody
    }

    func bodyLimit(_ limit: RouteOptions.BodyLimit) -> Int {
        configuration.bodyLimit(limit)
    }

    /// The `HTTPServer` handler. The request's store calls share one deadline
    /// (`APIConfiguration.storageDeadline`).
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        StoreDeadline.within(configuration.storageDeadline) { answer(request) }
    }

    private func answer(_ request: HTTPRequest) -> HTTPResponse {
        let started = ContinuousClock.now
        var response: HTTPResponse
        var credential: Credential?
        let template: String
        switch admit(request) {
        case .refused(let matched, let refusal, let granted):
            (template, response, credential) = (matched, refusal, granted)
        case .admitted(let route, let captures, let granted):
            template = route.pattern.template
            credential = granted
            response = respond(request, route: route, captures: captures, credential: granted)
        }
        // A page for a browser signed in to a session offers to sign out.
        if let credential, case .cookie = credential, case .bytes(let html) = response.body,
            response.headers["Content-Type"]?.hasPrefix("text/html") == true
        {
            response.body = .bytes(
                Array(
                    DashboardPages.withSignOut(
                        String(decoding: html, as: UTF8.self), csrfToken: csrfToken(for: credential)
                    ).utf8))
        }
        return record(request, template: template, response: finalize(response, credential: credential), since: started)
    }

    /// The `HTTPServer` head screen: the answer to a request whose body has not been read, when
    /// its head alone refuses it (wrong host, no route, no or a wrong key, a media type the route
    /// does not read, another origin); nil lets the body come.
    public func screen(_ head: HTTPRequest) -> HTTPResponse? {
        StoreDeadline.within(configuration.storageDeadline) { screenHead(head) }
    }

    private func screenHead(_ head: HTTPRequest) -> HTTPResponse? {
        let started = ContinuousClock.now
        guard case .refused(let template, let refusal, let credential) = admit(head) else { return nil }
        return record(head, template: template, response: finalize(refusal, credential: credential), since: started)
    }

    /// What the head decides.
    private enum Admission {
        case admitted(Route, [String: String], Credential)
        case refused(template: String, HTTPResponse, Credential?)
    }

    /// Host, route, authentication, media type and origin: everything decided before the body.
    private func admit(_ request: HTTPRequest) -> Admission {
        // A Host this server does not answer for (DNS rebinding) is refused before anything runs.
        if let wrongHost = checkHost(request) { return .refused(template: "unmatched", wrongHost, nil) }
        switch router.resolve(method: request.method, path: request.path) {
        case .found(let route, let captures):
            let template = route.pattern.template
            switch databaseGate(route) ?? authenticate(request, access: route.options.access) {
            case .denied(let denied):
                // A key that could not be looked up is not a wrong key.
                return .refused(
                    template: template, store.health.isDown ? APIError.storageUnavailable.response : denied, nil)
            case .granted(let credential):
                if let refused = checkOrigin(request, options: route.options, credential: credential) {
                    return .refused(template: template, refused, credential)
                }
                return .admitted(route, captures, credential)
            }
        case .methodNotAllowed(let allowed, let matched):
            var headers = HTTPHeaders()
            headers.set("Allow", allowed.map(\.rawValue).joined(separator: ", "))
            return .refused(
                template: matched,
                APIError(
                    ProblemDetails(
                        status: 405, slug: "method-not-allowed", title: "Method not allowed",
                        detail:
                            "\(request.method.rawValue) is not allowed on \(matched); allowed: \(allowed.map(\.rawValue).joined(separator: ", "))"
                    ),
                    headers: headers
                ).response, nil)
        case .notFound:
            return .refused(template: "unmatched", APIError.notFound("no route for \(request.path)").response, nil)
        }
    }

    /// Counts and logs an answer.
    private func record(
        _ request: HTTPRequest, template: String, response: HTTPResponse, since started: ContinuousClock.Instant
    ) -> HTTPResponse {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let method =
            ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(request.method.rawValue)
            ? request.method.rawValue : "other"
        metrics.recordRequest(route: template, method: method, status: response.status.code, seconds: seconds)
        if response.status.code >= 500 {
            log(
                "request failed",
                ["method": request.method.rawValue, "path": request.path, "status": "\(response.status.code)"])
        }
        return response
    }

    /// A routed, authenticated request: forgery and rate checks, then its handler.
    private func respond(
        _ request: HTTPRequest, route: Route, captures: [String: String], credential: Credential
    ) -> HTTPResponse {
        if let forged = checkForgery(request, options: route.options, credential: credential) { return forged }
        if route.options.isSubmission,
            let retry = submissions.take(credential.principal ?? "client:" + Self.client(request))
        {
            return Self.rateLimited(retry, "too many submissions; retry in \(retry) s")
        }
        do {
            return try route.handler(self, RouteContext(request: request, captures: captures, credential: credential))
        } catch {
            return error.response
        }
    }

    /// 429 with `Retry-After`.
    static func rateLimited(_ seconds: Int, _ detail: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.set("Retry-After", "\(seconds)")
        return APIError(
            ProblemDetails(status: 429, slug: "rate-limited", title: "Too many requests", detail: detail),
            headers: headers
        ).response
    }

    /// The client's address without its port (the key of per-client limits).
    static func client(_ request: HTTPRequest) -> String {
        guard let remote = request.remoteAddress else { return "unknown" }
        if remote.hasPrefix("["), let close = remote.firstIndex(of: "]") {
            return String(remote[remote.index(after: remote.startIndex)..<close])
        }
        guard let colon = remote.lastIndex(of: ":") else { return remote }
        return String(remote[..<colon])
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
            throw .storageFailure(error)
        }
    }
}
