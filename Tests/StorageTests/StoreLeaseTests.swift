import Foundation
import Synchronization
import Testing

@testable import Storage

@Suite("Store: claims, leases, commits and recovery")
struct StoreLeaseTests {
    @Test("Claims follow priority, then age, then id, and skip jobs still backing off", arguments: StoreFixture.engines)
    func claimOrder(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("old-low", priority: 0, nowMs: 1)
        try fixture.submit("new-high", priority: 5, nowMs: 3)
        try fixture.submit("b-mid", priority: 2, nowMs: 2)
        try fixture.submit("a-mid", priority: 2, nowMs: 2)
        var order: [String] = []
        while let claimed = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100) { order.append(claimed.job.id) }
        #expect(order == ["new-high", "a-mid", "b-mid", "old-low"])
    }

    @Test("A claim leases the job, consumes an attempt and returns its checkpoint", arguments: StoreFixture.engines)
    func claimLeases(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j")
        let first = try #require(try store.claimJob(worker: "boot1/0", nowMs: 10, leaseMs: 100))
        #expect(first.checkpoint == nil)
        #expect(first.job.status == .running && first.job.attempt == 1 && first.job.startedMs == 10)
        #expect(first.job.leaseOwner == "boot1/0" && first.job.leaseExpiresMs == 110)
        #expect(try fixture.commit("j", 0, worker: "boot1/0", checkpoint: [1, 2, 3]))
        #expect(try store.releaseJob(jobID: "j", worker: "boot1/0", nowMs: 50))
        let second = try #require(try store.claimJob(worker: "boot2/0", nowMs: 60, leaseMs: 100))
        #expect(second.checkpoint == Checkpoint(metaIteration: 0, state: [1, 2, 3], updatedMs: 2_000))
        #expect(second.job.attempt == 1 && second.job.startedMs == 10)
    }

    @Test("Event data stays valid JSON whatever the worker's name", arguments: StoreFixture.engines)
    func eventDataEscapes(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j")
        let worker = "boot \"1\"\\\n\u{1}é/0"
        _ = try store.claimJob(worker: WorkerID(worker), nowMs: 10, leaseMs: 100)
        let data = try #require(try store.events(jobID: "j").last?.dataJSON)
        let object = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
        #expect(object?["worker"] as? String == worker)
        #expect(object?["attempt"] as? Int == 1)
    }

    @Test("Two stores on one file claiming from two threads never get the same job", arguments: StoreFixture.engines)
    func concurrentClaimersAreDisjoint(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        let jobCount = 60
        for i in 0..<jobCount { try fixture.submit(String(format: "j%03d", i), nowMs: Int64(i)) }
        let mine = store
        let other = try fixture.openAnother()
        defer { try? other.close() }
        let claims = Mutex<[String: [String]]>([:])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            let worker = "w\(index)"
            let store = index % 2 == 0 ? mine : other
            do {
                while let claimed = try store.claimJob(worker: WorkerID(worker), nowMs: 1_000, leaseMs: 60_000) {
                    claims.withLock { $0[worker, default: []].append(claimed.job.id) }
                }
            } catch {
                failures.withLock { $0.append("\(worker): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let all = claims.withLock { $0.values.flatMap { $0 } }
        #expect(all.count == jobCount)
        #expect(Set(all).count == jobCount)
        // Each claim really belongs to the worker that got it.
        for (worker, ids) in claims.withLock({ $0 }) {
            for id in ids { #expect(try store.job(id: id)?.leaseOwner == worker) }
        }
    }

    @Test("A heartbeat extends the lease and progress never goes backwards", arguments: StoreFixture.engines)
    func heartbeatProgress(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j")
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        #expect(
            try store.heartbeat(jobID: "j", worker: "w", nowMs: 50, leaseMs: 100, progressFraction: 0.4)
                == .held(cancelRequested: false))
        #expect(
            try store.heartbeat(jobID: "j", worker: "w", nowMs: 60, leaseMs: 100, progressFraction: 0.2)
                == .held(cancelRequested: false))
        #expect(
            try store.heartbeat(jobID: "j", worker: "w", nowMs: 70, leaseMs: 100, progressFraction: .nan)
                == .held(cancelRequested: false))
        let job = try #require(try store.job(id: "j"))
        #expect(job.progressFraction == 0.4 && job.leaseExpiresMs == 170)
        #expect(try store.heartbeat(jobID: "j", worker: "intruder", nowMs: 80, leaseMs: 100) == .lost)
        #expect(try store.heartbeat(jobID: "missing", worker: "w", nowMs: 80, leaseMs: 100) == .lost)
    }

    @Test(
        "A meta-iteration commit writes history, progress, latest/best and checkpoint together",
        arguments: StoreFixture.engines)
    func commitWritesEverything(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j")
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        #expect(try fixture.commit("j", 0, nowMs: 20, checkpoint: [0], fraction: 0.3))
        #expect(try fixture.commit("j", 1, nowMs: 30, checkpoint: [1], fraction: 0.6))
        let job = try #require(try store.job(id: "j"))
        #expect(job.progressDone == 2 && job.progressFraction == 0.6)
        #expect(job.latestJSON == #"{"meta_iteration":1}"# && job.bestJSON == #"{"b":1}"#)
        #expect(
            try store.history(jobID: "j", limit: 10) == [
                StoreFixture.historyRow(0, nowMs: 20), StoreFixture.historyRow(1, nowMs: 30),
            ])
        #expect(try store.history(jobID: "j", after: 0, limit: 10).map(\.metaIteration) == [1])
        #expect(try store.checkpoint(jobID: "j") == Checkpoint(metaIteration: 1, state: [1], updatedMs: 30))
    }

    @Test(
        "History outlines carry each item's numbers and its size in UTF-8 bytes without the item",
        arguments: StoreFixture.engines)
    func historyOutlinesCarryNumbersAndSizes(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j")
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        // A large item, with non-ASCII text: its size is bytes, not characters.
        let padding = String(repeating: "λ", count: 300_000)
        var row = StoreFixture.historyRow(0, nowMs: 20)
        row.itemJSON = #"{"meta_iteration":0,"note":"\#(padding)"}"#
        #expect(
            try store.commitMetaIteration(
                jobID: "j", worker: "w", item: row, checkpoint: [0], progressDone: 1, progressFraction: 0.3,
                latestJSON: nil, bestJSON: nil, nowMs: 20))
        #expect(try fixture.commit("j", 1, nowMs: 30))
        let outlines = try store.historyOutline(jobID: "j", after: nil, limit: 10)
        #expect(outlines.map(\.metaIteration) == [0, 1])
        #expect(outlines[0].itemBytes == row.itemJSON.utf8.count && outlines[0].itemBytes > 600_000)
        #expect(outlines[1] == HistoryOutline(StoreFixture.historyRow(1, nowMs: 30)))
        #expect(try store.historyOutline(jobID: "j", after: 0, limit: 10).map(\.metaIteration) == [1])
        #expect(try store.historyOutline(jobID: "j", after: nil, limit: 1).count == 1)
    }

    @Test(
        "Replaying a meta-iteration after a crash overwrites it instead of duplicating it",
        arguments: StoreFixture.engines)
    func commitReplayIsIdempotent(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j")
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        #expect(try fixture.commit("j", 0, nowMs: 20))
        #expect(try fixture.commit("j", 1, nowMs: 30))
        #expect(try fixture.commit("j", 1, nowMs: 40))
        let history = try store.history(jobID: "j", limit: 10)
        #expect(history.map(\.metaIteration) == [0, 1])
        #expect(history.last?.createdMs == 40)
        #expect(try store.job(id: "j")?.progressDone == 2)
    }

    @Test("A worker that lost its lease commits nothing", arguments: StoreFixture.engines)
    func lostLeaseCommitsNothing(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j")
        _ = try store.claimJob(worker: "old", nowMs: 10, leaseMs: 100)
        #expect(try store.reapExpiredLeases(nowMs: 111) == [RecoveredJob(id: "j", status: .queued)])
        #expect(try fixture.commit("j", 0, worker: "old") == false)
        #expect(try store.finishJob(jobID: "j", worker: "old", status: .succeeded, nowMs: 120) == false)
        #expect(try store.releaseJob(jobID: "j", worker: "old", nowMs: 120) == false)
        #expect(try store.history(jobID: "j", limit: 10).isEmpty)
        #expect(try store.checkpoint(jobID: "j") == nil)
        let job = try #require(try store.job(id: "j"))
        #expect(job.status == .queued && job.progressDone == 0 && job.latestJSON == nil)
    }

    @Test("The reaper leaves live leases alone and backs off exponentially", arguments: StoreFixture.engines)
    func reaperBacksOff(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j", maxAttempts: 5)
        _ = try store.claimJob(worker: "w", nowMs: 0, leaseMs: 100)
        #expect(try store.reapExpiredLeases(nowMs: 100).isEmpty)
        #expect(try store.reapExpiredLeases(nowMs: 101) == [RecoveredJob(id: "j", status: .queued)])
        let first = try #require(try store.job(id: "j"))
        #expect(first.runAfterMs == 101 + 2_000 && first.leaseOwner == nil && first.attempt == 1)
        #expect(try store.claimJob(worker: "w", nowMs: 2_100, leaseMs: 100) == nil)
        _ = try #require(try store.claimJob(worker: "w", nowMs: 2_101, leaseMs: 100))
        _ = try store.reapExpiredLeases(nowMs: 3_000)
        #expect(try store.job(id: "j")?.runAfterMs == 3_000 + 4_000)
        let data = try store.events(jobID: "j").map(\.dataJSON)
        #expect(data.last == #"{"status":"queued","reason":"lease_expired","attempt":2}"#)
    }

    @Test(
        "The reaper fails a job out of attempts and cancels one whose cancellation was asked",
        arguments: StoreFixture.engines)
    func reaperTerminalCases(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("tired", nowMs: 1, maxAttempts: 1)
        try fixture.submit("cancelled", nowMs: 2)
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        _ = try store.requestCancel(jobID: "cancelled", nowMs: 20)
        let reaped = try store.reapExpiredLeases(nowMs: 200).sorted { $0.id < $1.id }
        #expect(
            reaped == [RecoveredJob(id: "cancelled", status: .cancelled), RecoveredJob(id: "tired", status: .failed)])
        let tired = try #require(try store.job(id: "tired"))
        #expect(tired.errorCode == "worker_lost" && tired.finishedMs == 200)
        #expect(try store.job(id: "cancelled")?.errorCode == nil)
    }

    @Test(
        "Start-up recovery takes this node's earlier boots' jobs at once, and no other node's live ones",
        arguments: StoreFixture.engines)
    func requeueOrphans(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("orphan", nowMs: 1)
        try fixture.submit("mine", nowMs: 2)
        try fixture.submit("other-node", nowMs: 3)
        _ = try store.claimJob(worker: "a/boot-old/0", nowMs: 10, leaseMs: 60_000)
        _ = try store.claimJob(worker: "a/boot-new/0", nowMs: 10, leaseMs: 60_000)
        _ = try store.claimJob(worker: "b/boot-1/0", nowMs: 10, leaseMs: 60_000)
        #expect(
            try store.requeueOrphans(nodeID: "a", bootID: "boot-new", nowMs: 20) == [
                RecoveredJob(id: "orphan", status: .queued)
            ])
        #expect(try store.job(id: "mine")?.status == .running)
        // Another node's job, its lease still live, is not ours to take: that was issue 8's outage.
        #expect(try store.job(id: "other-node")?.leaseOwner == "b/boot-1/0")
        #expect(try store.requeueOrphans(nodeID: "b", bootID: "boot-2", nowMs: 21).map(\.id) == ["other-node"])
        let claimed = try #require(try store.claimJob(worker: "a/boot-new/1", nowMs: 30, leaseMs: 100))
        #expect(claimed.job.id == "orphan" && claimed.job.attempt == 2)
    }

    @Test(
        "An attempt lost after committing progress is given back; one without progress counts",
        arguments: StoreFixture.engines)
    func attemptsCountOnlyWithoutProgress(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j", nowMs: 1, maxAttempts: 1)
        // Three crashes, each after a new meta-iteration: the job is never out of attempts.
        var now: Int64 = 10
        for iteration in 0..<3 {
            let claimed = try #require(try store.claimJob(worker: "w\(iteration)", nowMs: now, leaseMs: 100))
            #expect(claimed.job.attempt == 1)
            #expect(try fixture.commit("j", iteration, worker: "w\(iteration)", nowMs: now + 1))
            now += 200
            #expect(try store.reapExpiredLeases(nowMs: now) == [RecoveredJob(id: "j", status: .queued)])
            let job = try #require(try store.job(id: "j"))
            // Progress made: requeued at once, without back-off, the attempt given back.
            #expect(job.attempt == 0 && job.runAfterMs == now)
        }
        // A crash without progress spends the only attempt.
        _ = try #require(try store.claimJob(worker: "w", nowMs: now, leaseMs: 100))
        now += 200
        #expect(try store.reapExpiredLeases(nowMs: now) == [RecoveredJob(id: "j", status: .failed)])
        #expect(try store.job(id: "j")?.errorCode == "worker_lost")
        #expect(try store.history(jobID: "j", limit: 10).count == 3)
    }

    @Test(
        "A worker that cannot commit gives the job up at once, with back-off; a stale one cannot",
        arguments: StoreFixture.engines)
    func abandonJob(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j", nowMs: 1)
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 60_000)
        #expect(try store.abandonJob(jobID: "j", worker: "intruder", nowMs: 20) == nil)
        #expect(try store.abandonJob(jobID: "j", worker: "w", nowMs: 20) == RecoveredJob(id: "j", status: .queued))
        let job = try #require(try store.job(id: "j"))
        #expect(job.status == .queued && job.leaseOwner == nil && job.attempt == 1 && job.runAfterMs == 20 + 2_000)
        #expect(
            try store.events(jobID: "j").last?.dataJSON == #"{"status":"queued","reason":"commit_failed","attempt":1}"#)
        #expect(try store.abandonJob(jobID: "j", worker: "w", nowMs: 30) == nil)
    }

    @Test(
        "A failed or cancelled job can be retried from its checkpoint; others cannot",
        arguments: StoreFixture.engines)
    func retryJob(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j", nowMs: 1, maxAttempts: 1)
        try fixture.submit("q", nowMs: 2)
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        #expect(try fixture.commit("j", 0, worker: "w", nowMs: 11, checkpoint: [7]))
        #expect(try store.finishJob(jobID: "j", worker: "w", status: .failed, errorCode: "diverged", nowMs: 12))
        #expect(try store.retryJob(jobID: "q", maxQueued: 10, nowMs: 13) == .notRetryable(.queued))
        #expect(try store.retryJob(jobID: "nope", maxQueued: 10, nowMs: 13) == .notFound)
        #expect(try store.retryJob(jobID: "j", maxQueued: 1, nowMs: 13) == .queueFull(queued: 1))
        guard case .requeued(let job) = try store.retryJob(jobID: "j", maxQueued: 10, nowMs: 14) else {
            Issue.record("not requeued"); return
        }
        #expect(job.status == .queued && job.attempt == 0 && job.errorCode == nil && job.finishedMs == nil)
        #expect(job.progressDone == 1 && job.runAfterMs == 14)
        #expect(try store.events(jobID: "j").last?.dataJSON == #"{"status":"queued","reason":"retried"}"#)
        let claimed = try #require(try store.claimJob(worker: "w2", nowMs: 15, leaseMs: 100))
        #expect(claimed.job.id == "j" && claimed.checkpoint?.state == [7] && claimed.job.attempt == 1)
    }

    @Test(
        "A shutdown hand-back requeues without consuming the attempt, or ends a cancelled job",
        arguments: StoreFixture.engines)
    func releaseJob(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j", nowMs: 1)
        try fixture.submit("c", nowMs: 2)
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        _ = try store.requestCancel(jobID: "c", nowMs: 15)
        #expect(try store.releaseJob(jobID: "j", worker: "w", nowMs: 20))
        #expect(try store.releaseJob(jobID: "c", worker: "w", nowMs: 20))
        let released = try #require(try store.job(id: "j"))
        #expect(released.status == .queued && released.attempt == 0 && released.leaseOwner == nil)
        #expect(try store.job(id: "c")?.status == .cancelled)
        #expect(try store.events(jobID: "j").last?.dataJSON == #"{"status":"queued","reason":"shutdown"}"#)
    }

    @Test("A failed finish records its error and an event; the lease is cleared", arguments: StoreFixture.engines)
    func finishFailed(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        try fixture.submit("j")
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        #expect(
            try store.finishJob(
                jobID: "j", worker: "w", status: .failed, errorCode: "diverged",
                errorMessage: "loss is NaN", nowMs: 30))
        let job = try #require(try store.job(id: "j"))
        #expect(job.status == .failed && job.errorCode == "diverged" && job.errorMessage == "loss is NaN")
        #expect(job.finishedMs == 30 && job.leaseOwner == nil && job.leaseExpiresMs == nil)
        #expect(
            try store.events(jobID: "j").last?.dataJSON
                == #"{"status":"failed","reason":"finished","error_code":"diverged"}"#)
    }
}
