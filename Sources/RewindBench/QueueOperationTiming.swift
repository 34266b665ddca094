import Foundation
import Jobs
import Storage

/// The queue's operations timed alone, in this process and without training: for each of `jobs`
/// jobs one claim, two meta-iteration commits (the tiny job's two history items) and one finish,
/// exactly the calls a worker makes.
struct QueueOperationTiming {
    var claimMs: Double
    var commitMs: Double
    var finishMs: Double

    static func measure(database: String, jobs: Int) throws -> QueueOperationTiming {
        let store = try StoreLocation(database).open(nowMs: JobRunner.wallClock())
        defer { try? store.close() }
        try QueueBenchRound.deleteAllJobs(store)
        for _ in 0..<jobs {
            let new = NewJob(
                id: TimeOrderedID.make(nowMs: JobRunner.wallClock()), name: "queue-operations", specJSON: "{}",
                progressTotal: 2)
            _ = try store.insertJob(new, idempotency: nil, maxQueued: jobs + 1, nowMs: JobRunner.wallClock())
        }
        let worker = WorkerID("bench-queue-\(getpid())/0")
        let checkpoint = [UInt8](repeating: 7, count: 512)
        var claim = Duration.zero, commit = Duration.zero, finish = Duration.zero
        let clock = ContinuousClock()
        for _ in 0..<jobs {
            var started = clock.now
            guard let claimed = try store.claimJob(worker: worker, nowMs: JobRunner.wallClock(), leaseMs: 60_000) else {
                throw QueueBenchError("the queue ran dry before every job was claimed")
            }
            claim += clock.now - started
            for item in 0..<2 {
                let row = HistoryRow(
                    metaIteration: item, itemJSON: #"{"meta_iteration":\#(item)}"#, trainingLoss: 1, validationLoss: 1,
                    validationError: 0.5, hypergradientNorm: 1, seconds: 0, createdMs: JobRunner.wallClock())
                started = clock.now
                _ = try store.commitMetaIteration(
                    jobID: JobID(claimed.job.id), worker: worker, item: row, checkpoint: checkpoint,
                    progressDone: item + 1,
                    progressFraction: Double(item + 1) / 2, latestJSON: #"{"meta_iteration":\#(item)}"#, bestJSON: nil,
                    nowMs: JobRunner.wallClock(), leaseMs: 60_000)
                commit += clock.now - started
            }
            started = clock.now
            _ = try store.finishJob(
                jobID: JobID(claimed.job.id), worker: worker, status: .succeeded, errorCode: nil, errorMessage: nil,
                nowMs: JobRunner.wallClock())
            finish += clock.now - started
        }
        try QueueBenchRound.deleteAllJobs(store)
        let perJob = 1000 / Double(jobs)
        return QueueOperationTiming(
            claimMs: claim.seconds * perJob, commitMs: commit.seconds * perJob / 2, finishMs: finish.seconds * perJob)
    }
}
