import Foundation
import JSON

/// Why a submitted spec cannot become a run, in the domain's own terms. Tuning speaks no HTTP: the
/// API answers each case as problem+json, and `rewind run` prints the same document.
public enum JobRequestError: Error, Sendable, Equatable {
    /// The bytes are not JSON at all.
    case malformedJSON(JSONParseError)
    /// Every bad field of the spec, a data set that does not exist included.
    case invalidSpec([SpecError])
    /// A local CSV (`rewind run`) that does not parse, refused as an upload of it would be.
    case invalidDataset(DatasetParseError, field: String)
    /// The run would need more than `budget` bytes, a job's memory budget.
    case overMemoryBudget(MemoryEstimate, budget: Int)

    /// A stable identifier of the case: the problem's slug at the HTTP edge.
    public var code: String {
        switch self {
        case .malformedJSON: "malformed-json"
        case .invalidSpec: "invalid-spec"
        case .invalidDataset: "invalid-dataset"
        case .overMemoryBudget: "over-memory-budget"
        }
    }

    /// The offending fields, as JSON Pointers into the spec.
    public var errors: [SpecError] {
        switch self {
        case .malformedJSON: []
        case .invalidSpec(let errors): errors
        case .invalidDataset(let error, let field): [SpecError(field: field, message: error.description)]
        case .overMemoryBudget(let estimate, _):
            estimate.drivingFields.map { SpecError(field: $0, message: overBudgetMessage) }
        }
    }

    /// One sentence saying what is wrong.
    public var detail: String {
        switch self {
        case .malformedJSON(let error): "line \(error.line), column \(error.column): \(error.message)"
        case .invalidSpec(let errors):
            (errors.first.map { "\($0.field): \($0.message)" } ?? "the job spec is invalid")
                + (errors.count > 2
                    ? " (and \(errors.count - 1) more errors)" : errors.count == 2 ? " (and 1 more error)" : "")
        case .invalidDataset(let error, _): error.description
        case .overMemoryBudget: overBudgetMessage
        }
    }

    private var overBudgetMessage: String {
        guard case .overMemoryBudget(let estimate, let budget) = self else { return "" }
        let limit = String(format: "%.0f MiB", Double(budget) / 1_048_576)
        return "the job needs \(estimate.summary); the job memory budget is \(limit)"
    }
}
