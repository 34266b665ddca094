import Foundation
import JSON
import RewindTestSupport
import Testing

/// The pages and plots, served and — where Chromium is installed, as in CI — rendered by a real
/// headless browser.
@Suite("Dashboard")
struct DashboardTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs headless Chromium with `arguments` and returns what it printed on stdout.
    static func browser(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(chromium))
        process.arguments =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                "--virtual-time-budget=10000",
            ] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    static func finishedJob(_ service: TestService, name: String = "dashboard") throws -> (String, APISession) {
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small(name: name))
        try session.waitForStatus(id, "succeeded")
        return (id, session)
    }

    @Test("every plot of a job is an SVG document, and an unknown plot is 404")
    func plots() throws {
        let service = try TestService()
        let (id, session) = try Self.finishedJob(service)
        for name in [
            "loss", "error", "learning_curve", "learning_rate", "momentum", "l2", "init_scale", "hypergradient_norm",
        ] {
            let response = try session.get("/v1/jobs/\(id)/plots/\(name).svg")
            #expect(response.status == 200, "\(name)")
            #expect(response.header("Content-Type")?.hasPrefix("image/svg+xml") == true)
            #expect(response.text.hasPrefix("<svg") && response.text.contains("</svg>"), "\(name)")
        }
        #expect(try session.get("/v1/jobs/\(id)/plots/training_data.svg").status == 404)  // no distillation
        #expect(try session.get("/v1/jobs/\(id)/plots/nope.svg").status == 404)
        #expect(try session.get("/v1/jobs/nope/plots/loss.svg").status == 404)
    }

    @Test("the pages list the job, escape its name and link its plots")
    func pages() throws {
        let service = try TestService()
        let (id, session) = try Self.finishedJob(service, name: "<script>alert(1)</script>")
        let index = try session.get("/")
        #expect(index.status == 200 && index.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(index.text.contains("/jobs/\(id)"))
        #expect(!index.text.contains("<script>alert(1)</script>"))
        let page = try session.get("/jobs/\(id)")
        #expect(page.text.contains("/v1/jobs/\(id)/plots/loss.svg"))
        #expect(!page.text.contains("<script>alert(1)</script>"))
        #expect(try session.get("/jobs/nope").status == 404)
    }

    @Test(
        "a headless browser loads every plot of the job page and renders the job list",
        .enabled(if: chromium != nil, "needs Debian's chromium (installed by .ci/run)"))
    func browser() throws {
        let service = try TestService()
        let (id, _) = try Self.finishedJob(service)
        let base = "http://127.0.0.1:\(service.port)"
        let dom = try Self.browser(["--dump-dom", "\(base)/jobs/\(id)"])
        // Set by the page once every <img> has loaded: the browser fetched and decoded the SVGs.
        #expect(dom.contains(#"data-plots-loaded="8""#), "\(dom.prefix(400))")
        #expect(dom.contains(#"data-plots-total="8""#))
        let list = try Self.browser(["--dump-dom", base + "/"])
        #expect(list.contains("/jobs/\(id)"))
        let screenshot = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-\(id).png")
        defer { try? FileManager.default.removeItem(at: screenshot) }
        _ = try Self.browser(["--window-size=1280,1800", "--screenshot=\(screenshot.path)", "\(base)/jobs/\(id)"])
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        // A blank page compresses to a few kilobytes; seven charts do not.
        #expect(png.count > 50_000)
    }
}

/// With API keys configured, browsers sign in once and get a cookie for the pages, their fetches
/// and the plot images.
@Suite("Dashboard sign-in")
struct DashboardSignInTests {
    static func service() throws -> TestService {
        var configuration = TestService.defaultAPIConfiguration
        configuration.apiKeys = ["s3cret key"]
        return try TestService(api: configuration, startsWorkers: false)
    }

    /// The sign-in form's body: the key and the CSRF token of the sign-in page.
    static func form(_ key: String, session: APISession) throws -> [UInt8] {
        let page = try session.get("/").text
        let start = try #require(page.range(of: "<meta name=\"csrf-token\" content=\""))
        let token = page[start.upperBound...].prefix { $0 != "\"" }
        return Array(
            "key=\(key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&csrf_token=\(token)".utf8)
    }

    @Test("a page without a key asks to sign in, and a wrong key is refused without a cookie")
    func refused() throws {
        let service = try Self.service()
        let session = APISession(service)
        let page = try session.get("/")
        #expect(page.status == 401)
        #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(page.text.contains("action=\"/login\""))
        let wrong = try session.request(
            "POST", "/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: try Self.form("guess", session: session))
        #expect(wrong.status == 401)
        #expect(wrong.header("Set-Cookie") == nil)
        try session.get("/v1/jobs", headers: [("Cookie", "rewind_key=guess")]).expectProblem(401)
    }

    @Test("the right key sets an HttpOnly, SameSite cookie that opens the pages, the API and the plots")
    func signedIn() throws {
        let service = try Self.service()
        let session = APISession(service)
        let login = try session.request(
            "POST", "/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: try Self.form("s3cret key", session: session))
        #expect(login.status == 303)
        #expect(login.header("Location") == "/")
        let cookie = try #require(login.header("Set-Cookie"))
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        let pair = String(cookie.split(separator: ";")[0])
        #expect(try session.get("/", headers: [("Cookie", pair)]).status == 200)
        #expect(try session.get("/v1/jobs", headers: [("Cookie", "other=1; " + pair)]).status == 200)
        let id = try APISession(service, apiKey: "s3cret key").submit(TestSpecs.small)
        #expect(try session.get("/jobs/\(id)", headers: [("Cookie", pair)]).status == 200)
        #expect(try session.get("/v1/jobs/\(id)/plots/loss.svg", headers: [("Cookie", pair)]).status == 200)
    }
}
