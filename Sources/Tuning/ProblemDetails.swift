import JSON

/// An RFC 9457 problem document, the body of every error Rewind answers (docs/api.md, "Errors").
public struct ProblemDetails: Error, Sendable, Equatable {
    public var status: Int
    public var title: String
    public var detail: String
    /// A short stable slug; the `type` member is the relative reference `/problems/<slug>`.
    public var slug: String
    /// Every offending field, as JSON Pointers.
    public var errors: [SpecError]
    /// Extension members (RFC 9457 §3.2), e.g. the `line` and `column` of a bad CSV upload.
    public var extensions: JSONObject

    public init(
        status: Int, slug: String, title: String, detail: String, errors: [SpecError] = [],
        extensions: JSONObject = JSONObject()
    ) {
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.extensions = extensions
    }

    public var type: String { "/problems/\(slug)" }

    public func json() -> JSONValue {
        var object = JSONObject()
        object["type"] = .string(type)
        object["title"] = .string(title)
        object["status"] = .number(Double(status))
        object["detail"] = .string(detail)
        if !errors.isEmpty {
            object["errors"] = .array(errors.map { error in
                var entry = JSONObject()
                entry["field"] = .string(error.field)
                entry["message"] = .string(error.message)
                return .object(entry)
            })
        }
        for (key, value) in extensions { object[key] = value }
        return .object(object)
    }

    /// 422 with every bad field of a spec.
    public static func invalidSpec(_ errors: [SpecError]) -> ProblemDetails {
        let first = errors.first.map { "\($0.field): \($0.message)" } ?? "the job spec is invalid"
        let more = errors.count > 2 ? " (and \(errors.count - 1) more errors)" : errors.count == 2 ? " (and 1 more error)" : ""
        return ProblemDetails(
            status: 422, slug: "invalid-spec", title: "The job spec is invalid", detail: first + more, errors: errors)
    }

    /// 400 for a body that is not JSON at all.
    public static func malformedJSON(_ error: JSONParseError) -> ProblemDetails {
        ProblemDetails(
            status: 400, slug: "malformed-json", title: "The body is not valid JSON",
            detail: "line \(error.line), column \(error.column): \(error.message)")
    }
}
