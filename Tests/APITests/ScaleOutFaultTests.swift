import Foundation
import JSON
import RewindTestSupport
import Storage
import Testing

/// The faults that several processes or nodes on one database would turn into outages, each
/// reproduced with the real `rewind serve` binary.
@Suite("Faults of several processes on one database", .serialized)
struct ScaleOutFaultTests {
    /// Waits until the job has committed at least `items` history items.
    @discardableResult
    private func waitForProgress(_ session: APISession, _ id: String, _ items: Int) throws -> JSONValue {
        try session.waitForJob(id, timeout: .seconds(60), "\(items) committed items") {
            ($0["progress"]?["done"]?.intValue ?? 0) >= items
        }
    }

    /// A fresh database of `engine` for real processes: a file, or a database in the test
    /// cluster (dropped by the returned cleanup).
    private func database(
        _ engine: StoreEngine, _ directory: TemporaryDirectory
    ) throws -> (url: String, logs: String?, drop: () -> Void) {
        switch engine {
        case .sqlite:
            return (directory.file("rewind.sqlite"), nil, {})
        case .postgresql:
            let cluster = try #require(PostgresCluster.shared)
            let name = try cluster.createDatabase()
            return (cluster.url(database: name), directory.path, { cluster.dropDatabase(name) })
        }
    }

