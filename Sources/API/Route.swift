import HTTPServer

/// A path template such as `/v1/jobs/{id}/history`: literal segments and `{name}` captures.
struct RoutePattern: Sendable, CustomStringConvertible {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case capture(String)
        /// `{name}.svg`: a capture with a fixed suffix.
        case captureWithSuffix(String, suffix: String)
    }

    let template: String
    let segments: [Segment]

    init(_ template: String) {
        self.template = template
        segments = template.split(separator: "/", omittingEmptySubsequences: true).map { part in
            guard part.hasPrefix("{"), let close = part.firstIndex(of: "}") else { return .literal(String(part)) }
            let name = String(part[part.index(after: part.startIndex)..<close])
            let suffix = String(part[part.index(after: close)...])
            return suffix.isEmpty ? .capture(name) : .captureWithSuffix(name, suffix: suffix)
        }
    }

    var description: String { template }

    /// The captured values, or nil when the path does not fit. Captures never match empty text.
    func match(_ path: String) -> [String: String]? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count == segments.count, path.hasPrefix("/") else { return nil }
        var captures: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let text):
                guard part == text else { return nil }
            case .capture(let name):
                captures[name] = String(part)
            case .captureWithSuffix(let name, let suffix):
                guard part.hasSuffix(suffix), part.count > suffix.count else { return nil }
                captures[name] = String(part.dropLast(suffix.count))
            }
        }
        return captures
    }
}

/// What a route handler gets: the request and the path's captures.
struct RouteContext {
    let request: HTTPRequest
    let captures: [String: String]
    /// How the request authenticated (`.open` without keys).
    var credential: RewindAPI.Credential = .open

    subscript(capture name: String) -> String { captures[name] ?? "" }
}

/// What a route asks of a request before its handler runs, decided from the head alone (so a
/// refused body is never read): who may call it, how large and of which media type its body may
/// be, and which browser defences apply. `/openapi.json` publishes the same body limits.
struct RouteOptions: Sendable {
    /// Who may call a route when keys are in use.
    enum Access: Sendable {
        /// Anyone: health, readiness, metrics, the API description, assets, the sign-in form.
        case open
        /// A key or session; without one, 401 problem+json.
        case key
        /// A key or session; without one, a browser gets the sign-in page (401 HTML).
        case page
    }

    /// Which configured limit bounds a route's body (413 beyond, from `Content-Length` or as a
    /// chunked body grows).
    enum BodyLimit: Sendable {
        /// `APIConfiguration.jsonBodyLimit`: specs, forms and bodiless requests.
        case json
        /// `APIConfiguration.datasetBodyLimit`: CSV uploads.
        case dataset
    }

    /// How a state change from a browser is told apart from a forged one (`checkForgery`).
    enum Forgery: Sendable {
        /// Origin and CSRF token checks for ambient credentials.
        case standard
        /// The sign-in form: its token is the anonymous page's, and it needs no `X-CSRF-Token`.
        case signInForm
        /// A raw upload: `curl -d @data.csv` posts a form, which from a program without keys is
        /// an upload to parse, not a forged form.
        case upload
    }

    var access: Access = .key
    var bodyLimit: BodyLimit = .json
    /// The media types the body may have (415 otherwise); nil accepts any.
    var accepts: Set<String>? = nil
    /// Whether an empty body is accepted whatever its media type.
    var acceptsEmptyBody = false
    var forgery: Forgery = .standard
    /// Counted against the principal's submission rate (429 beyond).
    var isSubmission = false
    /// Whether the handler (or its authentication) needs the database: while the database is
    /// known to be down such a route answers 503 at once (`databaseGate`).
    var usesDatabase = true
    /// Whether the handler reads its body as it arrives (`HTTPRequest.bodyStream`) rather than
    /// whole: uploads, parsed into stored chunks while they are sent.
    var streamsBody = false
}

/// Answers one routed request.
typealias RouteHandler = @Sendable (RewindAPI, RouteContext) throws(APIError) -> HTTPResponse

/// One method on one path template: its options and its handler, registered together.
struct Route: Sendable {
    let method: HTTPMethod
    let pattern: RoutePattern
    let options: RouteOptions
    let handler: RouteHandler

    init(
        _ method: HTTPMethod, _ template: String, _ options: RouteOptions = RouteOptions(),
        _ handler: @escaping RouteHandler
    ) {
        self.method = method
        pattern = RoutePattern(template)
        self.options = options
        self.handler = handler
    }
}

extension RouteOptions {
    static let json = RouteOptions(accepts: ["application/json"], isSubmission: true)
    static let open = RouteOptions(access: .open)
    /// Health, readiness, metrics, the API description and assets: open, and answered from memory.
    static let operational = RouteOptions(access: .open, usesDatabase: false)
    static let page = RouteOptions(access: .page)
    static let csvUpload = RouteOptions(bodyLimit: .dataset, forgery: .upload, isSubmission: true, streamsBody: true)
}

