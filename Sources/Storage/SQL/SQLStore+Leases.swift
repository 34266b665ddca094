/// The worker side: claiming jobs, holding leases, committing progress, finishing, recovery.
///
/// One transaction per operation, and every write of a running job fenced by its lease owner:
/// a worker that lost its lease writes nothing and is told so (`.lost`, false or nil).
extension SQLStore {
    /// Claims the best queued job whose back-off has passed (highest priority, then oldest), or nil.
    ///
    /// The claim consumes an attempt and leases the job to `worker` until `nowMs + leaseMs`.
    public func claimJob(worker: WorkerID, nowMs: Int64, leaseMs: Int64) throws -> ClaimedJob? {
        precondition(!worker.rawValue.isEmpty && leaseMs > 0, "a claim needs a worker and a lease")
        return try write { connection in
            let claimed = try connection.queryFirst(
                SQL.Jobs.claim,
                [
                    ":worker": .text(worker.rawValue), ":now": now(nowMs), ":lease_ms": .integer(leaseMs),
                ], JobRecord.init)
            guard let job = claimed else { return nil }
            try recordEvent(
                in: connection, jobID: job.id, nowMs: nowMs, kind: "status",
                data: [
                    "status": .text("running"), "reason": .text("claimed"),
                    "attempt": .integer(job.attempt), "worker": .text(worker.rawValue),
                ])
            return ClaimedJob(job: job, checkpoint: try checkpoint(in: connection, jobID: job.id))
        }
    }

    /// Extends `worker`'s lease and raises the progress fraction (it never decreases).
    ///
    /// `.lost` means another worker or the reaper has the job: stop without writing results.
    public func heartbeat(
        jobID: JobID, worker: WorkerID, nowMs: Int64, leaseMs: Int64, progressFraction: Double?
    ) throws -> LeaseState {
        try writeOne { connection in
            let cancelRequested = try connection.queryFirst(
                SQL.Jobs.heartbeat,
                [
                    ":id": .text(jobID.rawValue), ":worker": .text(worker.rawValue), ":now": now(nowMs),
                    ":lease_ms": .integer(leaseMs),
                    ":progress_fraction": .real(progressFraction.map(LeaseMath.clampFraction)),
                ]
            ) { $0.bool("cancel_requested") }
            return cancelRequested.map { .held(cancelRequested: $0) } ?? .lost
        }
    }

    /// Records one finished meta-iteration in ONE transaction: its history row, the job's
    /// progress and latest/best, and the checkpoint to resume from.
    ///
    /// Writing the same meta-iteration again (a replay after a crash) overwrites its row, so the
    /// replay is idempotent. Answers false, having written nothing, when `worker` lost the lease.
    /// A `leaseMs` also extends the lease, saving a separate heartbeat (never shortening one that a
    /// heartbeat extended meanwhile).
    ///
    /// The item and the checkpoint, which may be megabytes, are written first and the job's row,
    /// whose update is the lease fence, last: on PostgreSQL the history row only key-share-locks
    /// the job's row, so the worker's heartbeats (their own transactions) keep renewing the lease
    /// while a large item is sent; updating the row first would hold them off until the commit,
    /// and a commit longer than the lease would lose the job to the reaper. A fence that fails
    /// rolls the item and the checkpoint back.
    public func commitMetaIteration(
        jobID: JobID, worker: WorkerID, item: HistoryRow, checkpoint: [UInt8], progressDone: Int,
        progressFraction: Double, latestJSON: String?, bestJSON: String?, nowMs: Int64,
        leaseMs: Int64?
    ) throws -> Bool {
        precondition(item.metaIteration >= 0 && progressDone >= 0, "invalid meta-iteration commit")
        let id = jobID.rawValue
        do {
            return try write { connection in
                try connection.run(
                    SQL.History.upsert,
                    [
                        ":job_id": .text(id), ":meta_iteration": .integer(item.metaIteration),
                        ":item_json": .text(item.itemJSON), ":training_loss": .real(item.trainingLoss),
                        ":validation_loss": .real(item.validationLoss),
                        ":validation_error": .real(item.validationError),
                        ":hypergradient_norm": .real(item.hypergradientNorm), ":seconds": .real(item.seconds),
                        ":created_ms": .integer(item.createdMs),
                    ])
                try connection.run(
                    SQL.Checkpoints.upsert,
                    [
                        ":job_id": .text(id), ":meta_iteration": .integer(item.metaIteration),
                        ":state": .blob(checkpoint), ":now": now(nowMs),
                    ])
                let updated = try connection.run(
                    SQL.Jobs.commitProgress,
                    [
                        ":id": .text(id), ":worker": .text(worker.rawValue), ":progress_done": .integer(progressDone),
                        ":progress_fraction": .real(LeaseMath.clampFraction(progressFraction)),
                        ":latest_json": .text(latestJSON), ":best_json": .text(bestJSON),
                        ":now": now(nowMs), ":lease_ms": .integer(leaseMs),
                    ])
                guard updated == 1 else { throw LeaseFenceFailed() }
                return true
            }
        } catch is LeaseFenceFailed {
            return false
        }
    }

