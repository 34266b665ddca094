import NodeResources

/// Limits and policies of the HTTP API. Every default is the documented one (docs/security.md).
public struct APIConfiguration: Sendable {
    /// Jobs allowed in the queue at once; past it a submission answers 429 with `Retry-After`.
    public var maxQueuedJobs: Int
    /// Jobs one non-admin key may have queued or running at once (429 `key-job-limit` beyond),
    /// so one tenant cannot fill the queue for everyone. Admins and single-user mode are exempt.
    public var maxJobsPerKey: Int = 20
    /// Largest JSON request body (413 past it, decided from `Content-Length` before reading).
    public var jsonBodyLimit: Int
    /// Largest CSV data set upload.
    public var datasetBodyLimit: Int
    /// Bearer keys accepted on `/v1/` routes; empty means no authentication (loopback use).
    public var apiKeys: Set<String>
    /// Reported by `/metrics` and the dashboard.
    public var version: String
    /// Bytes one job may use (information buffer, model, workspaces, data); a spec estimated
    /// past it is refused with 422 naming the fields that drive the estimate.
    public var jobMemoryBudget: Int = 1 << 30
    /// The address the server listens on: `Host` headers naming it are accepted.
    public var listenHost: String = "127.0.0.1"
    /// Further host names (without port) accepted in `Host`; `*` accepts any. Loopback names
    /// are always accepted when listening on loopback.
    public var allowedHosts: Set<String> = []
    /// Event streams open at once in all (503 beyond) and per client address (429 beyond).
    public var maxEventStreams: Int = 1024
    public var maxEventStreamsPerClient: Int = 16
    /// The node's memory budget (`--memory-budget-mb`): request bodies draw from it as they
    /// arrive, uploads for their parse, and jobs for their estimate; what does not fit waits
    /// briefly or is answered 503 with `Retry-After`. One per process, shared with the HTTP
    /// server and the worker pool.
    public var memoryBudget = MemoryBudget(capacity: MemoryLimits.current().defaultBudget)
    /// Data set uploads parsed at once (503 with `Retry-After` beyond): each holds its body and
    /// the parsed form in memory.
    public var maxConcurrentUploads: Int = 2
    /// Bytes all uploaded data sets may occupy in their stored form (507 beyond).
    public var datasetStorageQuota: Int = 2 << 30
    /// A history page stops adding items past this many bytes (it always carries at least one).
    public var historyPageBytes: Int = 4 << 20
    /// Submissions (jobs and data sets) per principal: a burst, then a steady rate per second.
    public var submissionBurst: Double = 60
    public var submissionsPerSecond: Double = 5
    /// How long a dashboard sign-in lasts (its session expires, then the key is asked again).
    public var sessionLifetimeMs: Int64 = 12 * 3_600_000
    /// Failed authentications (wrong key, wrong sign-in) per client address.
    public var authFailureBurst: Double = 10
    public var authFailuresPerSecond: Double = 1
    /// How long one request's database calls may wait for a pooled connection and retry short
    /// failures in all; a database known to be down is answered 503 at once.
    public var storageDeadline: Duration = .seconds(5)

    public init(
        maxQueuedJobs: Int = 100, jsonBodyLimit: Int = 1 << 20, datasetBodyLimit: Int = 64 << 20,
        apiKeys: Set<String> = [], version: String = "dev"
    ) {
        self.maxQueuedJobs = maxQueuedJobs
        self.jsonBodyLimit = jsonBodyLimit
        self.datasetBodyLimit = datasetBodyLimit
        self.apiKeys = apiKeys
        self.version = version
    }
}
