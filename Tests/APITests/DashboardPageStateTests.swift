import Foundation
import JSON
import RewindTestSupport
import Testing

/// Dashboard pages for the states a first hour runs into: an unknown job, a job that ended early.
@Suite("Dashboard pages for missing and stopped jobs")
struct DashboardPageStateTests {
    @Test func anUnknownJobPageIsAnHTML404WithAWayBack() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let page = try APISession(service).get("/jobs/no-such-job")
        #expect(page.status == 404)
        #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(page.text.contains("There is no job no-such-job.") && page.text.contains("href=\"/\""))
    }

    @Test func aJobThatEndedWithoutHistorySaysSoInsteadOfEmptyPlots() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        #expect(try session.post("/v1/jobs/\(id)/cancel", json: "").status == 202)
        let page = try session.get("/jobs/\(id)")
        #expect(page.status == 200)
        #expect(page.text.contains("id=\"no-history\""))
        #expect(!page.text.contains("/plots/loss.svg"))
        #expect(!page.text.contains("/v1/jobs/\(id)/result\""), "no link to a result that answers 409")
    }

    @Test func aFinishedJobWithHistoryLinksItsResult() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded")
        let page = try session.get("/jobs/\(id)")
        #expect(page.text.contains("/v1/jobs/\(id)/result\"") && page.text.contains("/plots/loss.svg"))
        #expect(!page.text.contains("no-history"))
    }
}
