/// Limits and policies of the HTTP API.
public struct APIConfiguration: Sendable {
    /// Jobs allowed in the queue at once; past it a submission answers 429 with `Retry-After`.
    public var maxQueuedJobs: Int
    /// Largest JSON request body (413 past it, decided from `Content-Length` before reading).
    public var jsonBodyLimit: Int
    /// Largest CSV data set upload.
    public var datasetBodyLimit: Int
    /// Bearer keys accepted on `/v1/` routes; empty means no authentication (loopback use).
    public var apiKeys: Set<String>
    /// Reported by `/metrics` and the dashboard.
    public var version: String

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