extension Router {
    /// The route table: docs/api.md's paths with their options and handlers, in one place.
    static let api = Router(routes: [
        Route(.post, "/v1/jobs", .json) { api, context throws(APIError) in try api.createJob(context) },
        Route(.get, "/v1/jobs") { api, context throws(APIError) in try api.listJobs(context) },
        Route(.get, "/v1/jobs/{id}") { api, context throws(APIError) in try api.getJob(context) },
        Route(.delete, "/v1/jobs/{id}") { api, context throws(APIError) in try api.deleteJob(context) },
        Route(.get, "/v1/jobs/{id}/history") { api, context throws(APIError) in try api.jobHistory(context) },
        Route(.get, "/v1/jobs/{id}/result") { api, context throws(APIError) in try api.jobResult(context) },
        Route(.get, "/v1/jobs/{id}/schedule") { api, context throws(APIError) in try api.jobSchedule(context) },
        Route(
            .post, "/v1/jobs/{id}/cancel",
            RouteOptions(accepts: ["application/json", "application/x-www-form-urlencoded"], acceptsEmptyBody: true)
        ) { api, context throws(APIError) in try api.cancelJob(context) },
        Route(.post, "/v1/jobs/{id}/retry") { api, context throws(APIError) in try api.retryJob(context) },
        Route(.get, "/v1/jobs/{id}/events") { api, context throws(APIError) in try api.jobEvents(context) },
        Route(.get, "/v1/jobs/{id}/plots/{name}.svg") { api, context throws(APIError) in try api.jobPlot(context) },
        Route(.post, "/v1/datasets", .csvUpload) { api, context throws(APIError) in try api.uploadDataset(context) },
        Route(.get, "/v1/datasets") { api, context throws(APIError) in try api.listDatasets(context) },
        Route(.get, "/v1/datasets/{id}") { api, context throws(APIError) in try api.getDataset(context) },
        Route(.get, "/v1/datasets/{id}/data") { api, context throws(APIError) in try api.getDatasetData(context) },
        Route(.delete, "/v1/datasets/{id}") { api, context throws(APIError) in try api.deleteDataset(context) },
        Route(.get, "/healthz", .operational) { api, _ in api.health() },
        Route(.get, "/readyz", .operational) { api, _ in api.readiness() },
        Route(.get, "/metrics", .operational) { api, _ in api.metricsText() },
        Route(.get, "/openapi.json", .operational) { api, _ in api.openAPI() },
        Route(.get, "/", .page) { api, context throws(APIError) in try api.indexPage(context) },
        Route(.get, "/jobs/{id}", .page) { api, context throws(APIError) in try api.jobPage(context) },
        Route(.get, "/compare", .page) { api, context throws(APIError) in try api.comparePage(context) },
        Route(.get, "/datasets", .page) { api, context throws(APIError) in try api.datasetsPage(context) },
        Route(.post, "/datasets", RouteOptions(access: .page, bodyLimit: .dataset, streamsBody: true)) {
            api, context throws(APIError) in
            try api.uploadDatasetPage(context)
        },
        Route(
            .post, "/login",
            RouteOptions(access: .open, accepts: ["application/x-www-form-urlencoded"], forgery: .signInForm)
        ) {
            api, context in api.signIn(context)
        },
        Route(.post, "/logout") { api, context in api.signOut(context) },
        Route(.get, "/assets/{name}", .operational) { api, context throws(APIError) in try api.asset(context) },
    ])
}

/// Finds the route for a request: 404 when no template fits the path, 405 (with `Allow`) when
/// templates fit but not with this method. HEAD is served by GET routes.
struct Router: Sendable {
    let routes: [Route]

    enum Resolution {
        case found(Route, [String: String])
        case methodNotAllowed(allowed: [HTTPMethod], template: String)
        case notFound
    }

    func resolve(method: HTTPMethod, path: String) -> Resolution {
        var allowed: [HTTPMethod] = []
        var template: String?
        let wanted: HTTPMethod = method == .head ? .get : method
        for route in routes {
            guard let captures = route.pattern.match(path) else { continue }
            if route.method == wanted { return .found(route, captures) }
            allowed.append(route.method)
            template = route.pattern.template
        }
        guard let template else { return .notFound }
        return .methodNotAllowed(allowed: allowed, template: template)
    }
}

extension APIConfiguration {
    /// The bytes a route's body limit stands for.
    func bodyLimit(_ limit: RouteOptions.BodyLimit) -> Int {
        switch limit {
        case .json: jsonBodyLimit
        case .dataset: datasetBodyLimit
        }
    }
}
