import Dispatch
import Foundation
import JSON
import RewindTestSupport
import Storage
import Synchronization
import Testing

/// The scale-out promise with real processes: PostgreSQL, two API-only nodes and two worker-only
/// nodes; workers die (`kill -9`), stop (SIGTERM) and are replaced, PostgreSQL restarts, and still
/// every job ends once, with the history of an uninterrupted local run.
@Suite(
    "A fleet of API and worker nodes on one PostgreSQL", .serialized,
    .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
struct FleetTests {
    /// About three seconds of work in 25 items (a tenth of a second each, unloaded): long enough to
    /// be interrupted mid-job twice.
    static let medium =
        #"{"name":"medium","dataset":{"name":"digits"},"split":{"train":300,"validation":100},"#
        + #""model":{"hidden":[32]},"training":{"iterations":300,"batch_size":50},"meta":{"iterations":24}}"#

    @Test func thirtyJobsThroughTwoAPINodesSurviveWorkerCrashesAShutdownAndAPostgreSQLRestart() throws {
        let fleet = try Fleet()
        let a = APISession(port: try fleet.addAPINode().port)
        let b = APISession(port: try fleet.addAPINode().port)
        try fleet.addWorker()
        try fleet.addWorker()
        let smallReference = try LocalRun.history(of: TestSpecs.small)
        let mediumReference = try LocalRun.history(of: Self.medium)

        // The first medium job, submitted on B and watched on A: A never talks to its workers.
        let watched = try b.submit(Self.medium, idempotencyKey: "medium-watched")
        let watcher = SSEWatcher(port: a.port, jobID: watched)

        // 29 small jobs through both nodes, every one with a key; a third of them are sent again
        // on the other node and must answer the same job.
        var smallJobs: [String] = []
        for index in 0..<29 {
            let (node, other) = index.isMultiple(of: 2) ? (a, b) : (b, a)
            let spec = TestSpecs.small(name: "small-\(index)")
            let id = try node.submit(spec, idempotencyKey: "small-\(index)")
            if index.isMultiple(of: 3) {
                let replay = try other.post("/v1/jobs", json: spec, headers: [("Idempotency-Key", "small-\(index)")])
                #expect(
                    replay.status == 200 && replay.json["id"]?.stringValue == id,
                    "replay of small-\(index): \(replay.text)")
            }
            smallJobs.append(id)
        }

        // kill -9 the worker running the watched job mid-job: once the lease expires, the other
        // worker resumes it from its last committed item.
        let crashed = try fleet.waitUntilRunning(watched)
        crashed.kill(SIGKILL)
        #expect(crashed.waitForExit(timeout: .seconds(10)) == .signalled(SIGKILL))
        let doneAtCrash = try #require(try fleet.store.job(id: watched)).progressDone
        let survivor = try fleet.waitUntilRunning(watched, items: doneAtCrash + 1, by: { $0 !== crashed })
        #expect(survivor.log.contains("job resumed"), "the survivor started over:\n\(survivor.log)")

        // SIGTERM the survivor in the middle of that job: it hands the job back and exits 0.
        survivor.kill(SIGTERM)
        #expect(survivor.waitForExit(timeout: .seconds(25)) == .exited(0), "log:\n\(survivor.log)")
        #expect(survivor.log.contains("job handed back"), "log:\n\(survivor.log)")

        // Two fresh workers take over, and PostgreSQL restarts under them: nodes retry and
        // re-listen, no job fails.
        try fleet.addWorker()
        try fleet.addWorker()
        try fleet.cluster.restart()

        var all = [watched] + smallJobs
        for id in all {
            let job = try a.waitForJob(id, timeout: .seconds(120), "a terminal status") {
                ["succeeded", "failed", "cancelled"].contains($0["status"]?.stringValue ?? "")
            }
            #expect(job["status"]?.stringValue == "succeeded", "\(id): \(job.serializedString())")
        }
        for id in all {
            #expect(try fleet.transitions(of: id, to: "succeeded") == 1, "job \(id) succeeded more than once")
            expectHistory(try b.history(id), equals: id == watched ? mediumReference : smallReference, "job \(id)")
        }
        #expect(try fleet.transitions(of: watched, to: "queued") >= 2, "the watched job was never requeued")

        // A, which never ran the job, streamed every item, live progress, and the final status.
        let events = watcher.finish()
        let items = events.filter { $0.name == "meta_iteration" }.map(\.id)
        #expect(Set(items) == Set(1...mediumReference.count), "events on A: \(events.map { "\($0.name) \($0.id)" })")
        #expect(
            events.contains {
                $0.name == "progress" && (1..<mediumReference.count).contains($0.data["done"]?.intValue ?? -1)
            },
            "no live progress reached A")
        #expect(events.last?.data["status"]?.stringValue == "succeeded")

        // A cancel sent to B stops the job on whichever worker runs it, well within a lease.
        let endless = try a.submit(TestSpecs.endless)
        let runner = try fleet.waitUntilRunning(endless)
        let sent = ContinuousClock.now
        #expect(try b.post("/v1/jobs/\(endless)/cancel", json: "").status == 202)
        try b.waitForStatus(endless, "cancelled", timeout: .seconds(10))
        let latency = ContinuousClock.now - sent
        #expect(latency < .seconds(10))
        #expect(runner.log.contains("\"job finished\""), "the worker did not stop the job:\n\(runner.log)")
        all.append(endless)
        print("fleet: cancel through another node took \(latency)")
    }
}

