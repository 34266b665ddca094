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

    @Test func theComparePageOverlaysTheChosenJobsAndTabulatesTheirBestItems() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let first = try session.submit(TestSpecs.small(name: "first run"))
        let second = try session.submit(TestSpecs.small(name: "second run"))
        try session.waitForStatus(first, "succeeded")
        try session.waitForStatus(second, "succeeded")

        let page = try session.get("/compare?jobs=\(first)&jobs=\(second),nope")
        #expect(page.status == 200 && page.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(page.text.contains("first run") && page.text.contains("second run") && page.text.contains("Best items"))
        #expect(page.text.contains("There is no job nope."))
        // Two overlays (loss and error), each with one line per job.
        #expect(page.text.components(separatedBy: "<polyline").count - 1 == 4)
        #expect(page.text.components(separatedBy: "type=\"checkbox\"").count - 1 == 2)
        #expect(page.text.contains("value=\"\(first)\" checked"))

        let chooser = try session.get("/compare")
        #expect(chooser.status == 200 && !chooser.text.contains("Best items"))
    }

    @Test func theDataSetsPageListsAndUploadsThroughAPlainForm() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let list = try session.get("/datasets")
        #expect(
            list.status == 200 && list.text.contains("digits") && list.text.contains("enctype=\"multipart/form-data\""))

        let form = DatasetUploadTests.form([("name", nil, []), ("file", "blobs.csv", DatasetTests.csv)])
        let uploaded = try session.request(
            "POST", "/datasets", headers: [("Content-Type", "multipart/form-data; boundary=XyZ123")], body: form)
        #expect(uploaded.status == 303, "\(uploaded.text)")
        let location = try #require(uploaded.header("Location"))
        #expect(location.hasPrefix("/datasets?uploaded="))
        let after = try session.get(location)
        #expect(after.text.contains("Uploaded blobs: 30 rows × 2 features, 3 classes."))
        #expect(after.text.contains("{&quot;dataset&quot;: {&quot;name&quot;: &quot;blobs&quot;}}"))

        let shifted = Array("0.1,1\n0.2,2\n".utf8)
        let refused = try session.request(
            "POST", "/datasets", headers: [("Content-Type", "multipart/form-data; boundary=XyZ123")],
            body: DatasetUploadTests.form([("file", "shifted.csv", shifted)]))
        #expect(refused.status == 422 && refused.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(refused.text.contains("id=\"upload-error\"") && refused.text.contains("class 0 has no rows"))
    }

    @Test func theJobListShowsEachJobsDataSetAndWhyAFailedJobFailed() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(PartialResultTests.diverging)
        let job = try session.waitForStatus(id, "failed")
        let message = try #require(job["error"]?["message"]?.stringValue)
        let list = try session.get("/")
        let row = try #require(list.text.components(separatedBy: "<tr").first { $0.contains("data-id=\"\(id)\"") })
        #expect(row.contains("data set digits"))
        #expect(row.contains("job-error") && row.contains(String(message.prefix(30))), "\(row)")
    }

    @Test(
        "a headless browser renders the compare page's charts and the data sets page's form",
        .enabled(if: DashboardTests.chromium != nil, "needs Debian's chromium (installed by .ci/run)"))
    func browser() throws {
        let service = try TestService()
        defer { service.stop() }
        let (first, _) = try DashboardTests.finishedJob(service, name: "browser one")
        let (second, _) = try DashboardTests.finishedJob(service, name: "browser two")
        let base = "http://127.0.0.1:\(service.port)"
        let compare = try DashboardTests.browser(["--dump-dom", "\(base)/compare?jobs=\(first)&jobs=\(second)"])
        #expect(compare.contains("browser one") && compare.contains("browser two"), "\(compare.prefix(400))")
        #expect(compare.components(separatedBy: "<polyline").count - 1 == 4)
        let datasets = try DashboardTests.browser(["--dump-dom", "\(base)/datasets"])
        #expect(datasets.contains("type=\"file\"") && datasets.contains("digits"))
    }
}