    /// Ends `worker`'s job as succeeded, failed (with an error code) or cancelled.
    ///
    /// Answers false, changing nothing, when `worker` no longer holds the lease.
    public func finishJob(
        jobID: JobID, worker: WorkerID, status: JobStatus, errorCode: String?, errorMessage: String?, nowMs: Int64
    ) throws -> Bool {
        precondition(status.isTerminal, "finishing a job as \(status)")
        precondition((status == .failed) == (errorCode != nil), "an error code goes with failed, only")
        return try write { connection in
            let finished =
                try connection.queryFirst(
                    SQL.Jobs.finish,
                    [
                        ":id": .text(jobID.rawValue), ":worker": .text(worker.rawValue),
                        ":status": .text(status.rawValue),
                        ":error_code": .text(errorCode), ":error_message": .text(errorMessage), ":now": now(nowMs),
                    ]
                ) { _ in true } ?? false
            guard finished else { return false }
            try recordEvent(
                in: connection, jobID: jobID.rawValue, nowMs: nowMs, kind: "status",
                data: [
                    "status": .text(status.rawValue), "reason": .text("finished"), "error_code": .text(errorCode),
                ])
            return true
        }
    }

    /// Hands a job back at shutdown: queued again at once, lease cleared, the attempt not consumed
    /// (or cancelled, if cancellation was requested meanwhile). False when the lease was lost.
    public func releaseJob(jobID: JobID, worker: WorkerID, nowMs: Int64) throws -> Bool {
        try write { connection in
            let status = try connection.queryFirst(
                SQL.Jobs.release,
                [
                    ":id": .text(jobID.rawValue), ":worker": .text(worker.rawValue), ":now": now(nowMs),
                ]
            ) { $0.string("status") }
            guard let status else { return false }
            try recordEvent(
                in: connection, jobID: jobID.rawValue, nowMs: nowMs, kind: "status",
                data: ["status": .text(status), "reason": .text("shutdown")])
            return true
        }
    }

    public func abandonJob(jobID: JobID, worker: WorkerID, nowMs: Int64) throws -> RecoveredJob? {
        try recover(
            SQL.Jobs.abandon, reason: "commit_failed",
            [
                ":id": .text(jobID.rawValue), ":worker": .text(worker.rawValue), ":now": now(nowMs),
            ], nowMs: nowMs
        ).first
    }

    public func requeueOrphans(nodeID: String, bootID: String, nowMs: Int64) throws -> [RecoveredJob] {
        precondition(LeaseOwner.isValidID(nodeID) && LeaseOwner.isValidID(bootID), "invalid node or boot id")
        return try recover(
            SQL.Jobs.requeueOrphans, reason: "orphaned",
            [
                ":node_prefix": .text(LeaseOwner.nodePrefix(nodeID)),
                ":boot_prefix": .text(LeaseOwner.bootPrefix(nodeID, bootID)), ":now": now(nowMs),
            ], nowMs: nowMs)
    }

    /// The reaper: every running job whose lease expired before now is requeued with capped
    /// exponential back-off, failed (`worker_lost`) when out of attempts, or cancelled when
    /// cancellation was requested.
    public func reapExpiredLeases(nowMs: Int64) throws -> [RecoveredJob] {
        try recover(SQL.Jobs.reapExpired, reason: "lease_expired", [":now": now(nowMs)], nowMs: nowMs)
    }

    private func recover(
        _ statement: SQL.Statement, reason: String, _ arguments: SQLArguments, nowMs: Int64
    ) throws -> [RecoveredJob] {
        try write { connection in
            let moved = try connection.query(statement, arguments) {
                (id: $0.string("id"), status: JobStatus(rawValue: $0.string("status"))!, attempt: $0.int("attempt"))
            }
            for job in moved {
                try recordEvent(
                    in: connection, jobID: job.id, nowMs: nowMs, kind: "status",
                    data: [
                        "status": .text(job.status.rawValue), "reason": .text(reason),
                        "attempt": .integer(job.attempt),
                        "error_code": .text(job.status == .failed ? "worker_lost" : nil),
                    ])
            }
            return moved.map { RecoveredJob(id: JobID($0.id), status: $0.status) }
        }
    }
}

/// Thrown inside a commit's transaction when the worker no longer holds the lease, to roll back
/// what the transaction wrote before its fence.
private struct LeaseFenceFailed: Error {}