extension FleetTests {
    /// An idle worker that polls only once a minute still starts a job submitted on another node
    /// at once, before and after a PostgreSQL restart: the wake-up is a notification.
    @Test func aJobQueuedOnAnAPINodeWakesAnIdleWorkerThroughANotification() throws {
        let fleet = try Fleet()
        let api = APISession(port: try fleet.addAPINode().port)
        let worker = APISession(port: try fleet.addWorker(arguments: ["--idle-poll-ms", "60000"]).port)
        // A worker node's port answers health, readiness and metrics, and nothing of the API.
        #expect(try worker.get("/healthz").status == 200)
        #expect(try worker.get("/readyz").status == 200)
        #expect(try worker.get("/metrics").text.contains("rewind_workers_busy"))
        try worker.get("/v1/jobs").expectProblem(404)
        #expect(try api.get("/readyz").status == 200, "an API-only node is ready without workers")
        for round in 0..<2 {
            // Let the worker go idle first: its claim loop is now waiting a minute.
            usleep(300_000)
            let id = try api.submit(TestSpecs.small(name: "wake-\(round)"))
            let job = try api.waitForStatus(id, "succeeded", timeout: .seconds(30))
            let started = try #require(FleetTime.milliseconds(job["started_at"]))
            let created = try #require(FleetTime.milliseconds(job["created_at"]))
            print("fleet: round \(round), queued to started in \(started - created) ms")
            if round == 0 { try fleet.cluster.restart() }
        }
    }
}

/// RFC 3339 times of the job resource, in milliseconds.
enum FleetTime {
    static func milliseconds(_ value: JSONValue?) -> Int64? {
        guard let text = value?.stringValue else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}

/// Reads one job's event stream on a background thread until it ends.
final class SSEWatcher: Sendable {
    typealias Event = (name: String, id: Int, data: JSONValue)
    private let received = Mutex<[Event]?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(port: Int, jobID: String) {
        Thread.detachNewThread { [self] in
            let events = (try? EventStreamTests.events(port: port, "/v1/jobs/\(jobID)/events").events) ?? []
            received.withLock { $0 = events }
            done.signal()
        }
    }

    /// Waits for the stream to end and answers its events.
    func finish(timeout: Duration = .seconds(60)) -> [Event] {
        _ = done.wait(timeout: .now() + .milliseconds(Int(timeout.components.seconds * 1000)))
        return received.withLock { $0 } ?? []
    }
}
