/// The worker side: claiming jobs, holding leases, committing progress, finishing, recovery.
extension PostgresStore {
    /// Claims the best queued job whose back-off has passed (highest priority, then oldest), or nil.
    ///
    /// The claim consumes an attempt and leases the job to `worker` until `nowMs + leaseMs`.
    public func claimJob(worker: String, nowMs: Int64, leaseMs: Int64) throws -> ClaimedJob? {
        precondition(!worker.isEmpty && leaseMs > 0, "a claim needs a worker and a lease")
        return try write { connection in
            let claimed = try connection.queryFirst(PostgresSQL.Jobs.claim, [
                ":worker": .text(worker), ":now": now(nowMs), ":lease_ms": .integer(leaseMs),
            ], JobRecord.init)
            guard let job = claimed else { return nil }
            try recordEvent(in: connection, jobID: job.id, nowMs: nowMs, kind: "status", data: [
                "status": .text("running"), "reason": .text("claimed"),
                "attempt": .integer(job.attempt), "worker": .text(worker),
            ])
            return ClaimedJob(job: job, checkpoint: try Self.checkpoint(in: connection, jobID: job.id))
        }
    }

    /// Extends `worker`'s lease and raises the progress fraction (it never decreases).
    ///
    /// `.lost` means another worker or the reaper has the job: stop without writing results.
    public func heartbeat(
        jobID: String, worker: String, nowMs: Int64, leaseMs: Int64, progressFraction: Double?
    ) throws -> LeaseState {
        // One statement, its own transaction: the most frequent write skips BEGIN/COMMIT.
        try read { connection in
            let cancelRequested = try connection.queryFirst(PostgresSQL.Jobs.heartbeat, [
                ":id": .text(jobID), ":worker": .text(worker), ":now": now(nowMs),
                ":lease_ms": .integer(leaseMs), ":progress_fraction": .real(progressFraction.map(LeaseMath.clampFraction)),
            ]) { $0.bool(0) }
            return cancelRequested.map { .held(cancelRequested: $0) } ?? .lost
        }
    }

    /// Records one finished meta-iteration in ONE transaction: its history row, the job's
    /// progress and latest/best, and the checkpoint to resume from.
    ///
    /// Writing the same meta-iteration again (a replay after a crash) overwrites its row, so the
    /// replay is idempotent. Answers false, having written nothing, when `worker` lost the lease.
    /// A `leaseMs` also extends the lease, saving a separate heartbeat.
    public func commitMetaIteration(
        jobID: String, worker: String, item: HistoryRow, checkpoint: [UInt8], progressDone: Int,
        progressFraction: Double, latestJSON: String?, bestJSON: String?, nowMs: Int64,
        leaseMs: Int64?
    ) throws -> Bool {
        precondition(item.metaIteration >= 0 && progressDone >= 0, "invalid meta-iteration commit")
        return try write { connection in
            let updated = try connection.run(PostgresSQL.Jobs.commitProgress, [
                ":id": .text(jobID), ":worker": .text(worker), ":progress_done": .integer(progressDone),
                ":progress_fraction": .real(LeaseMath.clampFraction(progressFraction)),
                ":latest_json": .text(latestJSON), ":best_json": .text(bestJSON),
                ":now": now(nowMs), ":lease_ms": .integer(leaseMs),
            ])
            guard updated == 1 else { return false }
            try connection.run(PostgresSQL.History.upsert, [
                ":job_id": .text(jobID), ":meta_iteration": .integer(item.metaIteration),
                ":item_json": .text(item.itemJSON), ":training_loss": .real(item.trainingLoss),
                ":validation_loss": .real(item.validationLoss),
                ":validation_error": .real(item.validationError),
                ":hypergradient_norm": .real(item.hypergradientNorm), ":seconds": .real(item.seconds),
                ":created_ms": .integer(item.createdMs),
            ])
            try connection.run(PostgresSQL.Checkpoints.upsert, [
                ":job_id": .text(jobID), ":meta_iteration": .integer(item.metaIteration),
                ":state": .blob(checkpoint), ":now": now(nowMs),
            ])
            return true
        }
    }

