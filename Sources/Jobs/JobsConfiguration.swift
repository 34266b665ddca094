/// How the worker pool runs jobs.
public struct JobsConfiguration: Sendable {
    /// Jobs trained at once; each holds one core (BLAS runs single-threaded per worker).
    public var workers: Int
    /// How long a claim stays valid without a heartbeat.
    public var leaseMs: Int64
    /// Minimum time between two progress writes (heartbeats) of one job.
    public var heartbeatIntervalMs: Int64
    /// How often expired leases are reaped.
    public var reaperIntervalMs: Int64
    /// How long an idle worker sleeps before polling the queue again (it is also woken on submit).
    public var idlePollMs: Int
    /// A prefix unique to this process start: the lease owner of every worker is `bootID/N`.
    public var bootID: String
    /// Threads one job trains its `meta.seeds` runs on (the history is the same for any number).
    public var seedThreads: Int

    public init(
        workers: Int, leaseMs: Int64 = 60_000, heartbeatIntervalMs: Int64 = 250,
        reaperIntervalMs: Int64 = 15_000, idlePollMs: Int = 1_000, bootID: String, seedThreads: Int = 1
    ) {
        precondition(workers >= 1, "at least one worker")
        self.workers = workers
        self.leaseMs = leaseMs
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.reaperIntervalMs = reaperIntervalMs
        self.idlePollMs = idlePollMs
        self.bootID = bootID
        self.seedThreads = max(1, seedThreads)
    }
}

/// Milliseconds since the Unix epoch; injected so tests control time.
public typealias MillisecondClock = @Sendable () -> Int64
