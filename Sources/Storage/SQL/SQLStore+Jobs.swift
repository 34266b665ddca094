/// Submitting, reading, listing, cancelling, retrying and deleting jobs, and what a job left behind.
extension SQLStore {
    /// Enqueues a job, in one transaction with its idempotency key and its first event.
    ///
    /// The checks run in order: a known idempotency key answers `.replayed` or `.keyConflict` (a
    /// replay creates nothing, so a full queue does not refuse it); then `.ownerLimitReached`
    /// when the owner has `new.maxActiveForOwner` jobs queued or running; then `.queueFull` when
    /// `maxQueued` jobs are queued (on every node together); then `.datasetNotFound`.
    public func insertJob(
        _ new: NewJob, idempotency: (key: String, requestSHA256: String)?, maxQueued: Int, nowMs: Int64
    ) throws -> InsertJobOutcome {
        precondition(new.progressTotal >= 0 && new.maxAttempts >= 1, "invalid NewJob \(new.id)")
        return try write { connection in
            // One submission at a time across all nodes: the queue limit and keys stay exact.
            if let lock = SQL.Jobs.lockSubmissions { try connection.run(lock, [:]) }
            if let idempotency {
                let seen = try connection.queryFirst(
                    SQL.IdempotencyKeys.byKey, [":owner": .text(new.owner), ":key": .text(idempotency.key)]
                ) { (requestSHA256: $0.string("request_sha256"), jobID: $0.string("job_id")) }
                if let seen {
                    guard seen.requestSHA256 == idempotency.requestSHA256 else {
                        return .keyConflict(existingJobID: seen.jobID)
                    }
                    // The key row cascades with its job, so the job is there.
                    let job = try connection.queryFirst(SQL.Jobs.byID, [":id": .text(seen.jobID)], JobRecord.init)
                    return .replayed(job!)
                }
            }
            // Ids are fresh per request: one already stored is this very insert, committed by an
            // earlier run of this transaction whose COMMIT answer the connection lost.
            if Self.writesMayRepeat,
                let stored = try connection.queryFirst(SQL.Jobs.byID, [":id": .text(new.id)], JobRecord.init)
            {
                return .created(stored)
            }
            if let cap = new.maxActiveForOwner {
                let active =
                    try connection.queryFirst(SQL.Jobs.countActiveOfOwner, [":owner": .text(new.owner)]) {
                        $0.int("count")
                    } ?? 0
                guard active < cap else { return .ownerLimitReached(active: active) }
            }
            let queued = try connection.queryFirst(SQL.Jobs.countQueued, [:]) { $0.int("count") } ?? 0
            guard queued < maxQueued else { return .queueFull(queued: queued) }
            if let datasetID = new.datasetID {
                let exists = try connection.queryFirst(SQL.Datasets.exists, [":id": .text(datasetID)]) { _ in true }
                guard exists != nil else { return .datasetNotFound }
            }
            let job = try connection.queryFirst(
                SQL.Jobs.insert,
                [
                    ":id": .text(new.id), ":name": .text(new.name), ":spec_json": .text(new.specJSON),
                    ":dataset_id": .text(new.datasetID), ":priority": .integer(new.priority),
                    ":now": now(nowMs), ":progress_total": .integer(new.progressTotal),
                    ":max_attempts": .integer(new.maxAttempts), ":owner": .text(new.owner),
                    ":warnings_json": .text(new.warningsJSON),
                ], JobRecord.init)!
            if let idempotency {
                try connection.run(
                    SQL.IdempotencyKeys.insert,
                    [
                        ":owner": .text(new.owner), ":key": .text(idempotency.key),
                        ":request_sha256": .text(idempotency.requestSHA256), ":job_id": .text(new.id),
                        ":now": now(nowMs),
                    ])
            }
            try recordEvent(
                in: connection, jobID: new.id, nowMs: nowMs, kind: "status",
                data: ["status": .text("queued"), "reason": .text("submitted")])
            return .created(job)
        }
    }

    /// The job with `id`, or nil.
    public func job(id: String) throws -> JobRecord? {
        try read { try $0.queryFirst(SQL.Jobs.byID, [":id": .text(id)], JobRecord.init) }
    }

    /// One page of jobs, newest first, optionally of one status and one owner.
    ///
    /// - Throws: `StoreError.invalidPageToken` for a token not issued by this listing.
    public func listJobs(status: JobStatus?, owner: String?, limit: Int, pageToken: String?) throws -> JobPage {
        let listing = try JobListing(status: status, owner: owner, limit: limit, pageToken: pageToken)
        let statement =
            switch listing.query {
            case .first: SQL.Jobs.listFirst
            case .after: SQL.Jobs.listAfter
            case .statusFirst: SQL.Jobs.listStatusFirst
            case .statusAfter: SQL.Jobs.listStatusAfter
            }
        return listing.page(try read { try $0.query(statement, listing.arguments, JobRecord.init) })
    }

