import HTTPServer
import JSON
import Storage
import Tuning

/// An error answer: the problem document plus any headers it needs (`Allow`, `Retry-After`).
struct APIError: Error {
    var problem: ProblemDetails
    var headers: HTTPHeaders = HTTPHeaders()

    init(_ problem: ProblemDetails, headers: HTTPHeaders = HTTPHeaders()) {
        self.problem = problem
        self.headers = headers
    }

    init(status: Int, slug: String, title: String, detail: String, errors: [SpecError] = []) {
        self.init(ProblemDetails(status: status, slug: slug, title: title, detail: detail, errors: errors))
    }

    static func notFound(_ what: String) -> APIError {
        APIError(status: 404, slug: "not-found", title: "Not found", detail: what)
    }

    static func conflict(_ slug: String, _ detail: String) -> APIError {
        APIError(status: 409, slug: slug, title: "Conflict with the resource's state", detail: detail)
    }

    /// 422 for a bad query parameter, named in `errors` as `?name`.
    static func invalidQuery(_ name: String, _ message: String) -> APIError {
        APIError(
            status: 422, slug: "invalid-query", title: "A query parameter is invalid", detail: "\(name): \(message)",
            errors: [SpecError(field: "?\(name)", message: message)])
    }

    /// Carries `Retry-After`, as every 503 of the API does.
    static let storageUnavailable = unavailable("the database is unavailable; try again shortly")

    /// The 503 for a store call that failed, saying what happened: the database cannot be
    /// reached, refuses writes, had no free connection in time, or failed the request.
    static func storageFailure(_ error: any Error) -> APIError {
        switch error {
        case StoreError.connectionWaitTimedOut:
            return unavailable("every database connection stayed busy; try again shortly", retryAfter: 1)
        case StoreError.closed:
            return unavailable("the database is closed: the service is stopping")
        default:
            switch DatabaseHealth.condition(after: error) {
            case .down?: return storageUnavailable
            case .refusingWrites?: return unavailable("the database accepts no writes right now; try again later")
            default: return unavailable("the database failed to answer; try again shortly")
            }
        }
    }

    private static func unavailable(_ detail: String, retryAfter: Int = 5) -> APIError {
        unavailable(
            slug: "storage-unavailable", title: "Storage is unavailable", detail: detail, retryAfter: retryAfter)
    }

    /// A 503 with `Retry-After` (5 s unless told).
    static func unavailable(slug: String, title: String, detail: String, retryAfter: Int = 5) -> APIError {
        var headers = HTTPHeaders()
        headers.set("Retry-After", "\(retryAfter)")
        return APIError(ProblemDetails(status: 503, slug: slug, title: title, detail: detail), headers: headers)
    }

    var response: HTTPResponse {
        var headers = self.headers
        headers.set("Content-Type", "application/problem+json")
        return HTTPResponse(
            status: HTTPStatus(code: problem.status), headers: headers, body: problem.json().serialized())
    }
}

extension HTTPResponse {
    /// A JSON body with the API's content type.
    static func json(_ value: JSONValue, status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse
    {
        rawJSON(value.serialized(), status: status, headers: headers)
    }

    /// A body that is already serialised JSON (history items are stored serialised).
    static func rawJSON(
        _ bytes: [UInt8], status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders()
    ) -> HTTPResponse {
        var headers = headers
        headers.set("Content-Type", "application/json; charset=utf-8")
        return HTTPResponse(status: status, headers: headers, body: bytes)
    }
}
