import Foundation
import JSON
import Jobs
import RewindTestSupport
import Storage
import Synchronization
import Testing

/// The real `rewind serve` binary interrupted in the middle of a job, by `kill -9` and by SIGTERM,
/// then restarted on the same file: the job finishes with exactly the history of a run that was
/// never interrupted.
@Suite("Recovery of rewind serve across process restarts", .serialized)
struct ProcessRecoveryTests {
    @Test func jobKilledWithSIGKILLResumesAfterRestartAndMatchesAnUninterruptedRunBitForBit() throws {
        let reference = try ReferenceHistory.begin()
        let directory = try TemporaryDirectory(prefix: "rewind-kill")
        let database = directory.file("rewind.sqlite")

        let first = try ServerProcess(database: database)
        let id = try APISession(port: first.port).submit(TestSpecs.recovery)
        let running = try APISession(port: first.port).waitForJob(id, timeout: .seconds(60), "one committed item") {
            ($0["progress"]?["done"]?.intValue ?? 0) >= 1
        }
        first.kill(SIGKILL)
        #expect(first.waitForExit(timeout: .seconds(10)) == .signalled(SIGKILL))
        #expect(running["status"]?.stringValue == "running")
        let total = try #require(running["progress"]?["total"]?.intValue)
        #expect(total == 11)

        let second = try ServerProcess(database: database)
        let session = APISession(port: second.port)
        let job = try session.waitForStatus(id, "succeeded", timeout: .seconds(60))
        // The killed attempt had committed progress, so it was given back: only attempts that
        // make no progress count against the job's attempts.
        #expect(job["attempt"]?.intValue == 1)
        #expect(second.log.contains("job resumed"), "the restart recomputed from scratch:\n\(second.log)")
        let items = try session.history(id)
        try expectSameHistory(items, try reference.finish())

        second.kill(SIGTERM)
        #expect(second.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    @Test func sigtermHandsTheRunningJobBackAndARestartFinishesItIdenticallyToAnUninterruptedRun() throws {
        let reference = try ReferenceHistory.begin()
        let directory = try TemporaryDirectory(prefix: "rewind-term")
        let database = directory.file("rewind.sqlite")

        let first = try ServerProcess(database: database)
        let id = try APISession(port: first.port).submit(TestSpecs.recovery)
        try APISession(port: first.port).waitForJob(id, timeout: .seconds(60), "one committed item") {
            ($0["progress"]?["done"]?.intValue ?? 0) >= 1
        }
        first.kill(SIGTERM)
        #expect(first.waitForExit(timeout: .seconds(25)) == .exited(0), "log:\n\(first.log)")
        #expect(first.log.contains("job handed back"), "log:\n\(first.log)")

        // Between the two processes, the file says: queued, with the history so far kept.
        do {
            let store = try SQLiteStore(path: database, nowMs: JobRunner.wallClock())
            defer { try? store.close() }
            let record = try #require(try store.job(id: id))
            #expect(record.status == .queued)
            #expect(record.leaseOwner == nil)
            #expect(record.progressDone >= 1 && record.progressDone < record.progressTotal)
            #expect(try store.history(jobID: id, limit: 100).count == record.progressDone)
        }

        let second = try ServerProcess(database: database)
        let session = APISession(port: second.port)
        let job = try session.waitForStatus(id, "succeeded", timeout: .seconds(60))
        // A hand-back gives its attempt back: shutting down is not the job's failure.
        #expect(job["attempt"]?.intValue == 1)
        #expect(second.log.contains("job resumed"), "the restart recomputed from scratch:\n\(second.log)")
        try expectSameHistory(try session.history(id), try reference.finish())

        second.kill(SIGTERM)
        #expect(second.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    @Test func sigtermOnAnIdleServerExitsZeroAndTheFileReopens() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-idle")
        let database = directory.file("rewind.sqlite")
        let server = try ServerProcess(database: database)
        let session = APISession(port: server.port)
        #expect(try session.get("/readyz").status == 200)
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded")

        server.kill(SIGTERM)
        #expect(server.waitForExit(timeout: .seconds(25)) == .exited(0), "log:\n\(server.log)")
        let again = try ServerProcess(database: database)
        #expect(try APISession(port: again.port).job(id)["status"]?.stringValue == "succeeded")
        again.kill(SIGTERM)
        #expect(again.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    @Test func configuredAPIKeysGuardTheRealBinary() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-keys")
        let server = try ServerProcess(
            database: directory.file("rewind.sqlite"), environment: ["REWIND_API_KEYS": "first, second"])
        try APISession(port: server.port).get("/v1/jobs").expectProblem(401)
        try APISession(port: server.port, apiKey: "third").get("/v1/jobs").expectProblem(401)
        #expect(try APISession(port: server.port, apiKey: "second").get("/v1/jobs").status == 200)
        #expect(try APISession(port: server.port).get("/healthz").status == 200)
        server.kill(SIGTERM)
        #expect(server.waitForExit(timeout: .seconds(25)) == .exited(0))
    }

