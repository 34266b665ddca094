import JSON
import Testing

@testable import Dashboard

@Suite("Dashboard pages")
struct DashboardPagesTests {
    static let hostileName = "<script>alert(\"pwned\")</script>&<img src=x onerror=alert(1)>"
    /// 2025-03-01T12:00:00Z in Unix milliseconds.
    static let now: Int64 = 1_740_830_400_000

    func job(
        id: String = "job_1", name: String = "digits schedules", status: String = "running", error: JSONValue = nil
    ) -> JSONValue {
        [
            "id": .string(id), "name": .string(name), "status": .string(status),
            "created_at": "2025-03-01T11:57:00Z", "started_at": "2025-03-01T11:57:01.250Z", "finished_at": nil,
            "spec": SampleHistory.spec(hidden: [50, 50], iterations: 100),
            "progress": ["done": 12, "total": 51, "fraction": 0.2345],
            "latest": ["meta_iteration": 11, "training_loss": 0.41, "validation_loss": 0.52, "validation_error": 0.13],
            "best": ["meta_iteration": 9, "validation_loss": 0.5012, "validation_error": 0.12],
            "error": error,
        ]
    }

    @Test func theListLinksEachJobWithItsStatusProgressBestLossAndAge() {
        let html = DashboardPages.index(
            jobs: [job(), job(id: "job_2", name: "second", status: "succeeded")], nowMs: Self.now)
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains("<a href=\"/jobs/job_1\">digits schedules</a>"))
        #expect(html.contains("<a href=\"/jobs/job_2\">second</a>"))
        #expect(html.contains("class=\"badge badge-running\">running</span>"))
        #expect(html.contains("class=\"badge badge-succeeded\">succeeded</span>"))
        #expect(html.contains("<span class=\"w23\"></span>") && !html.contains("style="))  // no inline style
        #expect(DashboardAssets.named("rewind.css")?.body.contains(".bar>span.w23{width:23%}") == true)
        #expect(html.contains("12 / 51 · 23 %"))
        #expect(html.contains("0.5012 <small class=\"muted\">at 9</small>"))
        #expect(html.contains(">3 min ago</time>"))
        #expect(html.contains("id=\"jobs-body\""))
    }

    @Test func theListRefreshesItselfAndSubmitsSpecsAsJSON() {
        let html = DashboardPages.index(jobs: [], nowMs: Self.now)
        #expect(html.contains("No jobs yet"))
        #expect(html.contains("<form id=\"submit-form\">") && html.contains("<textarea id=\"spec\""))
        #expect(html.contains("<script src=\"/assets/index.js\"></script>"))
        let script = (DashboardAssets.named("index.js")?.body ?? "") + (DashboardAssets.named("common.js")?.body ?? "")
        #expect(script.contains("fetch('/v1/jobs', { method: 'POST'"))
        #expect(script.contains("fetch('/v1/jobs', { headers"))
        #expect(script.contains("setInterval(refresh, 5000)"))
        #expect(script.contains("problem.errors"))  // field + message of every bad field
        #expect(script.contains("X-CSRF-Token"))
    }

    @Test func aMaliciousJobNameIsEscapedEverywhere() {
        let index = DashboardPages.index(jobs: [job(name: Self.hostileName)], nowMs: Self.now)
        let page = DashboardPages.job(resource: job(name: Self.hostileName), plotNames: ["loss"])
        for html in [index, page] {
            #expect(!html.contains("<script>alert"))
            #expect(!html.contains("<img src=x"))
            #expect(
                html.contains(
                    "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&amp;&lt;img src=x onerror=alert(1)&gt;"))
        }
        #expect(page.contains("<title>Rewind · &lt;script&gt;"))
    }

    @Test func idsStayInsideTheirPathSegment() {
        let page = DashboardPages.job(resource: job(id: "a/../b\"c"), plotNames: ["loss"])
        #expect(page.contains("src=\"/v1/jobs/a%2F..%2Fb%22c/plots/loss.svg\""))
        #expect(page.contains("data-job-id=\"a/../b&quot;c\""))
    }

    @Test func theJobPageShowsPlotsNumbersLinksAndACancelButtonWhileRunning() {
        let names = JobPlots.names(for: SampleHistory.spec(hidden: [50, 50], iterations: 100))
        let html = DashboardPages.job(resource: job(), plotNames: names)
        for name in names {
            #expect(html.contains("<img src=\"/v1/jobs/job_1/plots/\(name).svg\""))
        }
        #expect(html.contains("href=\"/v1/jobs/job_1/history\"") && html.contains("href=\"/v1/jobs/job_1/result\""))
        #expect(html.contains("action=\"/v1/jobs/job_1/cancel\""))
        #expect(html.contains("id=\"progress-bar\"") && html.contains("12 / 51 · 23 %"))
        #expect(html.contains("id=\"latest-validation-loss\">0.5200<"))
        #expect(html.contains("id=\"latest-validation-error\">13.0 %<"))
        #expect(html.contains("id=\"latest-meta\">11<"))
        #expect(html.contains("2025-03-01 11:57:01 UTC"))
        #expect(html.contains("&quot;dataset&quot;: {"))  // the spec, indented for reading
    }

    @Test func theJobPageShowsTheBestItemsTestLossAndAnEarlyStop() {
        guard case .object(var resource) = job(status: "succeeded") else { return }
        resource["best"] = [
            "meta_iteration": 9, "validation_loss": 0.5012, "validation_error": 0.12, "test_loss": 0.5311,
        ]
        resource["stopped_early"] = true
        let html = DashboardPages.job(resource: .object(resource), plotNames: ["loss"])
        #expect(html.contains("id=\"best-test-loss\">0.5311<"))
        #expect(html.contains("stopped early (meta.patience)"))
        let plain = DashboardPages.job(resource: job(), plotNames: ["loss"])
        #expect(!plain.contains("stopped early"))
    }

    @Test func aRunningJobFollowsTheEventStreamWithAPollingFallback() {
        let html = DashboardPages.job(resource: job(status: "queued"), plotNames: ["loss"])
        #expect(html.contains("<script src=\"/assets/live.js\"></script>"))
        let script = DashboardAssets.named("live.js")?.body ?? ""
        #expect(script.contains("new EventSource(base + '/events')"))
        for event in ["'progress'", "'meta_iteration'", "'status'"] {
            #expect(script.contains("source.addEventListener(\(event)"))
        }
        #expect(script.contains("setInterval(refreshJob, 3000)"))
        #expect(script.contains("'?v='"))  // plots reload with a cache-busting query
    }

    @Test func aFinishedJobHasNoCancelButtonAndNoLiveScriptButShowsItsError() {
        let html = DashboardPages.job(
            resource: job(status: "failed", error: ["code": "diverged", "message": "weights left the range <2^11>"]),
            plotNames: ["loss"])
        #expect(!html.contains("cancel-form") && !html.contains("live.js"))
        #expect(html.contains("<strong>diverged</strong> weights left the range &lt;2^11&gt;"))
        #expect(html.contains("class=\"badge badge-failed\""))
    }

    @Test func pagesLoadNothingFromOutsideRewind() {
        let pages = [
            DashboardPages.index(jobs: [job()], nowMs: Self.now),
            DashboardPages.job(resource: job(), plotNames: ["loss"]),
        ]
        for html in pages {
            #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"))
            // Scripts and styles come from /assets only, and no script is inline (CSP forbids it).
            #expect(!html.contains("<script>") && !html.contains("<style>") && !html.contains("@import"))
            #expect(html.components(separatedBy: "<script src=\"").dropFirst().allSatisfy { $0.hasPrefix("/assets/") })
            #expect(html.contains("<link rel=\"stylesheet\" href=\"/assets/rewind.css\">"))
            #expect(html.contains("<meta charset=\"utf-8\">"))
        }
    }

    @Test func anUnknownStatusStillGetsANeutralBadge() {
        let html = DashboardPages.index(jobs: [job(status: "paused\"><b>")], nowMs: Self.now)
        #expect(html.contains("class=\"badge badge-unknown\">paused&quot;&gt;&lt;b&gt;</span>"))
    }
}

