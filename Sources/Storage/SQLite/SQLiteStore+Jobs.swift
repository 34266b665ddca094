/// Submitting, reading, listing, cancelling and deleting jobs.
extension SQLiteStore {
    /// Enqueues a job, in one transaction with its idempotency key and its first event.
    ///
    /// The checks run in order: a known idempotency key answers `.replayed` or `.keyConflict` (a
    /// replay creates nothing, so a full queue does not refuse it); then `.ownerLimitReached`
    /// when the owner has `new.maxActiveForOwner` jobs queued or running; then `.queueFull` when
    /// `maxQueued` jobs are queued; then `.datasetNotFound`.
    public func insertJob(
        _ new: NewJob, idempotency: (key: String, requestSHA256: String)?, maxQueued: Int, nowMs: Int64
    ) throws -> InsertJobOutcome {
        precondition(new.progressTotal >= 0 && new.maxAttempts >= 1, "invalid NewJob \(new.id)")
        return try write { database in
            if let idempotency {
                let seen = try database.queryFirst(
                    SQLiteSQL.IdempotencyKeys.byKey, [":owner": .text(new.owner), ":key": .text(idempotency.key)]
                ) { (requestSHA256: $0.string(0), jobID: $0.string(1)) }
                if let seen {
                    guard seen.requestSHA256 == idempotency.requestSHA256 else {
                        return .keyConflict(existingJobID: seen.jobID)
                    }
                    // The key row cascades with its job, so the job is there.
                    let job = try database.queryFirst(SQLiteSQL.Jobs.byID, [":id": .text(seen.jobID)], JobRecord.init)
                    return .replayed(job!)
                }
            }
            if let cap = new.maxActiveForOwner {
                let active = try database.queryFirst(SQLiteSQL.Jobs.countActiveOfOwner, [":owner": .text(new.owner)]) { $0.int(0) } ?? 0
                guard active < cap else { return .ownerLimitReached(active: active) }
            }
            let queued = try database.queryFirst(SQLiteSQL.Jobs.countQueued) { $0.int(0) } ?? 0
            guard queued < maxQueued else { return .queueFull(queued: queued) }
            if let datasetID = new.datasetID {
                let exists = try database.queryFirst(SQLiteSQL.Datasets.exists, [":id": .text(datasetID)]) { _ in true }
                guard exists != nil else { return .datasetNotFound }
            }
            let job = try database.queryFirst(SQLiteSQL.Jobs.insert, [
                ":id": .text(new.id), ":name": .text(new.name), ":spec_json": .text(new.specJSON),
                ":dataset_id": .text(new.datasetID), ":priority": .integer(new.priority),
                ":now": .integer(nowMs), ":progress_total": .integer(new.progressTotal),
                ":max_attempts": .integer(new.maxAttempts), ":owner": .text(new.owner),
            ], JobRecord.init)!
            if let idempotency {
                try database.run(SQLiteSQL.IdempotencyKeys.insert, [
                    ":owner": .text(new.owner), ":key": .text(idempotency.key), ":request_sha256": .text(idempotency.requestSHA256),
                    ":job_id": .text(new.id), ":now": .integer(nowMs),
                ])
            }
            try Self.recordEvent(in: database, jobID: new.id, nowMs: nowMs, kind: "status",
                                 data: ["status": .text("queued"), "reason": .text("submitted")])
            return .created(job)
        }
    }

    /// The job with `id`, or nil.
    public func job(id: String) throws -> JobRecord? {
        try read { try $0.queryFirst(SQLiteSQL.Jobs.byID, [":id": .text(id)], JobRecord.init) }
    }

    /// One page of jobs, newest first, optionally of one status and one owner.
    ///
    /// - Throws: `StoreError.invalidPageToken` for a token not issued by this listing.
    public func listJobs(status: JobStatus?, owner: String?, limit: Int, pageToken: String?) throws -> JobPage {
        let listing = try JobListing(status: status, owner: owner, limit: limit, pageToken: pageToken)
        let sql = switch listing.query {
        case .first: SQLiteSQL.Jobs.listFirst
        case .after: SQLiteSQL.Jobs.listAfter
        case .statusFirst: SQLiteSQL.Jobs.listStatusFirst
        case .statusAfter: SQLiteSQL.Jobs.listStatusAfter
        }
        return listing.page(try read { try $0.query(sql, listing.arguments, JobRecord.init) })
    }