    /// Item by item, every value but `seconds`, numbers compared by their bits.
    func expectSameHistory(
        _ actual: [JSONValue], _ expected: [JSONValue], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(actual.count == expected.count, sourceLocation: sourceLocation)
        #expect(
            actual.map { $0["meta_iteration"]?.intValue } == Array(0..<expected.count), sourceLocation: sourceLocation)
        for (index, (got, want)) in zip(actual, expected).enumerated() {
            let difference = JSONDifference.first(between: got.removing("seconds"), and: want.removing("seconds"))
            #expect(difference == nil, "item \(index) differs at \(difference ?? "")", sourceLocation: sourceLocation)
        }
    }
}

/// The recovery spec run uninterrupted on a fresh file by its own `rewind serve`: started by the
/// first test that needs it (so it runs beside that test's interrupted process) and kept for the next.
enum ReferenceHistory {
    private static let cached = Mutex<[JSONValue]?>(nil)

    /// Either the known history or a run in progress.
    enum Handle {
        case known([JSONValue])
        case running(ServerProcess, TemporaryDirectory, jobID: String)

        /// The history, waiting for the run when it is still going.
        func finish() throws -> [JSONValue] {
            switch self {
            case .known(let items):
                return items
            case .running(let server, _, let id):
                let session = APISession(port: server.port)
                try session.waitForStatus(id, "succeeded", timeout: .seconds(90))
                let items = try session.history(id)
                server.kill(SIGKILL)
                _ = server.waitForExit(timeout: .seconds(10))
                ReferenceHistory.cached.withLock { $0 = items }
                return items
            }
        }
    }

    static func begin() throws -> Handle {
        if let items = cached.withLock({ $0 }) { return .known(items) }
        let directory = try TemporaryDirectory(prefix: "rewind-reference")
        let server = try ServerProcess(database: directory.file("rewind.sqlite"))
        let id = try APISession(port: server.port).submit(TestSpecs.recovery)
        return .running(server, directory, jobID: id)
    }
}

/// Where two JSON values first differ, as a JSON Pointer; numbers must match bit for bit.
enum JSONDifference {
    static func first(between a: JSONValue, and b: JSONValue, at path: String = "") -> String? {
        switch (a, b) {
        case (.number(let x), .number(let y)):
            return x.bitPattern == y.bitPattern ? nil : "\(path.isEmpty ? "/" : path) (\(x) vs \(y))"
        case (.array(let xs), .array(let ys)):
            guard xs.count == ys.count else { return "\(path) (length \(xs.count) vs \(ys.count))" }
            for (index, (x, y)) in zip(xs, ys).enumerated() {
                if let found = first(between: x, and: y, at: "\(path)/\(index)") { return found }
            }
            return nil
        case (.object(let xs), .object(let ys)):
            guard Set(xs.keys) == Set(ys.keys) else { return "\(path) (members \(xs.keys) vs \(ys.keys))" }
            for (key, x) in xs {
                if let found = first(between: x, and: ys[key]!, at: "\(path)/\(key)") { return found }
            }
            return nil
        default:
            return a == b ? nil : "\(path.isEmpty ? "/" : path) (\(a.serializedString()) vs \(b.serializedString()))"
        }
    }
}

extension JSONValue {
    /// This object without member `key`.
    func removing(_ key: String) -> JSONValue {
        guard var object = objectValue else { return self }
        object[key] = nil
        return .object(object)
    }
}
