import JSON
import RewindTestSupport
import Storage
import Testing

/// Cancel and delete: which states allow them and what is left afterwards.
@Suite("Cancelling and deleting jobs")
struct JobCancelDeleteTests {
    @Test func cancellingAQueuedJobEndsItAtOnceAndRepeatingTheCancelIsAccepted() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)

        let cancel = try session.post("/v1/jobs/\(id)/cancel", json: "")
        #expect(cancel.status == 202)
        #expect(cancel.json["status"]?.stringValue == "cancelled")
        #expect(try session.job(id)["status"]?.stringValue == "cancelled")
        #expect(try session.job(id)["finished_at"]?.stringValue != nil)

        let again = try session.post("/v1/jobs/\(id)/cancel", json: "")
        #expect(again.status == 202)
        #expect(again.json["status"]?.stringValue == "cancelled")

        try session.post("/v1/jobs/no-such-job/cancel", json: "").expectProblem(404)
    }

    @Test func cancellingARunningJobStopsItPromptlyAndKeepsItsHistory() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.endless)
        try session.waitForJob(id, "running with one item") {
            $0["status"]?.stringValue == "running" && ($0["progress"]?["done"]?.intValue ?? 0) >= 1
        }

        let cancel = try session.post("/v1/jobs/\(id)/cancel", json: "")
        #expect(cancel.status == 202)
        // One inner step is milliseconds; the deadline only bounds a failure.
        let job = try session.waitForStatus(id, "cancelled", timeout: .seconds(5))
        #expect(job["finished_at"]?.stringValue != nil)
        let done = try #require(job["progress"]?["done"]?.intValue)
        #expect(done >= 1)
        #expect(try session.history(id).count == done)
        #expect(try session.post("/v1/jobs/\(id)/cancel", json: "").status == 202)
        #expect(try session.job(id)["status"]?.stringValue == "cancelled")
    }

    @Test func cancellingASucceededJobIsAConflict() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded")

        try session.post("/v1/jobs/\(id)/cancel", json: "").expectProblem(409)
        #expect(try session.job(id)["status"]?.stringValue == "succeeded")
    }

    @Test func deletingIsRefusedWhileQueuedAndRemovesATerminalJobWithItsHistory() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)

        try session.delete("/v1/jobs/\(id)").expectProblem(409)
        #expect(try session.job(id)["status"]?.stringValue == "queued")

        #expect(try session.post("/v1/jobs/\(id)/cancel", json: "").status == 202)
        let deleted = try session.delete("/v1/jobs/\(id)")
        #expect(deleted.status == 204)
        #expect(deleted.body.isEmpty)

        try session.get("/v1/jobs/\(id)").expectProblem(404)
        try session.get("/v1/jobs/\(id)/history").expectProblem(404)
        try session.delete("/v1/jobs/\(id)").expectProblem(404)
    }

    @Test func deletingASucceededJobDeletesItsHistoryRows() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded")
        #expect(try service.store.history(jobID: id, limit: 100).count == 4)

        #expect(try session.delete("/v1/jobs/\(id)").status == 204)
        #expect(try service.store.history(jobID: id, limit: 100).isEmpty)
        #expect(try service.store.job(id: id) == nil)
        #expect(try session.get("/v1/jobs").json["jobs"]?.arrayValue?.isEmpty == true)
    }

    @Test func deletingARunningJobIsAConflict() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.endless)
        try session.waitForStatus(id, "running")

        try session.delete("/v1/jobs/\(id)").expectProblem(409)
        #expect(try session.post("/v1/jobs/\(id)/cancel", json: "").status == 202)
        try session.waitForStatus(id, "cancelled", timeout: .seconds(5))
        #expect(try session.delete("/v1/jobs/\(id)").status == 204)
    }
}
