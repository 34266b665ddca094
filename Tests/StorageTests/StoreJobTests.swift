import Foundation
import Testing

@testable import Storage

@Suite("Store: submitting, listing, cancelling and deleting jobs")
struct StoreJobTests {
    private func newJob(_ id: String) -> NewJob {
        NewJob(id: id, name: "n", specJSON: "{}", progressTotal: 51)
    }

    @Test("A created job is queued with its defaults and a submitted event", arguments: StoreFixture.engines)
    func insertCreates(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        let outcome = try store.insertJob(newJob("j1"), idempotency: nil, maxQueued: 10, nowMs: 5_000)
        guard case .created(let job) = outcome else { Issue.record("\(outcome)"); return }
        #expect(job.status == .queued && job.createdMs == 5_000 && job.progressTotal == 51)
        #expect(job.attempt == 0 && job.maxAttempts == 3 && job.version == 1 && job.leaseOwner == nil)
        #expect(try store.job(id: "j1") == job)
        let events = try store.events(jobID: "j1")
        #expect(events.map(\.seq) == [1])
        #expect(events.first?.dataJSON == #"{"status":"queued","reason":"submitted"}"#)
    }

    @Test(
        "The same idempotency key and body replays the job; another body is a conflict", arguments: StoreFixture.engines
    )
    func idempotencyOutcomes(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        let key = (key: "k", requestSHA256: "h1")
        guard case .created(let original) = try store.insertJob(newJob("a"), idempotency: key, maxQueued: 10, nowMs: 1)
        else {
            Issue.record("not created"); return
        }
        #expect(try store.insertJob(newJob("b"), idempotency: key, maxQueued: 10, nowMs: 2) == .replayed(original))
        #expect(
            try store.insertJob(newJob("c"), idempotency: (key: "k", requestSHA256: "h2"), maxQueued: 10, nowMs: 3)
                == .keyConflict(existingJobID: "a"))
        #expect(try store.job(id: "b") == nil && store.job(id: "c") == nil)
    }

    @Test("A replay is answered even when the queue is full, and a new job is refused", arguments: StoreFixture.engines)
    func queueFull(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        let key = (key: "k", requestSHA256: "h")
        _ = try store.insertJob(newJob("a"), idempotency: key, maxQueued: 2, nowMs: 1)
        _ = try store.insertJob(newJob("b"), idempotency: nil, maxQueued: 2, nowMs: 2)
        #expect(try store.insertJob(newJob("c"), idempotency: nil, maxQueued: 2, nowMs: 3) == .queueFull(queued: 2))
        guard case .replayed = try store.insertJob(newJob("x"), idempotency: key, maxQueued: 2, nowMs: 4) else {
            Issue.record("a replay must not be refused"); return
        }
        // Running jobs do not count against the queue.
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 1_000)
        guard case .created = try store.insertJob(newJob("c"), idempotency: nil, maxQueued: 2, nowMs: 11) else {
            Issue.record("the queue has room again"); return
        }
    }

    @Test("A job naming a missing dataset is refused without writing", arguments: StoreFixture.engines)
    func missingDataset(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        var job = newJob("j")
        job.datasetID = "nope"
        #expect(try store.insertJob(job, idempotency: nil, maxQueued: 10, nowMs: 1) == .datasetNotFound)
        #expect(try store.jobCounts()[.queued] == 0)
    }

    @Test("Listing pages newest first through every job exactly once", arguments: StoreFixture.engines)
    func paginationCoversEverything(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        // Two jobs per millisecond, so the id breaks ties inside the keyset.
        for i in 0..<25 { try fixture.submit(String(format: "job-%02d", i), nowMs: Int64(100 + i / 2)) }
        var seen: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let page = try store.listJobs(limit: 7, pageToken: token)
            seen += page.jobs.map(\.id)
            token = page.nextPageToken
            pages += 1
        } while token != nil
        #expect(pages == 4)
        #expect(seen == (0..<25).reversed().map { String(format: "job-%02d", $0) })
    }

    @Test(
        "A status filter lists only that status, and its tokens are refused by other filters",
        arguments: StoreFixture.engines)
    func statusFilter(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        for i in 0..<5 { try fixture.submit("q\(i)", nowMs: Int64(i)) }
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        let page = try store.listJobs(status: .queued, limit: 2)
        #expect(page.jobs.map(\.id) == ["q4", "q3"])
        let token = try #require(page.nextPageToken)
        #expect(try store.listJobs(status: .queued, limit: 5, pageToken: token).jobs.map(\.id) == ["q2", "q1"])
        #expect(try store.listJobs(status: .running, limit: 5).jobs.map(\.id) == ["q0"])
        #expect(throws: StoreError.invalidPageToken) { try store.listJobs(limit: 5, pageToken: token) }
        #expect(throws: StoreError.invalidPageToken) {
            try store.listJobs(status: .running, limit: 5, pageToken: token)
        }
    }

    @Test(
        "Garbage page tokens are a typed error", arguments: StoreFixture.engines,
        ["", "!!!", "bm90IGEgdG9rZW4", "MXx8eHx5"])
    func invalidTokens(_ engine: StoreEngine, token: String) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        #expect(throws: StoreError.invalidPageToken) { try store.listJobs(limit: 5, pageToken: token) }
    }

    @Test("Cancelling a queued job ends it at once; again is idempotent", arguments: StoreFixture.engines)
    func cancelQueued(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j")
        guard case .cancelled(let job) = try store.requestCancel(jobID: "j", nowMs: 50) else {
            Issue.record("not cancelled"); return
        }
        #expect(job.status == .cancelled && job.finishedMs == 50)
        #expect(try store.requestCancel(jobID: "j", nowMs: 60) == .alreadyCancelled(job))
        #expect(try store.claimJob(worker: "w", nowMs: 70, leaseMs: 10) == nil)
        #expect(try store.requestCancel(jobID: "missing", nowMs: 60) == .notFound)
    }

    @Test("Cancelling a running job flags it for its worker and records one event", arguments: StoreFixture.engines)
    func cancelRunning(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j")
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 1_000)
        guard case .cancelRequested(let job) = try store.requestCancel(jobID: "j", nowMs: 20) else {
            Issue.record("not flagged"); return
        }
        #expect(job.status == .running && job.cancelRequested)
        #expect(try store.requestCancel(jobID: "j", nowMs: 30) == .cancelRequested(job))
        #expect(try store.heartbeat(jobID: "j", worker: "w", nowMs: 40, leaseMs: 1_000) == .held(cancelRequested: true))
        #expect(try store.finishJob(jobID: "j", worker: "w", status: .cancelled, nowMs: 50))
        #expect(try store.events(jobID: "j").map(\.kind) == ["status", "status", "cancel_requested", "status"])
        guard case .alreadyCancelled = try store.requestCancel(jobID: "j", nowMs: 60) else {
            Issue.record("a cancelled job stays cancelled"); return
        }
    }

    @Test("Cancelling a finished job answers its status", arguments: StoreFixture.engines)
    func cancelFinished(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j")
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 1_000)
        #expect(try store.finishJob(jobID: "j", worker: "w", status: .succeeded, nowMs: 20))
        guard case .finished(let job) = try store.requestCancel(jobID: "j", nowMs: 30) else {
            Issue.record("not finished"); return
        }
        #expect(job.status == .succeeded && job.progressFraction == 1)
    }

    @Test("Deleting refuses live jobs and cascades everything of a terminal one", arguments: StoreFixture.engines)
    func deleteCascades(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        _ = try store.insertJob(newJob("j"), idempotency: (key: "k", requestSHA256: "h"), maxQueued: 10, nowMs: 1)
        #expect(try store.deleteJob(jobID: "j") == .notTerminal(.queued))
        _ = try store.claimJob(worker: "w", nowMs: 2, leaseMs: 100)
        #expect(try store.deleteJob(jobID: "j") == .notTerminal(.running))
        #expect(
            try store.commitMetaIteration(
                jobID: "j", worker: "w", item: StoreFixture.historyRow(0), checkpoint: [1, 2], progressDone: 1,
                progressFraction: 0.5, latestJSON: "{}", bestJSON: "{}", nowMs: 3))
        #expect(try store.finishJob(jobID: "j", worker: "w", status: .failed, errorCode: "diverged", nowMs: 4))
        #expect(try store.deleteJob(jobID: "j") == .deleted)
        #expect(try store.deleteJob(jobID: "j") == .notFound)
        #expect(try store.history(jobID: "j", limit: 10).isEmpty)
        #expect(try store.checkpoint(jobID: "j") == nil)
        #expect(try store.events(jobID: "j").isEmpty)
        // The key went with the job, so it can be used again.
        guard
            case .created = try store.insertJob(
                newJob("j2"), idempotency: (key: "k", requestSHA256: "other"), maxQueued: 10, nowMs: 5)
        else { Issue.record("the key should be free"); return }
    }

    @Test("Job counts cover every status, zeros included", arguments: StoreFixture.engines)
    func counts(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        for i in 0..<3 { try fixture.submit("j\(i)", nowMs: Int64(i)) }
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        _ = try store.requestCancel(jobID: "j2", nowMs: 11)
        #expect(try store.jobCounts() == [.queued: 1, .running: 1, .succeeded: 0, .failed: 0, .cancelled: 1])
    }

    @Test("Old idempotency keys are purged and can then be reused", arguments: StoreFixture.engines)
    func purgeKeys(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        _ = try store.insertJob(newJob("a"), idempotency: (key: "k", requestSHA256: "h"), maxQueued: 10, nowMs: 100)
        #expect(try store.purgeIdempotencyKeys(createdBeforeMs: 100) == 0)
        #expect(try store.purgeIdempotencyKeys(createdBeforeMs: 101) == 1)
        guard
            case .created = try store.insertJob(
                newJob("b"), idempotency: (key: "k", requestSHA256: "x"), maxQueued: 10, nowMs: 200)
        else { Issue.record("the key should be free"); return }
    }
}
