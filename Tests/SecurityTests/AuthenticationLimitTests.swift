import Foundation
import RewindTestSupport
import Synchronization
import Testing

@testable import API

/// Issue 10, points 10 and 11: secure defaults at start, and rate limits on guessing keys and
/// on submissions.
@Suite("Security: authentication limits", .serialized)
struct AuthenticationLimitTests {
    // MARK: 10. Secure defaults

    @Test func aKeyListThatIsBlankAfterTrimmingIsAnErrorAtStart() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-security-keys")
        let database = directory.file("rewind.sqlite")
        #expect(throws: ServerProcessError.self) {
            _ = try ServerProcess(database: database, environment: ["REWIND_API_KEYS": " , "], timeout: .seconds(30))
        }
        // The same service with a real key starts and requires it.
        let server = try ServerProcess(database: database, environment: ["REWIND_API_KEYS": " key1 , "])
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)) }
        #expect(try SecuritySession(port: server.port).get("/v1/jobs").status == 401)
        #expect(try SecuritySession(port: server.port, apiKey: "key1").get("/v1/jobs").status == 200)
    }

    // MARK: 11. Rate limits

    @Test func fiveHundredWrongKeysAreCutOffAfterTheBurstEvenForTheRightKey() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.apiKeys = ["right-key"]
        let service = try TestService(api: configuration, startsWorkers: false)
        defer { service.stop() }

        let statuses = Mutex<[Int: Int]>([:])
        let port = service.port
        DispatchQueue.concurrentPerform(iterations: 10) { thread in
            for attempt in 0..<50 {
                let status =
                    (try? SecuritySession(port: port, apiKey: "guess-\(thread)-\(attempt)").get("/v1/jobs").status)
                    ?? -1
                statuses.withLock { $0[status, default: 0] += 1 }
            }
        }
        let counts = statuses.withLock { $0 }
        #expect(counts[401, default: 0] <= Int(configuration.authFailureBurst) + 2, "\(counts)")
        #expect(counts[429, default: 0] >= 480, "\(counts)")
        let limited = try SecuritySession(port: service.port, apiKey: "right-key").get("/v1/jobs")
        #expect(limited.status == 429)
        #expect(Int(limited.header("Retry-After") ?? "") ?? 0 >= 1)
        // Another address is not punished for this one's guesses.
        let other = try HTTPTestClient(port: service.port, source: "127.0.0.2")
        #expect(try other.request("GET", "/v1/jobs", headers: [("Authorization", "Bearer right-key")]).status == 200)
        // The sign-in form shares the bucket.
        let form = try SecuritySession(port: service.port).request(
            "POST", "/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: Array("key=right-key&csrf_token=\(service.api.csrfToken(for: .open))".utf8))
        #expect(form.status == 429)
    }

    @Test func submissionsPastTheBurstGet429WithRetryAfter() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.submissionBurst = 3
        configuration.submissionsPerSecond = 0.05
        let service = try TestService(api: configuration, startsWorkers: false)
        defer { service.stop() }
        let session = SecuritySession(port: service.port)
        for index in 0..<3 { _ = try session.submit(SecuritySpecs.small(name: "burst \(index)")) }
        let limited = try session.postJSON("/v1/jobs", SecuritySpecs.small(name: "one too many"))
        #expect(limited.status == 429 && limited.slug == "rate-limited")
        #expect(Int(limited.header("Retry-After") ?? "") ?? 0 >= 1)
        #expect(try session.get("/v1/jobs").json["jobs"]?.arrayValue?.count == 3)
    }

    @Test func aTokenBucketRefillsAtItsRateAndBoundsItsKeys() {
        let clock = Mutex<UInt64>(0)
        let limiter = RateLimiter(burst: 2, perSecond: 1, maxKeys: 3) { clock.withLock { $0 } }
        #expect(limiter.take("a") == nil && limiter.take("a") == nil)
        #expect(limiter.take("a") == 1)
        clock.withLock { $0 += 500_000_000 }
        #expect(limiter.take("a") == 1)  // half a token: still a second's wait, rounded up
        clock.withLock { $0 += 500_000_000 }
        #expect(limiter.take("a") == nil)
        for key in ["b", "c", "d", "e"] { #expect(limiter.take(key) == nil) }
    }
}
