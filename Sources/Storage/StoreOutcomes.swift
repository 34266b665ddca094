/// The answer to `Store.insertJob`.
public enum InsertJobOutcome: Sendable, Equatable {
    /// The job is on disk, queued.
    case created(JobRecord)
    /// The idempotency key was seen with the same request hash: the original job, nothing new.
    case replayed(JobRecord)
    /// The idempotency key was seen with a different request.
    case keyConflict(existingJobID: String)
    /// As many jobs as allowed are already queued.
    case queueFull(queued: Int)
    /// The owner has `NewJob.maxActiveForOwner` jobs queued or running already.
    case ownerLimitReached(active: Int)
    /// The job names a dataset id that does not exist (checked in the same transaction).
    case datasetNotFound
}

/// Whether a worker still holds its job after a heartbeat.
public enum LeaseState: Sendable, Equatable {
    /// The lease is extended; `cancelRequested` asks the worker to stop and finish as cancelled.
    case held(cancelRequested: Bool)
    /// Another worker or the reaper has the job now: stop without writing anything.
    case lost
}

/// The answer to `Store.requestCancel`.
public enum CancelOutcome: Sendable, Equatable {
    /// The job was queued and is now cancelled.
    case cancelled(JobRecord)
    /// The job is running; its worker will stop at its next check.
    case cancelRequested(JobRecord)
    /// The job was cancelled before: nothing changed.
    case alreadyCancelled(JobRecord)
    /// The job had already succeeded or failed.
    case finished(JobRecord)
    case notFound
}

/// The answer to `Store.deleteJob`.
public enum DeleteJobOutcome: Sendable, Equatable {
    /// The job and its history, checkpoint, events and idempotency keys are gone.
    case deleted
    /// The job is queued or running: cancel it first.
    case notTerminal(JobStatus)
    case notFound
}

/// A job moved by the reaper or by start-up recovery.
public struct RecoveredJob: Sendable, Equatable {
    public var id: JobID
    /// `queued` to retry, `failed` when out of attempts, `cancelled` when cancellation was asked.
    public var status: JobStatus
}

/// The answer to `Store.retryJob`.
public enum RetryJobOutcome: Sendable, Equatable {
    /// The job is queued again, attempts reset, its history and checkpoint kept.
    case requeued(JobRecord)
    /// Only failed or cancelled jobs can be retried.
    case notRetryable(JobStatus)
    case queueFull(queued: Int)
    case notFound
}
