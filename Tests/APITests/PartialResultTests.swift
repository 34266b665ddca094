import JSON
import RewindTestSupport
import Testing

/// `GET /v1/jobs/{id}/result` for jobs that did not succeed: what they learned survives stopping.
@Suite("Partial results")
struct PartialResultTests {
    /// Plain SGD with a meta step this large throws the hyperparameters far off after item 0: the
    /// job fails in item 1 with one item written.
    static let diverging =
        #"{"name":"diverges","dataset":{"name":"digits"},"split":{"train":200,"validation":100},"#
        + #""model":{"hidden":[8]},"training":{"iterations":20,"batch_size":20},"#
        + #""hyperparameters":{"learning_rate":{"init":2.0}},"meta":{"iterations":5,"optimizer":"sgd","step_size":100,"guard":false}}"#

    @Test func aCancelledJobWithHistoryAnswersItsBestSoFarMarkedPartial() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.endless)
        try session.waitForJob(id, "two items") { ($0["progress"]?["done"]?.intValue ?? 0) >= 2 }
        #expect(try session.post("/v1/jobs/\(id)/cancel", json: "").status == 202)
        let job = try session.waitForStatus(id, "cancelled", timeout: .seconds(10))
        let done = try #require(job["progress"]?["done"]?.intValue)

        let result = try session.get("/v1/jobs/\(id)/result")
        #expect(result.status == 200, "\(result.text)")
        #expect(result.json["partial"]?.boolValue == true)
        #expect(result.json["final"]?["meta_iteration"]?.intValue == done - 1)
        #expect(result.json["best"]?["meta_iteration"] == job["best"]?["meta_iteration"])
        let history = try session.history(id)
        let bestLoss = history.compactMap { $0["validation_loss"]?.doubleValue }.min()
        #expect(result.json["best"]?["validation_loss"]?.doubleValue == bestLoss)
    }

    @Test func aSucceededJobsResultIsNotPartial() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded")
        let result = try session.get("/v1/jobs/\(id)/result")
        #expect(result.status == 200)
        #expect(result.json["partial"]?.boolValue == false)
        #expect(result.json["final"]?["meta_iteration"]?.intValue == 3)
    }

    @Test func aJobCancelledBeforeAnyHistoryHasNoResult() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        #expect(try session.post("/v1/jobs/\(id)/cancel", json: "").status == 202)
        let answer = try session.get("/v1/jobs/\(id)/result")
        answer.expectProblem(409)
        #expect(answer.json["detail"]?.stringValue?.contains("no result") == true)
    }

    @Test func aFailedJobWithHistoryAnswersItsBestSoFar() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(Self.diverging)
        let job = try session.waitForJob(id, "an end") {
            ["succeeded", "failed", "cancelled"].contains($0["status"]?.stringValue ?? "")
        }
        try #require(job["status"]?.stringValue == "failed", "the spec was meant to diverge: \(job.serializedString())")
        // Item 0 trains with the initial rates; the step after it leaves the fixed-point range.
        #expect(job["progress"]?["done"]?.intValue == 1)
        let result = try session.get("/v1/jobs/\(id)/result")
        #expect(result.status == 200, "\(result.text)")
        #expect(result.json["partial"]?.boolValue == true)
        #expect(result.json["final"]?["meta_iteration"]?.intValue == 0)
        #expect(result.json["best"]?["meta_iteration"]?.intValue == 0)
    }
}
