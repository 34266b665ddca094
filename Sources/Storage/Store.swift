/// The job service's durable state as the layers above storage see it: jobs, their history and
/// events, the leases of the workers running them, data sets, and the keys and sessions of the
/// principals that own them.
///
/// `SQLStore` implements it once for two engines: `SQLiteStore` (one file, one machine: the
/// embedded default) and `PostgresStore` (one shared database, any number of API and worker
/// nodes), which supply connections, statements and a few hooks. The jobs, API and dashboard code
/// never learn which one runs; each engine keeps its own SQL and migrations, and one conformance
/// suite runs against both.
///
/// Every method is synchronous and may be called from any thread. Times are integer milliseconds
/// since the Unix epoch. The `nowMs` arguments are the caller's clock; an engine whose time
/// authority is the database (PostgreSQL, by default) decides leases and back-off on the
/// database's clock instead, so nodes whose clocks disagree still agree on who owns a job.
public protocol Store: JobStore, HistoryStore, LeaseStore, DatasetStore, DatasetChunkStore, AccessStore {
    /// The engine, for logs and `/readyz`: `sqlite` or `postgresql`.
    var engine: StoreEngine { get }
    /// The schema version after migration.
    var schemaVersion: Int { get }
    /// How many operations failed because another writer held a lock for too long (SQLite's
    /// `SQLITE_BUSY`) or a transaction had to be retried (PostgreSQL serialization failures).
    var busyErrorCount: Int { get }
    /// What this node knows about the database right now (see `DatabaseHealth`).
    var health: DatabaseHealth { get }
    /// Closes every connection; later calls throw `StoreError.closed`.
    func close() throws

    /// Throws unless a write could succeed now: for `/readyz`, which must turn 503 when writes
    /// fail, not only reads (an SQLite file deleted or replaced under the server, a PostgreSQL
    /// that only answers read-only).
    func checkWritable() throws
}

/// The lease owner names workers write into `jobs.lease_owner`: `NODE/BOOT/WORKER`.
///
/// The node id is stable across restarts of one service slot (`--node-id`), the boot id unique to
/// each start, so that a restarted node recognises its own earlier boot's jobs and nobody else's.
public enum LeaseOwner {
    public static func worker(nodeID: String, bootID: String, index: Int) -> WorkerID {
        WorkerID("\(nodeID)/\(bootID)/\(index)")
    }

    public static func nodePrefix(_ nodeID: String) -> String { "\(nodeID)/" }

    public static func bootPrefix(_ nodeID: String, _ bootID: String) -> String { "\(nodeID)/\(bootID)/" }

    /// True for ids usable as a node or boot id: not empty, at most 200 characters of letters,
    /// digits and `._:-` (no `/`, which separates the parts).
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 200
            && id.unicodeScalars.allSatisfy {
                $0.isASCII && (ASCII.isAlphanumeric($0) || "._:-".unicodeScalars.contains($0))
            }
    }
}

/// ASCII letters and digits, without Foundation's Unicode-wide `CharacterSet`.
enum ASCII {
    static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}

/// Which engine a store runs on.
public enum StoreEngine: String, Sendable, CaseIterable {
    case sqlite
    case postgresql
}

/// Submitting, reading, listing, cancelling and deleting jobs.
public protocol JobStore: Sendable {
    /// Enqueues a job, in one transaction with its idempotency key and its first event.
    /// Idempotency keys are scoped to `new.owner`: another owner's identical key is another key.
    ///
    /// The checks run in order: a known idempotency key answers `.replayed` or `.keyConflict` (a
    /// replay creates nothing, so a full queue does not refuse it); then `.queueFull` when
    /// `maxQueued` jobs are queued (on every node together); then `.datasetNotFound`.
    func insertJob(
        _ new: NewJob, idempotency: (key: String, requestSHA256: String)?, maxQueued: Int, nowMs: Int64
    ) throws -> InsertJobOutcome

    /// The job with `id`, or nil.
    func job(id: String) throws -> JobRecord?

    /// One page of jobs, newest first, optionally of one status and of one owner (nil: every
    /// owner's, as an admin sees them).
    ///
    /// - Throws: `StoreError.invalidPageToken` for a token not issued by this listing.
    func listJobs(status: JobStatus?, owner: String?, limit: Int, pageToken: String?) throws -> JobPage

    /// Cancels a queued job at once, or asks a running job's worker to stop.
    func requestCancel(jobID: JobID, nowMs: Int64) throws -> CancelOutcome

    /// Deletes a terminal job with its history, checkpoint, events and idempotency keys.
    func deleteJob(jobID: JobID) throws -> DeleteJobOutcome

    /// The number of jobs in each status, zeros included (the `rewind_jobs{status}` gauge).
    func jobCounts() throws -> [JobStatus: Int]

    /// Forgets idempotency keys created before `cutoffMs` (the API keeps them 24 hours).
    @discardableResult
    func purgeIdempotencyKeys(createdBeforeMs cutoffMs: Int64) throws -> Int

    /// Queues a failed or cancelled job again, with fresh attempts; its worker resumes from the
    /// last committed checkpoint. Refused with `.queueFull` when `maxQueued` jobs are queued.
    func retryJob(jobID: JobID, maxQueued: Int, nowMs: Int64) throws -> RetryJobOutcome
}

