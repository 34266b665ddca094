import Dispatch
import Foundation
import JSON
import RewindTestSupport
import Synchronization
import Testing

/// How a node behaves while its database is away, with the real binary: PostgreSQL stopped and
/// started under it, a node started before PostgreSQL, SQLite on a small file system filled up.
///
/// The latency bounds are the acceptance of the feature (a 503 within 1 s once the database is
/// known down, that is unreachable for 2 s; readiness within 2 s of the database going and coming
/// back); what the service achieves is milliseconds past those 2 s, so the bounds hold on a
/// loaded machine.
@Suite("Database outages", .serialized)
struct DatabaseOutageTests {
    /// A timed request: its answer and how long it took.
    private func timed(
        _ body: () throws -> HTTPTestResponse
    ) rethrows -> (response: HTTPTestResponse, elapsed: Duration) {
        let started = ContinuousClock.now
        let response = try body()
        return (response, ContinuousClock.now - started)
    }

    /// How long after now `condition` first held, polling every 20 ms; nil if not within `timeout`.
    private func timeUntil(_ timeout: Duration, _ condition: () throws -> Bool) rethrows -> Duration? {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < timeout {
            if try condition() { return ContinuousClock.now - started }
            usleep(20_000)
        }
        return nil
    }

    /// A 503 that says the database is unavailable and when to come back.
    private func expectUnavailable(
        _ response: HTTPTestResponse, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == 503, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.header("Retry-After") != nil, sourceLocation: sourceLocation)
        #expect(
            response.json["detail"]?.stringValue?.contains("the database is unavailable") == true, "\(response.text)",
            sourceLocation: sourceLocation)
        #expect(!response.text.contains("refused the write"), sourceLocation: sourceLocation)
    }

    private func readiness(_ session: APISession) -> Int {
        (try? session.get("/readyz").status) ?? 0
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func postgresStoppedAnswers503AtOnceAndTheNodeIsReadyAgainWithin2sOfItsReturn() throws {
        let cluster = try PostgresCluster()
        let directory = try TemporaryDirectory(prefix: "rewind-pg-outage")
        let server = try ServerProcess(database: cluster.url(), logDirectory: directory.path)
        let session = APISession(port: server.port)
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded")
        #expect(readiness(session) == 200)

        cluster.stop()
        // No request needs the database meanwhile: the probe finds it gone.
        let notReady = try #require(timeUntil(.seconds(10)) { readiness(session) == 503 })
        #expect(notReady < .seconds(2), "/readyz turned 503 after \(notReady)")
        let ready = try session.get("/readyz")
        #expect(ready.json["checks"]?["database"]?.stringValue == "unavailable", "\(ready.text)")
        #expect(ready.header("Retry-After") != nil)
        // In the first 2 s after the node saw the outage a request keeps trying (a restart would
        // be over by then); after that the database is known down. The bound adds a back-off
        // step and room for a loaded machine to the 2 s.
        let first = try timed { try session.get("/v1/jobs/\(id)") }
        expectUnavailable(first.response)
        #expect(first.elapsed < .seconds(4), "first GET took \(first.elapsed)")

        // Known down: one request of each kind, then ten at once (more than the pool holds).
        let read = try timed { try session.get("/v1/jobs/\(id)") }
        expectUnavailable(read.response)
        #expect(read.elapsed < .seconds(1), "GET took \(read.elapsed)")
        let write = try timed { try session.post("/v1/jobs", json: TestSpecs.small) }
        expectUnavailable(write.response)
        #expect(write.elapsed < .seconds(1), "POST took \(write.elapsed)")
        let answers = Mutex<[(status: Int, retryAfter: String?, detail: String, elapsed: Duration)]>([])
        let started = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: 10) { index in
            let answer = try? timed {
                index.isMultiple(of: 2)
                    ? try session.get("/v1/jobs/\(id)") : try session.post("/v1/jobs", json: TestSpecs.small)
            }
            answers.withLock {
                $0.append(
                    (
                        answer?.response.status ?? 0, answer?.response.header("Retry-After"),
                        answer?.response.json["detail"]?.stringValue ?? "", answer?.elapsed ?? .seconds(99)
                    ))
            }
        }
        let all = ContinuousClock.now - started
        let ten = answers.withLock { $0 }
        #expect(ten.count == 10)
        for answer in ten {
            #expect(answer.status == 503 && answer.retryAfter != nil, "\(answer)")
            #expect(answer.detail.contains("the database is unavailable"), "\(answer)")
            #expect(answer.elapsed < .seconds(1), "\(answer)")
        }
        #expect(all < .seconds(1), "ten requests at once took \(all)")
        // The process is alive, and /metrics answers from memory.
        #expect(try session.get("/healthz").status == 200)
        let metrics = try timed { try session.get("/metrics") }
        #expect(metrics.response.status == 200)
        #expect(metrics.elapsed < .seconds(1), "/metrics took \(metrics.elapsed)")
        #expect(metrics.response.text.contains("rewind_database_up 0"), "\(metrics.response.text)")
        #expect(metrics.response.text.contains("rewind_database_last_good_query_seconds "))
        #expect(metrics.response.text.contains("rewind_database_pool_waiters 0"))

        try cluster.start()
        let back = try #require(timeUntil(.seconds(10)) { readiness(session) == 200 })
        #expect(back < .seconds(2), "/readyz turned 200 after \(back)")
        #expect(try session.get("/v1/jobs/\(id)").status == 200)
        #expect(try session.get("/metrics").text.contains("rewind_database_up 1"))
        try session.waitForStatus(try session.submit(TestSpecs.small), "succeeded")
        #expect(server.log.contains("the database is unavailable"), "log:\n\(server.log)")
        // Available at start, unavailable, available again.
        #expect(server.log.components(separatedBy: "the database is available").count == 3, "log:\n\(server.log)")
        server.kill(SIGTERM)
        #expect(server.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func workersStopClaimingWhilePostgresIsDownAndFinishEveryJobOnceAfterwards() throws {
        let reference = try ReferenceHistory.begin()
        let cluster = try PostgresCluster()
        let directory = try TemporaryDirectory(prefix: "rewind-pg-claims")
        let server = try ServerProcess(database: cluster.url(), logDirectory: directory.path)
        let session = APISession(port: server.port)
        let running = try session.submit(TestSpecs.recovery)
        let queued = try session.submit(TestSpecs.small)
        try session.waitForJob(running, timeout: .seconds(60), "2 committed items") {
            ($0["progress"]?["done"]?.intValue ?? 0) >= 2
        }
        cluster.stop(mode: "fast")
        // The very first request after the stop: its pooled connection is gone, new ones are
        // refused through the 2 s a restart is given, then it is told so.
        let first = try timed { try session.get("/v1/jobs/\(queued)") }
        expectUnavailable(first.response)
        #expect(first.elapsed < .seconds(4), "first GET took \(first.elapsed)")
        #expect(timeUntil(.seconds(10)) { readiness(session) == 503 } != nil)
        sleep(3)
        try cluster.start()
        #expect(timeUntil(.seconds(10)) { readiness(session) == 200 } != nil)
        // The running job paused and went on in the same attempt; the queued one was claimed
        // once the database was back. Neither was lost or run twice.
        let resumed = try session.waitForStatus(running, "succeeded", timeout: .seconds(90))
        #expect(resumed["attempt"]?.intValue == 1, "log:\n\(server.log)")
        try ProcessRecoveryTests().expectSameHistory(try session.history(running), try reference.finish())
        let second = try session.waitForStatus(queued, "succeeded", timeout: .seconds(60))
        #expect(second["attempt"]?.intValue == 1)
        #expect(try session.history(queued).count == 4)
        #expect(!server.log.contains("claim failed"), "log:\n\(server.log)")
        server.kill(SIGTERM)
        #expect(server.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func nodesStartedBeforePostgresWaitForItAndBecomeReady() throws {
        let cluster = try PostgresCluster()
        cluster.stop()
        let directory = try TemporaryDirectory(prefix: "rewind-pg-late")
        let api = try ServerProcess(
            database: cluster.url(), logDirectory: directory.path, arguments: ["--workers", "0"])
        let worker = try ServerProcess(database: cluster.url(), logDirectory: directory.path, command: "worker")
        let impatient = try ServerProcess(
            database: cluster.url(), logDirectory: directory.path, arguments: ["--database-wait", "1"])
        let session = APISession(port: api.port), health = APISession(port: worker.port)
        for node in [session, health] {
            #expect(try node.get("/healthz").status == 200)
            let ready = try node.get("/readyz")
            #expect(ready.status == 503 && ready.header("Retry-After") != nil, "\(ready.text)")
            #expect(ready.json["checks"]?["database"]?.stringValue == "unavailable", "\(ready.text)")
            #expect(try node.get("/metrics").text.contains("rewind_database_up 0"))
        }
        expectUnavailable(try session.get("/v1/jobs"))
        // Each attempt is logged; the one with a deadline gives up with exit 1, the others wait.
        #expect(
            eventually { api.log.components(separatedBy: "waiting for the database").count > 2 }, "log:\n\(api.log)")
        #expect(impatient.waitForExit(timeout: .seconds(20)) == .exited(1), "log:\n\(impatient.log)")
        #expect(impatient.log.contains("cannot open the database"), "log:\n\(impatient.log)")
        #expect(worker.waitForExit(timeout: .zero) == nil)

        try cluster.start()
        // The back-off is at most 5 s between attempts.
        for node in [session, health] {
            #expect(
                timeUntil(.seconds(15)) { readiness(node) == 200 } != nil,
                "api log:\n\(api.log)\nworker log:\n\(worker.log)")
        }
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded", timeout: .seconds(60))
        #expect(worker.log.contains("\"job started\""), "log:\n\(worker.log)")
        for node in [api, worker] {
            node.kill(SIGTERM)
            #expect(node.waitForExit(timeout: .seconds(25)) == .exited(0))
        }
    }

    @Test func aNodeWaitingForItsDatabaseStopsCleanlyOnSIGTERM() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-pg-never")
        // Nothing listens on port 1: the database stays unreachable.
        let node = try ServerProcess(
            database: "postgresql://rewind@127.0.0.1:1/rewind", logDirectory: directory.path, command: "worker")
        #expect(try APISession(port: node.port).get("/healthz").status == 200)
        #expect(eventually { node.log.contains("waiting for the database") })
        node.kill(SIGTERM)
        #expect(node.waitForExit(timeout: .seconds(10)) == .exited(0))
    }

    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func sqliteOnAFullDiskIsNotReadyUntilSpaceIsFreed() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-full-disk")
        let disk = directory.file("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: false)
        try #require(Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", disk]) == 0)
        defer { _ = Self.run("/bin/umount", ["-l", disk]) }
        // Logs elsewhere: only the database is on the small disk.
        let server = try ServerProcess(database: "\(disk)/rewind.sqlite", logDirectory: directory.path)
        defer {
            server.kill(SIGKILL)
            _ = server.waitForExit(timeout: .seconds(10))
        }
        let session = APISession(port: server.port)
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded")
        #expect(readiness(session) == 200)

        let filler = "\(disk)/filler"
        Self.fill(filler)
        let notReady = try #require(timeUntil(.seconds(10)) { readiness(session) == 503 }, "log:\n\(server.log)")
        #expect(notReady < .seconds(2), "/readyz turned 503 after \(notReady)")
        let ready = try session.get("/readyz")
        #expect(ready.json["checks"]?["database"]?.stringValue == "refusing writes", "\(ready.text)")
        // Reads need no space; a write is refused, saying why.
        #expect(try session.get("/v1/jobs/\(id)").status == 200)
        let refused = try session.post("/v1/jobs", json: TestSpecs.small)
        #expect(refused.status == 503 && refused.header("Retry-After") != nil, "\(refused.text)")
        #expect(refused.json["detail"]?.stringValue?.contains("accepts no writes") == true, "\(refused.text)")
        #expect(try session.get("/metrics").text.contains("rewind_database_up 0"))

        unlink(filler)
        let back = try #require(timeUntil(.seconds(10)) { readiness(session) == 200 }, "log:\n\(server.log)")
        #expect(back < .seconds(2), "/readyz turned 200 after \(back)")
        try session.waitForStatus(try session.submit(TestSpecs.small), "succeeded")
        server.kill(SIGTERM)
        #expect(server.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    /// Writes to `path` until the file system is full.
    private static func fill(_ path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0x5A, count: 4096)
        while chunk.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Runs a program to completion; its exit status.
    private static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
