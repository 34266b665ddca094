import JSON
import Tuning

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
            object["errors"] = .array(
                errors.map { error in
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
        ProblemDetails(JobRequestError.invalidSpec(errors))
    }

    /// The answer to a spec that cannot become a run: 400 for bytes that are not JSON, 422 for
    /// the rest, with the error's fields and, where it has them, its figures as extension members.
    public init(_ error: JobRequestError) {
        switch error {
        case .malformedJSON:
            self.init(status: 400, slug: error.code, title: "The body is not valid JSON", detail: error.detail)
        case .invalidSpec:
            self.init(
                status: 422, slug: error.code, title: "The job spec is invalid", detail: error.detail,
                errors: error.errors)
        case .invalidDataset(let parse, _):
            // As the upload of the same CSV answers: the first problem's line and column.
            self.init(
                status: 422, slug: error.code, title: "The data set does not parse", detail: error.detail,
                errors: error.errors,
                extensions: ["line": .number(Double(parse.line)), "column": .number(Double(parse.column))])
        case .overMemoryBudget(let estimate, let budget):
            self.init(
                status: 422, slug: error.code, title: "The job needs more memory than a job may use",
                detail: error.detail, errors: error.errors,
                extensions: [
                    "estimated_bytes": .number(Double(estimate.totalBytes)),
                    "budget_bytes": .number(Double(budget)),
                ])
        }
    }
}