@Suite("Timestamps and text")
struct TimestampTests {
    @Test func parsesRFC3339InUTCAndWithOffsets() {
        #expect(Timestamp.milliseconds("1970-01-01T00:00:00Z") == 0)
        #expect(Timestamp.milliseconds("2025-03-01T12:00:00Z") == DashboardPagesTests.now)
        #expect(Timestamp.milliseconds("2024-02-29T23:59:59.5Z") == 1_709_251_199_500)
        #expect(Timestamp.milliseconds("2025-03-01T13:30:00+01:30") == DashboardPagesTests.now)
        #expect(Timestamp.milliseconds("1969-12-31T23:59:59.999Z") == -1)
    }

    @Test(arguments: [
        "", "2025-03-01", "2025-13-01T00:00:00Z", "2025-03-01T12:00:00", "2025-03-01T12:00:00Zjunk",
        "yyyy-03-01T12:00:00Z",
    ])
    func rejectsWhatIsNotATimestamp(text: String) {
        #expect(Timestamp.milliseconds(text) == nil)
    }

    @Test func agesReadLikeAPersonWouldSayThem() {
        let now: Int64 = 10_000_000_000
        #expect(Timestamp.age(fromMs: now - 1_000, toMs: now) == "just now")
        #expect(Timestamp.age(fromMs: now + 5_000, toMs: now) == "just now")  // a clock slightly ahead
        #expect(Timestamp.age(fromMs: now - 42_000, toMs: now) == "42 s ago")
        #expect(Timestamp.age(fromMs: now - 3 * 60_000 - 59_000, toMs: now) == "3 min ago")
        #expect(Timestamp.age(fromMs: now - 5 * 3_600_000, toMs: now) == "5 h ago")
        #expect(Timestamp.age(fromMs: now - 2 * 86_400_000, toMs: now) == "2 d ago")
    }

    @Test func numbersAreSpelledForReading() {
        #expect(Markup.significant(0.41) == "0.4100")
        #expect(Markup.significant(12.345_67) == "12.35")
        #expect(Markup.significant(3.2e-5) == "3.2e-5")
        #expect(Markup.significant(nil) == "–")
        #expect(Markup.compact(0.005460) == "0.00546")
        #expect(Markup.compact(1.5) == "1.5")
        #expect(Markup.percent(0.13) == "13.0 %")
        #expect(Markup.scientific(123_456) == "1.23e5")
        #expect(Markup.integer(20) == "20")
    }

    @Test func prettyJSONReadsBackAsTheSameValue() throws {
        let spec = SampleHistory.spec(hidden: [50, 50], iterations: 100)
        let text = PrettyJSON.format(spec)
        #expect(text.contains("\n  \"dataset\": {\n"))
        #expect(text.contains("\"hidden\": [50, 50]"))
        #expect(try JSONValue.parse(text) == spec)
    }
}