    /// Cancels a queued job at once, or asks a running job's worker to stop.
    public func requestCancel(jobID: String, nowMs: Int64) throws -> CancelOutcome {
        try write { database in
            guard let job = try database.queryFirst(SQLiteSQL.Jobs.byID, [":id": .text(jobID)], JobRecord.init)
            else { return .notFound }
            switch job.status {
            case .queued:
                let cancelled = try database.queryFirst(
                    SQLiteSQL.Jobs.cancelQueued, [":id": .text(jobID), ":now": .integer(nowMs)], JobRecord.init)!
                try Self.recordEvent(in: database, jobID: jobID, nowMs: nowMs, kind: "status",
                                     data: ["status": .text("cancelled"), "reason": .text("cancel_requested")])
                return .cancelled(cancelled)
            case .running:
                guard !job.cancelRequested else { return .cancelRequested(job) }
                let flagged = try database.queryFirst(
                    SQLiteSQL.Jobs.cancelRunning, [":id": .text(jobID)], JobRecord.init)!
                try Self.recordEvent(in: database, jobID: jobID, nowMs: nowMs, kind: "cancel_requested",
                                     data: ["status": .text("running"), "reason": .text("cancel_requested")])
                return .cancelRequested(flagged)
            case .cancelled:
                return .alreadyCancelled(job)
            case .succeeded, .failed:
                return .finished(job)
            }
        }
    }

    /// Deletes a terminal job with its history, checkpoint, events and idempotency keys.
    public func deleteJob(jobID: String) throws -> DeleteJobOutcome {
        try write { database in
            guard let raw = try database.queryFirst(SQLiteSQL.Jobs.statusByID, [":id": .text(jobID)], { $0.string(0) }),
                let status = JobStatus(rawValue: raw)
            else { return .notFound }
            guard status.isTerminal else { return .notTerminal(status) }
            try database.run(SQLiteSQL.Jobs.delete, [":id": .text(jobID)])
            return .deleted
        }
    }

    public func retryJob(jobID: String, maxQueued: Int, nowMs: Int64) throws -> RetryJobOutcome {
        try write { database in
            guard let raw = try database.queryFirst(SQLiteSQL.Jobs.statusByID, [":id": .text(jobID)], { $0.string(0) }),
                let status = JobStatus(rawValue: raw)
            else { return .notFound }
            guard status == .failed || status == .cancelled else { return .notRetryable(status) }
            let queued = try database.queryFirst(SQLiteSQL.Jobs.countQueued) { $0.int(0) } ?? 0
            guard queued < maxQueued else { return .queueFull(queued: queued) }
            let job = try database.queryFirst(
                SQLiteSQL.Jobs.retry, [":id": .text(jobID), ":now": .integer(nowMs)], JobRecord.init)!
            try Self.recordEvent(in: database, jobID: jobID, nowMs: nowMs, kind: "status",
                                 data: ["status": .text("queued"), "reason": .text("retried")])
            return .requeued(job)
        }
    }

    /// History items with `metaIteration > after` (all when nil), in order.
    public func history(jobID: String, after: Int?, limit: Int) throws -> [HistoryRow] {
        precondition(limit > 0, "a page holds at least one item")
        return try read { database in
            try database.query(SQLiteSQL.History.page, [
                ":job_id": .text(jobID), ":after": .integer(after ?? -1), ":limit": .integer(limit),
            ], HistoryRow.init)
        }
    }

    /// The job's last committed checkpoint, or nil.
    public func checkpoint(jobID: String) throws -> Checkpoint? {
        try read { try Self.checkpoint(in: $0, jobID: jobID) }
    }

    /// The job's recorded transitions with `seq > afterSeq`, in order.
    public func events(jobID: String, afterSeq: Int64, limit: Int) throws -> [JobEvent] {
        precondition(limit > 0, "a page holds at least one event")
        return try read { database in
            try database.query(SQLiteSQL.Events.page, [
                ":job_id": .text(jobID), ":after": .integer(afterSeq), ":limit": .integer(limit),
            ]) { JobEvent(seq: $0.int64(0), atMs: $0.int64(1), kind: $0.string(2), dataJSON: $0.string(3)) }
        }
    }

    /// Forgets idempotency keys created before `cutoffMs` (the API keeps them 24 hours).
    @discardableResult
    public func purgeIdempotencyKeys(createdBeforeMs cutoffMs: Int64) throws -> Int {
        try write { try $0.run(SQLiteSQL.IdempotencyKeys.deleteOlderThan, [":cutoff": .integer(cutoffMs)]) }
    }

    static func checkpoint(in database: Database, jobID: String) throws -> Checkpoint? {
        try database.queryFirst(SQLiteSQL.Checkpoints.byJob, [":job_id": .text(jobID)]) {
            Checkpoint(metaIteration: $0.int(0), state: $0.blob(1), updatedMs: $0.int64(2))
        }
    }

    static func recordEvent(
        in database: Database, jobID: String, nowMs: Int64, kind: String,
        data: KeyValuePairs<String, SQLValue>
    ) throws {
        try database.run(SQLiteSQL.Events.insert, [
            ":job_id": .text(jobID), ":now": .integer(nowMs), ":kind": .text(kind),
            ":data_json": .text(EventData.json(data)),
        ])
    }
}
