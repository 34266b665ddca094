import JSON
import Testing

@testable import API
@testable import Tuning

/// Tuning's `JobRequestError` becomes, at the HTTP edge, the same problem documents the API has
/// always answered: status, slug, title, detail, errors and extension members, byte for byte.
@Suite("Problem details from Tuning's errors")
struct ProblemDetailsMappingTests {
    @Test func everyJobRequestErrorMapsToTheProblemDocumentTheAPIAnswers() throws {
        let malformed = try #require(
            Self.failure { _ = try JSONValue.parse(Array("{\"dataset\": ".utf8)) } as JSONParseError?)
        #expect(
            ProblemDetails(.malformedJSON(malformed)).json().serializedString()
                == #"{"type":"/problems/malformed-json","title":"The body is not valid JSON","status":400,"detail":"line \#(malformed.line), column \#(malformed.column): \#(malformed.message)"}"#
        )

        let one = SpecError(field: "/training/iterations", message: "must be between 1 and 100000")
        let two = SpecError(field: "/meta/iterations", message: "must be between 1 and 1000")
        #expect(
            ProblemDetails(.invalidSpec([one])).json().serializedString()
                == #"{"type":"/problems/invalid-spec","title":"The job spec is invalid","status":422,"detail":"/training/iterations: must be between 1 and 100000","errors":[{"field":"/training/iterations","message":"must be between 1 and 100000"}]}"#
        )
        #expect(
            ProblemDetails.invalidSpec([one, two]).detail
                == "/training/iterations: must be between 1 and 100000 (and 1 more error)")
        #expect(
            ProblemDetails.invalidSpec([one, two, two]).detail
                == "/training/iterations: must be between 1 and 100000 (and 2 more errors)")
        #expect(ProblemDetails.invalidSpec([]).detail == "the job spec is invalid")

        let csv = try #require(
            Self.failure { _ = try CSVDatasetParser.parse(Array("a,b,label\n1,2,0\n3,x,1\n".utf8), name: "bad.csv") }
                as DatasetParseError?)
        let dataset = ProblemDetails(.invalidDataset(csv, field: "/dataset/path"))
        #expect(
            dataset.status == 422 && dataset.slug == "invalid-dataset" && dataset.title == "The data set does not parse"
        )
        #expect(
            dataset.detail == csv.description
                && dataset.errors == [SpecError(field: "/dataset/path", message: csv.description)])
        #expect(dataset.extensions["line"] == JSONValue.number(Double(csv.line)))
        #expect(dataset.extensions["column"] == JSONValue.number(Double(csv.column)))

        let estimate = MemoryEstimate(
            bufferBytes: 3 << 30, modelBytes: 1 << 20, workspaceBytes: 1 << 20, dataBytes: 1 << 20)
        let memory = ProblemDetails(.overMemoryBudget(estimate, budget: 1 << 30))
        #expect(memory.status == 422 && memory.slug == "over-memory-budget")
        #expect(memory.title == "The job needs more memory than a job may use")
        #expect(memory.detail == "the job needs \(estimate.summary); the job memory budget is 1024 MiB")
        #expect(memory.errors.map(\.field) == ["/hyperparameters/momentum", "/training/iterations", "/model/hidden"])
        #expect(memory.extensions["estimated_bytes"] == JSONValue.number(Double(estimate.totalBytes)))
        #expect(memory.extensions["budget_bytes"] == JSONValue.number(Double(1 << 30)))
    }

    /// The error `body` throws, if it is an `E`.
    static func failure<E: Error>(_ body: () throws -> Void) -> E? {
        do { try body() } catch let error as E { return error } catch {}
        return nil
    }
}
