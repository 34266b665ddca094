/// Submitting, reading, listing, cancelling and deleting jobs.
extension PostgresStore {
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
        return try write { connection in
            // One submission at a time across all nodes: the queue limit and keys stay exact.
            try connection.run(PostgresSQL.Session.lockSubmissions)
            if let idempotency {
                let seen = try connection.queryFirst(
                    PostgresSQL.IdempotencyKeys.byKey, [":owner": .text(new.owner), ":key": .text(idempotency.key)]
                ) { (requestSHA256: $0.string(0), jobID: $0.string(1)) }
                if let seen {
                    guard seen.requestSHA256 == idempotency.requestSHA256 else {
                        return .keyConflict(existingJobID: seen.jobID)
                    }
                    // The key row cascades with its job, so the job is there.
                    let job = try connection.queryFirst(PostgresSQL.Jobs.byID, [":id": .text(seen.jobID)], JobRecord.init)
                    return .replayed(job!)
                }
            }
            // Ids are fresh per request: one already stored is this very insert, committed by an
            // earlier run of this transaction whose COMMIT answer the connection lost.
            if let stored = try connection.queryFirst(PostgresSQL.Jobs.byID, [":id": .text(new.id)], JobRecord.init) {
                return .created(stored)
            }
            if let cap = new.maxActiveForOwner {
                let active = try connection.queryFirst(PostgresSQL.Jobs.countActiveOfOwner, [":owner": .text(new.owner)]) { $0.int(0) } ?? 0
                guard active < cap else { return .ownerLimitReached(active: active) }
            }
            let queued = try connection.queryFirst(PostgresSQL.Jobs.countQueued) { $0.int(0) } ?? 0
            guard queued < maxQueued else { return .queueFull(queued: queued) }
            if let datasetID = new.datasetID {
                let exists = try connection.queryFirst(PostgresSQL.Datasets.exists, [":id": .text(datasetID)]) { _ in true }
                guard exists != nil else { return .datasetNotFound }
            }
            let job = try connection.queryFirst(PostgresSQL.Jobs.insert, [
                ":id": .text(new.id), ":name": .text(new.name), ":spec_json": .text(new.specJSON),
                ":dataset_id": .text(new.datasetID), ":priority": .integer(new.priority),
                ":now": now(nowMs), ":progress_total": .integer(new.progressTotal),
                ":max_attempts": .integer(new.maxAttempts), ":owner": .text(new.owner),
            ], JobRecord.init)!
            if let idempotency {
                try connection.run(PostgresSQL.IdempotencyKeys.insert, [
                    ":owner": .text(new.owner), ":key": .text(idempotency.key), ":request_sha256": .text(idempotency.requestSHA256),
                    ":job_id": .text(new.id), ":now": now(nowMs),
                ])
            }
            try recordEvent(in: connection, jobID: new.id, nowMs: nowMs, kind: "status",
                                 data: ["status": .text("queued"), "reason": .text("submitted")])
            return .created(job)
        }
    }

    /// The job with `id`, or nil.
    public func job(id: String) throws -> JobRecord? {
        try read { try $0.queryFirst(PostgresSQL.Jobs.byID, [":id": .text(id)], JobRecord.init) }
    }

    /// One page of jobs, newest first, optionally of one status and one owner.
    ///
    /// - Throws: `StoreError.invalidPageToken` for a token not issued by this listing.
    public func listJobs(status: JobStatus?, owner: String?, limit: Int, pageToken: String?) throws -> JobPage {
        let listing = try JobListing(status: status, owner: owner, limit: limit, pageToken: pageToken)
        let sql = switch listing.query {
        case .first: PostgresSQL.Jobs.listFirst
        case .after: PostgresSQL.Jobs.listAfter
        case .statusFirst: PostgresSQL.Jobs.listStatusFirst
        case .statusAfter: PostgresSQL.Jobs.listStatusAfter
        }
        return listing.page(try read { try $0.query(sql, listing.arguments, JobRecord.init) })
    }

    /// Cancels a queued job at once, or asks a running job's worker to stop.
    public func requestCancel(jobID: String, nowMs: Int64) throws -> CancelOutcome {
        try write { connection in
            guard let job = try connection.queryFirst(PostgresSQL.Jobs.byIDForUpdate, [":id": .text(jobID)], JobRecord.init)
            else { return .notFound }
            switch job.status {
            case .queued:
                let cancelled = try connection.queryFirst(
                    PostgresSQL.Jobs.cancelQueued, [":id": .text(jobID), ":now": now(nowMs)], JobRecord.init)!
                try recordEvent(in: connection, jobID: jobID, nowMs: nowMs, kind: "status",
                                     data: ["status": .text("cancelled"), "reason": .text("cancel_requested")])
                return .cancelled(cancelled)
            case .running:
                guard !job.cancelRequested else { return .cancelRequested(job) }
                let flagged = try connection.queryFirst(
                    PostgresSQL.Jobs.cancelRunning, [":id": .text(jobID)], JobRecord.init)!
                try recordEvent(in: connection, jobID: jobID, nowMs: nowMs, kind: "cancel_requested",
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
        try write { connection in
            guard let raw = try connection.queryFirst(PostgresSQL.Jobs.statusByIDForUpdate, [":id": .text(jobID)], { $0.string(0) }),
                let status = JobStatus(rawValue: raw)
            else { return .notFound }
            guard status.isTerminal else { return .notTerminal(status) }
            try connection.run(PostgresSQL.Jobs.delete, [":id": .text(jobID)])
            return .deleted
        }
    }

    public func retryJob(jobID: String, maxQueued: Int, nowMs: Int64) throws -> RetryJobOutcome {
        try write { connection in
            try connection.run(PostgresSQL.Session.lockSubmissions)
            guard let raw = try connection.queryFirst(PostgresSQL.Jobs.statusByIDForUpdate, [":id": .text(jobID)], { $0.string(0) }),
                let status = JobStatus(rawValue: raw)
            else { return .notFound }
            guard status == .failed || status == .cancelled else { return .notRetryable(status) }
            let queued = try connection.queryFirst(PostgresSQL.Jobs.countQueued) { $0.int(0) } ?? 0
            guard queued < maxQueued else { return .queueFull(queued: queued) }
            let job = try connection.queryFirst(
                PostgresSQL.Jobs.retry, [":id": .text(jobID), ":now": now(nowMs)], JobRecord.init)!
            try recordEvent(in: connection, jobID: jobID, nowMs: nowMs, kind: "status",
                                 data: ["status": .text("queued"), "reason": .text("retried")])
            return .requeued(job)
        }
    }

    /// History items with `metaIteration > after` (all when nil), in order.
    public func history(jobID: String, after: Int?, limit: Int) throws -> [HistoryRow] {
        precondition(limit > 0, "a page holds at least one item")
        return try read { connection in
            try connection.query(PostgresSQL.History.page, [
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
        return try read { connection in
            try connection.query(PostgresSQL.Events.page, [
                ":job_id": .text(jobID), ":after": .integer(afterSeq), ":limit": .integer(limit),
            ]) { JobEvent(seq: $0.int64(0), atMs: $0.int64(1), kind: $0.string(2), dataJSON: $0.string(3)) }
        }
    }

    /// Forgets idempotency keys created before `cutoffMs` (the API keeps them 24 hours).
    @discardableResult
    public func purgeIdempotencyKeys(createdBeforeMs cutoffMs: Int64) throws -> Int {
        try write { try $0.run(PostgresSQL.IdempotencyKeys.deleteOlderThan, [":cutoff": .integer(cutoffMs)]) }
    }

    static func checkpoint(in connection: PostgresConnection, jobID: String) throws -> Checkpoint? {
        try connection.queryFirst(PostgresSQL.Checkpoints.byJob, [":job_id": .text(jobID)]) {
            Checkpoint(metaIteration: $0.int(0), state: $0.blob(1), updatedMs: $0.int64(2))
        }
    }

    func recordEvent(
        in connection: PostgresConnection, jobID: String, nowMs: Int64, kind: String,
        data: KeyValuePairs<String, SQLValue>
    ) throws {
        try connection.run(PostgresSQL.Events.insert, [
            ":job_id": .text(jobID), ":now": now(nowMs), ":kind": .text(kind),
            ":data_json": .text(EventData.json(data)),
        ])
    }
}