    /// Ends `worker`'s job as succeeded, failed (with an error code) or cancelled.
    ///
    /// Answers false, changing nothing, when `worker` no longer holds the lease.
    public func finishJob(
        jobID: String, worker: String, status: JobStatus, errorCode: String?,
        errorMessage: String?, nowMs: Int64
    ) throws -> Bool {
        precondition(status.isTerminal, "finishing a job as \(status)")
        precondition((status == .failed) == (errorCode != nil), "an error code goes with failed, only")
        return try write { connection in
            let finished = try connection.queryFirst(PostgresSQL.Jobs.finish, [
                ":id": .text(jobID), ":worker": .text(worker), ":status": .text(status.rawValue),
                ":error_code": .text(errorCode), ":error_message": .text(errorMessage),
                ":now": now(nowMs),
            ]) { _ in true } ?? false
            guard finished else { return false }
            try recordEvent(in: connection, jobID: jobID, nowMs: nowMs, kind: "status", data: [
                "status": .text(status.rawValue), "reason": .text("finished"), "error_code": .text(errorCode),
            ])
            return true
        }
    }

    /// Hands a job back at shutdown: queued again at once, lease cleared, the attempt not consumed
    /// (or cancelled, if cancellation was requested meanwhile). False when the lease was lost.
    public func releaseJob(jobID: String, worker: String, nowMs: Int64) throws -> Bool {
        try write { connection in
            let status = try connection.queryFirst(PostgresSQL.Jobs.release, [
                ":id": .text(jobID), ":worker": .text(worker), ":now": now(nowMs),
            ]) { $0.string(0) }
            guard let status else { return false }
            try recordEvent(in: connection, jobID: jobID, nowMs: nowMs, kind: "status",
                                 data: ["status": .text(status), "reason": .text("shutdown")])
            return true
        }
    }

    public func abandonJob(jobID: String, worker: String, nowMs: Int64) throws -> RecoveredJob? {
        try recover(PostgresSQL.Jobs.abandon, reason: "commit_failed", [
            ":id": .text(jobID), ":worker": .text(worker), ":now": now(nowMs),
        ], nowMs: nowMs).first
    }

    public func requeueOrphans(nodeID: String, bootID: String, nowMs: Int64) throws -> [RecoveredJob] {
        precondition(LeaseOwner.isValidID(nodeID) && LeaseOwner.isValidID(bootID), "invalid node or boot id")
        return try recover(PostgresSQL.Jobs.requeueOrphans, reason: "orphaned", [
            ":node_prefix": .text(LeaseOwner.nodePrefix(nodeID)),
            ":boot_prefix": .text(LeaseOwner.bootPrefix(nodeID, bootID)), ":now": now(nowMs),
        ], nowMs: nowMs)
    }

    /// The reaper: every running job whose lease expired before `nowMs` is requeued with capped
    /// exponential back-off, failed (`worker_lost`) when out of attempts, or cancelled when
    /// cancellation was requested.
    public func reapExpiredLeases(nowMs: Int64) throws -> [RecoveredJob] {
        try recover(PostgresSQL.Jobs.reapExpired, reason: "lease_expired", [":now": now(nowMs)], nowMs: nowMs)
    }

    private func recover(
        _ sql: PostgresQuery, reason: String, _ arguments: SQLArguments, nowMs: Int64
    ) throws -> [RecoveredJob] {
        try write { connection in
            let moved = try connection.query(sql, arguments) {
                (id: $0.string(0), status: JobStatus(rawValue: $0.string(1))!, attempt: $0.int(2))
            }
            for job in moved {
                try recordEvent(in: connection, jobID: job.id, nowMs: nowMs, kind: "status", data: [
                    "status": .text(job.status.rawValue), "reason": .text(reason),
                    "attempt": .integer(job.attempt),
                    "error_code": .text(job.status == .failed ? "worker_lost" : nil),
                ])
            }
            return moved.map { RecoveredJob(id: $0.id, status: $0.status) }
        }
    }
}
