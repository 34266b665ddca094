import Foundation
import RewindTestSupport
import Testing

/// The dashboard in a real browser: `Tests/Browser/dashboard_flows.py` drives Debian's Chromium
/// through Playwright for Python against the real `rewind serve`, with keys and without, and
/// submits every form and clicks every button (sign-in, spec, upload, cancel, retry, delete,
/// compare, sign-out), checking each outcome through the API.
///
/// Without Playwright or Chromium the test is skipped with a message, except under `CI=true`,
/// where a missing browser is a failure: CI installs both, so a skip there would hide a broken
/// dashboard.
@Suite("The dashboard in a real browser")
struct DashboardBrowserFlowTests {
    static let script = "\(LearnedScheduleTests.repository)/Tests/Browser/dashboard_flows.py"
    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Why the browser flows cannot run here; nil when Playwright and Chromium are both present.
    static let missing: String? = {
        guard DashboardTests.chromium != nil else { return "no Chromium (apt-get install chromium)" }
        let probe = try? CommandLineRun.run("python3", ["-c", "import playwright.sync_api"], timeout: .seconds(60))
        return probe?.status == 0 ? nil : "no Playwright for Python (pip install playwright)"
    }()

    @Test(
        "every form and button of the dashboard works in Chromium",
        .enabled(
            if: missing == nil || inCI, "needs Playwright for Python and Debian's chromium (installed by .ci/run)"),
        arguments: [false, true])
    func flows(withKeys: Bool) throws {
        if let missing = Self.missing { Issue.record("CI=true but the browser flows cannot run: \(missing)"); return }
        let directory = try TemporaryDirectory(prefix: "rewind-browser")
        let key = "browser-flow-key"
        let server = try ServerProcess(
            database: directory.file("rewind.sqlite"), environment: withKeys ? ["REWIND_API_KEYS": key] : [:])
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)) }
        let run = try CommandLineRun.run(
            "python3",
            [
                Self.script, "--url", "http://127.0.0.1:\(server.port)", "--chromium",
                DashboardTests.chromium ?? "/usr/bin/chromium",
            ]
                + (withKeys ? ["--key", key] : []),
            environment: ["PYTHONDONTWRITEBYTECODE": "1"], timeout: .seconds(400))
        #expect(
            run.status == 0, "dashboard flows failed (keys \(withKeys ? "on" : "off")):\n\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("all dashboard flows passed"), "\(run.stdout)")
    }
}
