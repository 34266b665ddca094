/// The shorter spellings callers use; protocol requirements cannot carry default arguments.
extension JobStore {
    public func listJobs(status: JobStatus? = nil, owner: String? = nil, limit: Int) throws -> JobPage {
        try listJobs(status: status, owner: owner, limit: limit, pageToken: nil)
    }

    public func listJobs(status: JobStatus?, limit: Int, pageToken: String?) throws -> JobPage {
        try listJobs(status: status, owner: nil, limit: limit, pageToken: pageToken)
    }

    public func listJobs(limit: Int, pageToken: String?) throws -> JobPage {
        try listJobs(status: nil, owner: nil, limit: limit, pageToken: pageToken)
    }
}

extension DatasetStore {
    /// Every owner's datasets (an admin's view).
    public func listDatasets() throws -> [DatasetRecord] {
        try listDatasets(owner: nil)
    }
}

extension HistoryStore {
    /// For stores that keep no sizes: the outlines of the whole rows.
    public func historyOutline(jobID: String, after: Int?, limit: Int) throws -> [HistoryOutline] {
        try history(jobID: jobID, after: after, limit: limit).map(HistoryOutline.init)
    }

    public func history(jobID: String, limit: Int) throws -> [HistoryRow] {
        try history(jobID: jobID, after: nil, limit: limit)
    }

    public func events(jobID: String, afterSeq: Int64 = 0) throws -> [JobEvent] {
        try events(jobID: jobID, afterSeq: afterSeq, limit: 1000)
    }
}

extension LeaseStore {
    public func heartbeat(jobID: JobID, worker: WorkerID, nowMs: Int64, leaseMs: Int64) throws -> LeaseState {
        try heartbeat(jobID: jobID, worker: worker, nowMs: nowMs, leaseMs: leaseMs, progressFraction: nil)
    }

    public func commitMetaIteration(
        jobID: JobID, worker: WorkerID, item: HistoryRow, checkpoint: [UInt8], progressDone: Int,
        progressFraction: Double, latestJSON: String?, bestJSON: String?, nowMs: Int64
    ) throws -> Bool {
        try commitMetaIteration(
            jobID: jobID, worker: worker, item: item, checkpoint: checkpoint, progressDone: progressDone,
            progressFraction: progressFraction, latestJSON: latestJSON, bestJSON: bestJSON, nowMs: nowMs,
            leaseMs: nil)
    }

    public func finishJob(
        jobID: JobID, worker: WorkerID, status: JobStatus, errorCode: String? = nil, nowMs: Int64
    ) throws -> Bool {
        try finishJob(
            jobID: jobID, worker: worker, status: status, errorCode: errorCode, errorMessage: nil, nowMs: nowMs)
    }
}

/// Shared by both engines' lease code.
enum LeaseMath {
    /// Keeps a fraction inside [0, 1]; NaN (a worker bug) leaves the stored value alone.
    static func clampFraction(_ fraction: Double) -> Double {
        guard !fraction.isNaN else { return 0 }
        return min(max(fraction, 0), 1)
    }
}