/// What a job left behind: its history items, its checkpoint and its recorded transitions.
public protocol HistoryStore: Sendable {
    /// History items with `metaIteration > after` (all when nil), in order.
    func history(jobID: String, after: Int?, limit: Int) throws -> [HistoryRow]

    /// The outlines of history items with `metaIteration > after` (all when nil), in order: their
    /// numbers and sizes without reading the items.
    func historyOutline(jobID: String, after: Int?, limit: Int) throws -> [HistoryOutline]

    /// The job's last committed checkpoint, or nil.
    func checkpoint(jobID: String) throws -> Checkpoint?

    /// The job's recorded transitions with `seq > afterSeq`, in order.
    func events(jobID: String, afterSeq: Int64, limit: Int) throws -> [JobEvent]
}

/// The worker side: claiming jobs, holding leases, committing progress, finishing, recovery.
///
/// Every write of a running job is fenced by its lease owner: a worker that lost its lease (the
/// reaper or another node has the job now) writes nothing more, and is told so.
public protocol LeaseStore: Sendable {
    /// Claims the best queued job whose back-off has passed (highest priority, then oldest), or nil.
    ///
    /// The claim consumes an attempt and leases the job to `worker` for `leaseMs`.
    func claimJob(worker: WorkerID, nowMs: Int64, leaseMs: Int64) throws -> ClaimedJob?

    /// Extends `worker`'s lease and raises the progress fraction (it never decreases).
    ///
    /// `.lost` means another worker or the reaper has the job: stop without writing results.
    func heartbeat(
        jobID: JobID, worker: WorkerID, nowMs: Int64, leaseMs: Int64, progressFraction: Double?
    ) throws -> LeaseState

    /// Records one finished meta-iteration in ONE transaction: its history row, the job's
    /// progress and latest/best, and the checkpoint to resume from.
    ///
    /// Writing the same meta-iteration again (a replay after a crash) overwrites its row, so the
    /// replay is idempotent. Answers false, having written nothing, when `worker` lost the lease.
    /// A `leaseMs` also extends the lease, saving a separate heartbeat.
    func commitMetaIteration(
        jobID: JobID, worker: WorkerID, item: HistoryRow, checkpoint: [UInt8], progressDone: Int,
        progressFraction: Double, latestJSON: String?, bestJSON: String?, nowMs: Int64,
        leaseMs: Int64?
    ) throws -> Bool

    /// Ends `worker`'s job as succeeded, failed (with an error code) or cancelled.
    ///
    /// Answers false, changing nothing, when `worker` no longer holds the lease.
    func finishJob(
        jobID: JobID, worker: WorkerID, status: JobStatus, errorCode: String?, errorMessage: String?,
        nowMs: Int64
    ) throws -> Bool

    /// Hands a job back at shutdown: queued again at once, lease cleared, the attempt not consumed
    /// (or cancelled, if cancellation was requested meanwhile). False when the lease was lost.
    func releaseJob(jobID: JobID, worker: WorkerID, nowMs: Int64) throws -> Bool

    /// Gives up `worker`'s attempt at once, as if its lease had expired: for a worker that could
    /// not commit (a full disk, a database gone read-only), so the job does not sit `running`
    /// with nobody working on it until the lease runs out. Nil when the lease was already lost.
    func abandonJob(jobID: JobID, worker: WorkerID, nowMs: Int64) throws -> RecoveredJob?

    /// Start-up recovery: the running jobs that an earlier boot of this node leased (owner
    /// `LeaseOwner.nodePrefix(nodeID)` but not `LeaseOwner.bootPrefix(nodeID, bootID)`) are
    /// recovered at once, without waiting for their leases to expire. Jobs of other nodes, live
    /// or not, are left to the reaper, which only takes expired leases.
    func requeueOrphans(nodeID: String, bootID: String, nowMs: Int64) throws -> [RecoveredJob]

    /// The reaper: every running job whose lease expired before now is recovered.
    ///
    /// Recovery (here, at start-up and in `abandonJob`) requeues the job with capped exponential
    /// back-off, fails it (`worker_lost`) when out of attempts, or cancels it when cancellation
    /// was requested. An attempt that committed progress since its claim is given back: only
    /// attempts that made no progress count against `maxAttempts`.
    func reapExpiredLeases(nowMs: Int64) throws -> [RecoveredJob]
}

/// Uploaded and built-in data sets.
public protocol DatasetStore: Sendable {
    /// Stores a parsed dataset; a dataset of the same owner with the same SHA-256 (or a built-in
    /// one) is answered instead (dedupe). Owners never see each other's uploads.
    func insertDataset(_ new: NewDataset, nowMs: Int64) throws -> InsertDatasetOutcome
    /// A dataset's metadata, or nil.
    func dataset(id: String) throws -> DatasetRecord?
    /// A dataset's stored content, or nil.
    func datasetContent(id: String) throws -> [UInt8]?
    /// The built-in datasets and those of `owner` (every owner's when nil), built-ins first, then
    /// oldest first.
    func listDatasets(owner: String?) throws -> [DatasetRecord]
    /// Deletes a dataset no queued or running job uses; terminal jobs keep their spec but lose
    /// the reference.
    func deleteDataset(id: String) throws -> DeleteDatasetOutcome
}