    @Test(arguments: StoreEngineChoice.engines)
    func aSecondServerRestartedThreeTimesLeavesTheFirstServersLiveJobAlone(_ engine: StoreEngine) throws {
        let directory = try TemporaryDirectory(prefix: "rewind-two")
        let (database, logs, drop) = try self.database(engine, directory)
        defer { drop() }
        let first = try ServerProcess(database: database, logDirectory: logs, arguments: ["--node-id", "node-a"])
        let session = APISession(port: first.port)
        let id = try session.submit(TestSpecs.recovery)
        try waitForProgress(session, id, 1)
        for round in 1...3 {
            let second = try ServerProcess(database: database, logDirectory: logs, arguments: ["--node-id", "node-b"])
            let job = try APISession(port: second.port).job(id)
            #expect(job["status"]?.stringValue != "failed", "round \(round): \(job.serializedString())")
            second.kill(SIGTERM)
            #expect(second.waitForExit(timeout: .seconds(25)) == .exited(0), "log:\n\(second.log)")
            #expect(!second.log.contains("job recovered"), "round \(round):\n\(second.log)")
        }
        let done = try session.waitForStatus(id, "succeeded", timeout: .seconds(90))
        // Claimed once, by the first server, and never taken from it.
        #expect(done["attempt"]?.intValue == 1, "\(done.serializedString())")
        #expect(!first.log.contains("lease lost"), "log:\n\(first.log)")
        first.kill(SIGTERM)
        #expect(first.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    @Test(arguments: StoreEngineChoice.engines)
    func threeKillsWhileTheJobProgressesDoNotSpendItsAttempts(_ engine: StoreEngine) throws {
        let reference = try ReferenceHistory.begin()
        let directory = try TemporaryDirectory(prefix: "rewind-kills")
        let (database, logs, drop) = try self.database(engine, directory)
        defer { drop() }
        // The same node restarted: it takes back its earlier boot's job at once.
        let node = ["--node-id", "restarted-node"]
        var server = try ServerProcess(database: database, logDirectory: logs, arguments: node)
        let id = try APISession(port: server.port).submit(TestSpecs.recovery)
        var done = 0
        for _ in 1...3 {
            // Kill only after a commit this process made: each attempt made progress.
            let job = try waitForProgress(APISession(port: server.port), id, done + 1)
            done = job["progress"]?["done"]?.intValue ?? done + 1
            server.kill(SIGKILL)
            _ = server.waitForExit(timeout: .seconds(10))
            server = try ServerProcess(database: database, logDirectory: logs, arguments: node)
        }
        let session = APISession(port: server.port)
        let job = try session.waitForStatus(id, "succeeded", timeout: .seconds(90))
        // Three lost attempts, each with progress, all given back: the last claim is attempt 1.
        #expect(job["attempt"]?.intValue == 1, "\(job.serializedString())")
        try ProcessRecoveryTests().expectSameHistory(try session.history(id), try reference.finish())
        server.kill(SIGTERM)
        #expect(server.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    @Test func aKilledNodesJobIsResumedByAnotherNodeOnceItsConfiguredLeaseExpires() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-lease")
        let database = directory.file("rewind.sqlite")
        let periods = ["--lease-duration", "2", "--heartbeat-interval", "0.1", "--reaper-interval", "0.2"]
        let first = try ServerProcess(database: database, arguments: ["--node-id", "node-a"] + periods)
        let id = try APISession(port: first.port).submit(TestSpecs.recovery)
        try waitForProgress(APISession(port: first.port), id, 1)
        first.kill(SIGKILL)
        _ = first.waitForExit(timeout: .seconds(10))
        // Another node: not its own earlier boot, so it waits for the lease, then takes the job.
        let second = try ServerProcess(database: database, arguments: ["--node-id", "node-b"] + periods)
        let session = APISession(port: second.port)
        let job = try session.waitForStatus(id, "succeeded", timeout: .seconds(90))
        #expect(job["attempt"]?.intValue == 1)
        #expect(second.log.contains("lease expired"), "log:\n\(second.log)")
        #expect(!second.log.contains("job recovered"), "log:\n\(second.log)")
        second.kill(SIGTERM)
        #expect(second.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    @Test func deletingTheDatabaseFileUnderARunningServerStopsItAcceptingWorkLoudly() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-deleted")
        let database = directory.file("rewind.sqlite")
        let server = try ServerProcess(database: database)
        let session = APISession(port: server.port)
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded")
        #expect(try session.get("/readyz").status == 200)
        for suffix in ["", "-wal", "-shm"] { unlink(database + suffix) }

        let refused = try session.post("/v1/jobs", json: TestSpecs.small)
        refused.expectProblem(503)
        #expect(refused.json["type"]?.stringValue?.hasSuffix("storage-unavailable") == true, "\(refused.text)")
        #expect(refused.header("Retry-After") != nil)
        let ready = try session.get("/readyz")
        #expect(ready.status == 503)
        #expect(ready.header("Retry-After") != nil)
        #expect(server.log.contains("was deleted or replaced"), "log:\n\(server.log)")
        // Nothing was written into the unlinked file: a new file would hold no such job.
        #expect(!FileManager.default.fileExists(atPath: database))
        server.kill(SIGTERM)
        #expect(server.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    @Test func aStoppedJobRetriedThroughTheAPIResumesFromItsCheckpointToTheSameHistory() throws {
        let reference = try ReferenceHistory.begin()
        let directory = try TemporaryDirectory(prefix: "rewind-retry")
        let server = try ServerProcess(database: directory.file("rewind.sqlite"))
        let session = APISession(port: server.port)
        let id = try session.submit(TestSpecs.recovery)
        try session.post("/v1/jobs/\(id)/retry", json: "").expectProblem(409)
        try session.post("/v1/jobs/no-such-job/retry", json: "").expectProblem(404)
        try waitForProgress(session, id, 2)
        #expect(try session.post("/v1/jobs/\(id)/cancel", json: "").status == 202)
        let stopped = try session.waitForStatus(id, "cancelled", timeout: .seconds(60))
        let kept = try #require(stopped["progress"]?["done"]?.intValue)

        let retried = try session.post("/v1/jobs/\(id)/retry", json: "")
        #expect(retried.status == 202, "\(retried.text)")
        #expect(retried.json["status"]?.stringValue == "queued")
        #expect(retried.json["progress"]?["done"]?.intValue == kept)
        let done = try session.waitForStatus(id, "succeeded", timeout: .seconds(90))
        #expect(done["attempt"]?.intValue == 1)
        #expect(server.log.contains("job resumed"), "the retry recomputed from scratch:\n\(server.log)")
        try ProcessRecoveryTests().expectSameHistory(try session.history(id), try reference.finish())
        server.kill(SIGTERM)
        #expect(server.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func aCommitThatFailsHandsTheJobBackAtOnceAndTheJobFinishesOnceWritesWorkAgain() throws {
        let reference = try ReferenceHistory.begin()
        let cluster = try #require(PostgresCluster.shared)
        let name = try cluster.createDatabase()
        defer { cluster.dropDatabase(name) }
        let directory = try TemporaryDirectory(prefix: "rewind-commit-failure")
        // A lease far longer than the test: only a hand-back can put the job back in the queue.
        let server = try ServerProcess(
            database: cluster.url(database: name), logDirectory: directory.path, arguments: ["--lease-duration", "600"])
        let session = APISession(port: server.port)
        let id = try session.submit(TestSpecs.recovery)
        try waitForProgress(session, id, 1)
        // From now on the database refuses every new history row: the next meta-iteration's
        // commit fails inside its transaction (a constraint, not a lost connection: no retry).
        try cluster.execute(
            "ALTER TABLE job_history ADD CONSTRAINT refuse_new_items CHECK (meta_iteration < 0) NOT VALID",
            database: name)
        let deadline = ContinuousClock.now + .seconds(60)
        while !server.log.contains("job handed back after a failed commit"), ContinuousClock.now < deadline {
            usleep(20_000)
        }
        #expect(server.log.contains("job handed back after a failed commit"), "log:\n\(server.log)")
        try cluster.execute("ALTER TABLE job_history DROP CONSTRAINT refuse_new_items", database: name)
        // Back in the queue long before the 600 s lease could have expired, it finishes with the
        // history of an uninterrupted run.
        let job = try session.waitForStatus(id, "succeeded", timeout: .seconds(90))
        #expect(job["error"] == .null)
        try ProcessRecoveryTests().expectSameHistory(try session.history(id), try reference.finish())
        server.kill(SIGTERM)
        #expect(server.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func postgresRestartedMidJobCostsThePausedJobNothing() throws {
        let reference = try ReferenceHistory.begin()
        // A cluster of its own, restarted under the running server.
        let cluster = try PostgresCluster()
        let directory = try TemporaryDirectory(prefix: "rewind-pg-restart")
        let server = try ServerProcess(database: cluster.url(), logDirectory: directory.path)
        let session = APISession(port: server.port)
        let id = try session.submit(TestSpecs.recovery)
        try waitForProgress(session, id, 2)
        try cluster.restart()
        try waitForProgress(session, id, 4)
        try cluster.restart()
        let job = try session.waitForStatus(id, "succeeded", timeout: .seconds(90))
        #expect(job["attempt"]?.intValue == 1, "log:\n\(server.log)")
        try ProcessRecoveryTests().expectSameHistory(try session.history(id), try reference.finish())
        server.kill(SIGTERM)
        #expect(server.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func thePostgresPasswordComesFromAFileAndNeverReachesTheLog() throws {
        let secret = "s3cret-\(UInt32.random(in: 0...UInt32.max))"
        let cluster = try PostgresCluster(password: secret)
        let directory = try TemporaryDirectory(prefix: "rewind-pg-password")
        let url = "postgres://\(cluster.user)@127.0.0.1:\(cluster.port)/rewind"
        let wrong = directory.file("wrong"), right = directory.file("right")
        try Data("not-it\n".utf8).write(to: URL(fileURLWithPath: wrong))
        try Data("\(secret)\n".utf8).write(to: URL(fileURLWithPath: right))

        let refused = #expect(throws: ServerProcessError.self) {
            try ServerProcess(
                database: url, logDirectory: directory.path, arguments: ["--database-password-file", wrong])
        }
        #expect(
            refused?.description.contains("password authentication failed") == true, "\(String(describing: refused))")
        let server = try ServerProcess(
            database: url, logDirectory: directory.path, environment: ["REWIND_DATABASE_PASSWORD_FILE": right])
        let session = APISession(port: server.port)
        #expect(try session.get("/readyz").status == 200)
        try session.waitForStatus(try session.submit(TestSpecs.small), "succeeded")
        #expect(server.log.contains("\"engine\":\"postgresql\""))
        #expect(!server.log.contains(secret))
        server.kill(SIGTERM)
        #expect(server.waitForExit(timeout: .seconds(25)) == .exited(0))
    }
}
