import JSON
import Testing

@testable import Tuning

/// A submission is parsed once into a typed spec; what the job stores is its canonical form, and a
/// worker decoding that form gets the same spec and the same run.
@Suite("Job submissions")
struct JobSubmissionTests {
    /// Resolves one "uploaded" data set (the digits, under an upload's id) besides the built-ins.
    struct OneUpload: DatasetResolver {
        let id: String
        func dataset(_ reference: DatasetReference) -> Dataset? {
            if case .uploaded(let wanted) = reference { return wanted == id ? BuiltinDatasets.digits : nil }
            return BuiltinDatasetResolver().dataset(reference)
        }
    }

    static let body =
        #"{"dataset": {"name": "blobs"}, "split": {"train": 100, "validation": 50}, "model": {"hidden": [4]}, "training": {"iterations": 3, "batch_size": 10}, "meta": {"iterations": 1}}"#

    @Test func anUploadNamedByNameIsStoredByIdAndTheWorkerDecodesTheSameSpec() throws {
        let upload = UploadedDatasetName(id: "01ab-upload", name: "blobs")
        let value = try JSONValue.parse(Array(Self.body.utf8))
        let submission = try JobRequest.prepare(specJSON: value, upload: upload, datasets: OneUpload(id: upload.id))
            .get()
        #expect(submission.dataset == ResolvedDataset(reference: .uploaded(id: "01ab-upload"), writtenName: "blobs"))
        #expect(submission.dataset.uploadID == "01ab-upload")
        #expect(submission.spec.name == "blobs schedules")
        let canonical = try JSONValue.parse(Array(submission.canonicalSpec.utf8))
        #expect(canonical["dataset"]?["id"]?.stringValue == "01ab-upload" && canonical["dataset"]?["name"] == nil)

        let decoded = try JobRequest.decode(canonicalSpec: submission.canonicalSpec, datasets: OneUpload(id: upload.id))
            .get()
        #expect(decoded.spec == submission.spec)
        #expect(decoded.totalItems == submission.run.totalItems)
    }

    @Test func withoutTheCallersUploadTheNameIsUnknownAndAnIdIsNotFound() throws {
        let value = try JSONValue.parse(Array(Self.body.utf8))
        guard
            case .failure(.invalidSpec(let errors)) = JobRequest.prepare(specJSON: value, datasets: OneUpload(id: "x"))
        else {
            Issue.record("an unknown name was accepted"); return
        }
        #expect(errors.map(\.field) == ["/dataset/name"])
        let byID = try JSONValue.parse(
            Array(Self.body.replacingOccurrences(of: #"{"name": "blobs"}"#, with: #"{"id": "01ab-other"}"#).utf8))
        guard case .failure(let error) = JobRequest.prepare(specJSON: byID, datasets: OneUpload(id: "x")) else {
            Issue.record("a missing id was accepted"); return
        }
        #expect(error == .invalidSpec([SpecError(field: "/dataset/id", message: "no such data set: 01ab-other")]))
        // A built-in keeps its own reference, and no upload id.
        let builtin = try JSONValue.parse(Array(Self.body.replacingOccurrences(of: "blobs", with: "digits").utf8))
        let run = try JobRequest.prepare(specJSON: builtin, datasets: BuiltinDatasetResolver()).get()
        #expect(run.dataset == ResolvedDataset(reference: .builtin("digits")) && run.dataset.uploadID == nil)
    }
}