    /// Cancels a queued job at once, or asks a running job's worker to stop.
    public func requestCancel(jobID: JobID, nowMs: Int64) throws -> CancelOutcome {
        let id = jobID.rawValue
        return try write { connection in
            guard let job = try connection.queryFirst(SQL.Jobs.byIDForUpdate, [":id": .text(id)], JobRecord.init)
            else { return .notFound }
            switch job.status {
            case .queued:
                let cancelled = try connection.queryFirst(
                    SQL.Jobs.cancelQueued, [":id": .text(id), ":now": now(nowMs)], JobRecord.init)!
                try recordEvent(
                    in: connection, jobID: id, nowMs: nowMs, kind: "status",
                    data: ["status": .text("cancelled"), "reason": .text("cancel_requested")])
                return .cancelled(cancelled)
            case .running:
                guard !job.cancelRequested else { return .cancelRequested(job) }
                let flagged = try connection.queryFirst(SQL.Jobs.cancelRunning, [":id": .text(id)], JobRecord.init)!
                try recordEvent(
                    in: connection, jobID: id, nowMs: nowMs, kind: "cancel_requested",
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
    public func deleteJob(jobID: JobID) throws -> DeleteJobOutcome {
        try write { connection in
            guard let status = try Self.status(in: connection, jobID: jobID) else { return .notFound }
            guard status.isTerminal else { return .notTerminal(status) }
            try connection.run(SQL.Jobs.delete, [":id": .text(jobID.rawValue)])
            return .deleted
        }
    }

    /// Queues a failed or cancelled job again, with fresh attempts.
    public func retryJob(jobID: JobID, maxQueued: Int, nowMs: Int64) throws -> RetryJobOutcome {
        try write { connection in
            if let lock = SQL.Jobs.lockSubmissions { try connection.run(lock, [:]) }
            guard let status = try Self.status(in: connection, jobID: jobID) else { return .notFound }
            guard status == .failed || status == .cancelled else { return .notRetryable(status) }
            let queued = try connection.queryFirst(SQL.Jobs.countQueued, [:]) { $0.int("count") } ?? 0
            guard queued < maxQueued else { return .queueFull(queued: queued) }
            let job = try connection.queryFirst(
                SQL.Jobs.retry, [":id": .text(jobID.rawValue), ":now": now(nowMs)], JobRecord.init)!
            try recordEvent(
                in: connection, jobID: jobID.rawValue, nowMs: nowMs, kind: "status",
                data: ["status": .text("queued"), "reason": .text("retried")])
            return .requeued(job)
        }
    }

    /// History items with `metaIteration > after` (all when nil), in order.
    public func history(jobID: String, after: Int?, limit: Int) throws -> [HistoryRow] {
        precondition(limit > 0, "a page holds at least one item")
        return try read { connection in
            try connection.query(
                SQL.History.page,
                [
                    ":job_id": .text(jobID), ":after": .integer(after ?? -1), ":limit": .integer(limit),
                ], HistoryRow.init)
        }
    }

    /// The outlines of history items with `metaIteration > after` (all when nil), in order.
    public func historyOutline(jobID: String, after: Int?, limit: Int) throws -> [HistoryOutline] {
        precondition(limit > 0, "a page holds at least one item")
        return try read { connection in
            try connection.query(
                SQL.History.outline,
                [
                    ":job_id": .text(jobID), ":after": .integer(after ?? -1), ":limit": .integer(limit),
                ], HistoryOutline.init)
        }
    }

    /// The job's last committed checkpoint, or nil.
    public func checkpoint(jobID: String) throws -> Checkpoint? {
        try read { try checkpoint(in: $0, jobID: jobID) }
    }

    /// The job's recorded transitions with `seq > afterSeq`, in order.
    public func events(jobID: String, afterSeq: Int64, limit: Int) throws -> [JobEvent] {
        precondition(limit > 0, "a page holds at least one event")
        return try read { connection in
            try connection.query(
                SQL.Events.page,
                [
                    ":job_id": .text(jobID), ":after": .integer(afterSeq), ":limit": .integer(limit),
                ], JobEvent.init)
        }
    }

    /// Forgets idempotency keys created before `cutoffMs` (the API keeps them 24 hours).
    @discardableResult
    public func purgeIdempotencyKeys(createdBeforeMs cutoffMs: Int64) throws -> Int {
        try write { try $0.run(SQL.IdempotencyKeys.deleteOlderThan, [":cutoff": .integer(cutoffMs)]) }
    }

    /// The status of `jobID`, its row locked for the rest of the transaction; nil when there is none.
    private static func status(in connection: Connection, jobID: JobID) throws -> JobStatus? {
        let raw = try connection.queryFirst(SQL.Jobs.statusForUpdate, [":id": .text(jobID.rawValue)]) {
            $0.string("status")
        }
        return raw.flatMap(JobStatus.init(rawValue:))
    }
}
