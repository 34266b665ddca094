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

/// One method on one path template, answered by one endpoint.
struct Route: Sendable {
    let method: HTTPMethod
    let pattern: RoutePattern
    let endpoint: Endpoint

    init(_ method: HTTPMethod, _ template: String, _ endpoint: Endpoint) {
        self.method = method
        pattern = RoutePattern(template)
        self.endpoint = endpoint
    }
}

/// Every operation of the API (docs/api.md), dispatched by `RewindAPI`.
enum Endpoint: Sendable {
    case createJob, listJobs, getJob, jobHistory, jobResult, jobSchedule, cancelJob, retryJob, deleteJob, jobEvents
    case jobPlot, uploadDataset, listDatasets, getDataset, deleteDataset
    case health, readiness, metrics, openAPI
    case indexPage, jobPage, signIn, signOut, asset, comparePage, datasetsPage, uploadDatasetPage
}

extension Router {
    /// The route table: docs/api.md's paths, in one place.
    static let api = Router(routes: [
        Route(.post, "/v1/jobs", .createJob),
        Route(.get, "/v1/jobs", .listJobs),
        Route(.get, "/v1/jobs/{id}", .getJob),
        Route(.delete, "/v1/jobs/{id}", .deleteJob),
        Route(.get, "/v1/jobs/{id}/history", .jobHistory),
        Route(.get, "/v1/jobs/{id}/result", .jobResult),
        Route(.get, "/v1/jobs/{id}/schedule", .jobSchedule),
        Route(.post, "/v1/jobs/{id}/cancel", .cancelJob),
        Route(.post, "/v1/jobs/{id}/retry", .retryJob),
        Route(.get, "/v1/jobs/{id}/events", .jobEvents),
        Route(.get, "/v1/jobs/{id}/plots/{name}.svg", .jobPlot),
        Route(.post, "/v1/datasets", .uploadDataset),
        Route(.get, "/v1/datasets", .listDatasets),
        Route(.get, "/v1/datasets/{id}", .getDataset),
        Route(.delete, "/v1/datasets/{id}", .deleteDataset),
        Route(.get, "/healthz", .health),
        Route(.get, "/readyz", .readiness),
        Route(.get, "/metrics", .metrics),
        Route(.get, "/openapi.json", .openAPI),
        Route(.get, "/", .indexPage),
        Route(.get, "/jobs/{id}", .jobPage),
        Route(.get, "/compare", .comparePage),
        Route(.get, "/datasets", .datasetsPage),
        Route(.post, "/datasets", .uploadDatasetPage),
        Route(.post, "/login", .signIn),
        Route(.post, "/logout", .signOut),
        Route(.get, "/assets/{name}", .asset),
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
