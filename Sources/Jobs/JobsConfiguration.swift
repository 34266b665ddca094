import Foundation
import NodeResources
import Storage

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
    /// Names this service slot across restarts (`--node-id`): at start-up, the node recovers at
    /// once the jobs its own earlier boots left running, and leaves every other node's to the
    /// reaper, which only takes expired leases.
    public var nodeID: String
    /// Unique to this process start: the lease owner of every worker is `nodeID/bootID/N`.
    public var bootID: String
    /// What decides the bits of this node's results (build, BLAS kernel family), recorded in every
    /// history item it computes; a job resumed under another fingerprint is logged.
    public var numericFingerprint: String

    /// The defaults suit many nodes: a dead node's jobs are back in the queue within
    /// `leaseMs + reaperIntervalMs` (20 s), while a PostgreSQL restart or a stalled inner step of
    /// up to ~15 s does not cost a live worker its lease.
    public static let defaultLeaseMs: Int64 = 15_000
    public static let defaultHeartbeatIntervalMs: Int64 = 250
    public static let defaultReaperIntervalMs: Int64 = 5_000
    /// Threads one job may use (`--job-threads`): its `meta.seeds` runs in parallel, or with one
    /// seed the two halves of every training step. The history is the same for any number.
    public var jobThreads: Int
    /// Bytes one job may hold; before each meta-iteration the run's estimate at its current
    /// (learned) momenta is checked, and a job past it fails `resource_exhausted`.
    public var jobMemoryBudget: Int = JobsConfiguration.defaultJobMemoryBudget

    /// The node's memory, shared with request bodies and pages: a worker holds its job's
    /// estimate from it while the job runs, so the jobs a node runs at once never add up to more
    /// than it can hold (a job that does not fit waits in the queue for one that ends).
    public var memoryBudget = MemoryBudget(capacity: MemoryLimits.current().defaultBudget)

    /// 1 GiB: admission control (the API) and the workers use the same default.
    public static let defaultJobMemoryBudget = 1 << 30

    public init(
        workers: Int, leaseMs: Int64 = defaultLeaseMs, heartbeatIntervalMs: Int64 = defaultHeartbeatIntervalMs,
        reaperIntervalMs: Int64 = defaultReaperIntervalMs, idlePollMs: Int = 1_000, nodeID: String? = nil,
        bootID: String, numericFingerprint: String = "unrecorded", jobThreads: Int = 1
    ) {
        // Without a node id of its own, a pool is a node of its own: it never recovers another
        // process's jobs at start-up (they wait for their leases), which is always safe.
        let nodeID = nodeID ?? "node-\(UUID().uuidString)"
        // Zero workers: an API-only node (it still reaps expired leases and relays events).
        precondition(workers >= 0, "a negative worker count")
        precondition(LeaseOwner.isValidID(nodeID) && LeaseOwner.isValidID(bootID), "invalid node or boot id")
        precondition(
            heartbeatIntervalMs > 0 && heartbeatIntervalMs < leaseMs && reaperIntervalMs > 0,
            "the heartbeat must come well within the lease")
        self.workers = workers
        self.leaseMs = leaseMs
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.reaperIntervalMs = reaperIntervalMs
        self.idlePollMs = idlePollMs
        self.nodeID = nodeID
        self.bootID = bootID
        self.numericFingerprint = numericFingerprint
        self.jobThreads = max(1, jobThreads)
    }
}

/// Milliseconds since the Unix epoch; injected so tests control time.
public typealias MillisecondClock = @Sendable () -> Int64
