/// A job's lifecycle state, as stored and as the API reports it.
///
/// A running job whose cancellation was requested stays `running` (with `cancelRequested`) until
/// its worker notices and finishes it as `cancelled`.
public enum JobStatus: String, Sendable, CaseIterable, Codable {
    case queued, running, succeeded, failed, cancelled

    /// True for the states a job never leaves.
    public var isTerminal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled: true
        }
    }
}

/// What the caller supplies to enqueue a job; everything else starts at its default.
public struct NewJob: Sendable, Equatable {
    /// A fresh id, e.g. from `TimeOrderedID.make(nowMs:)`.
    public var id: String
    public var name: String
    /// The validated spec with every default filled in; opaque to storage.
    public var specJSON: String
    /// The uploaded dataset the job reads, if any; it must exist.
    public var datasetID: String?
    /// Higher runs first.
    public var priority: Int
    /// The number of history items the job will write (`meta.iterations + 1`).
    public var progressTotal: Int
    /// Claims allowed before a job whose worker keeps disappearing is failed.
    public var maxAttempts: Int
    /// The principal that submitted it (`Principal.anonymous` without keys).
    public var owner: String
    /// Jobs the owner may have queued or running at once, this one included; nil: no cap (an
    /// admin, or single-user mode). Checked in the insert's transaction.
    public var maxActiveForOwner: Int?
    /// The warnings the submission is answered with (a JSON array, opaque to storage), kept so
    /// that the queued job shows them too; nil when none.
    public var warningsJSON: String?

    public init(
        id: String, name: String, specJSON: String, datasetID: String? = nil, priority: Int = 0,
        progressTotal: Int, maxAttempts: Int = 3, owner: String = Principal.anonymous, maxActiveForOwner: Int? = nil,
        warningsJSON: String? = nil
    ) {
        self.warningsJSON = warningsJSON
        self.owner = owner
        self.maxActiveForOwner = maxActiveForOwner
        self.id = id
        self.name = name
        self.specJSON = specJSON
        self.datasetID = datasetID
        self.priority = priority
        self.progressTotal = progressTotal
        self.maxAttempts = maxAttempts
    }
}

/// A job row as stored.
public struct JobRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var status: JobStatus
    public var specJSON: String
    public var datasetID: String?
    public var priority: Int
    public var createdMs: Int64
    public var startedMs: Int64?
    public var finishedMs: Int64?
    public var progressDone: Int
    public var progressTotal: Int
    /// In [0, 1]; never decreases.
    public var progressFraction: Double
    /// The API's `latest` object, opaque to storage.
    public var latestJSON: String?
    /// The API's `best` object, opaque to storage.
    public var bestJSON: String?
    /// Set exactly when the status is `failed`.
    public var errorCode: String?
    public var errorMessage: String?
    /// Claims that consumed an attempt (a shutdown hand-back does not).
    public var attempt: Int
    public var maxAttempts: Int
    /// A queued job is not claimed before this time (retry back-off).
    public var runAfterMs: Int64
    /// The worker holding the lease; set exactly when the status is `running`.
    public var leaseOwner: String?
    public var leaseExpiresMs: Int64?
    public var cancelRequested: Bool
    /// Bumped by every change to the row: an ETag, and a cursor for long polls.
    public var version: Int64
    /// The principal that submitted it; only it and admins see the job.
    public var owner: String = Principal.anonymous
    /// The warnings its submission was answered with (a JSON array, opaque to storage); nil when none.
    public var warningsJSON: String? = nil
}

/// A job handed to a worker by `Store.claimJob`, with the state to resume from.
public struct ClaimedJob: Sendable, Equatable {
    public var job: JobRecord
    /// The last committed checkpoint; nil when the job starts from scratch.
    public var checkpoint: Checkpoint?
}

/// The tuning state saved with a job's last committed meta-iteration; opaque to storage.
public struct Checkpoint: Sendable, Equatable {
    public var metaIteration: Int
    public var state: [UInt8]
    public var updatedMs: Int64
}

/// One history item: the API's JSON plus copies of its numbers for sorting and plotting.
public struct HistoryRow: Sendable, Equatable {
    public var metaIteration: Int
    /// The API history item, opaque to storage.
    public var itemJSON: String
    /// NaN cannot be stored in SQLite: it reads back as nil (the item JSON is authoritative).
    public var trainingLoss: Double?
    public var validationLoss: Double?
    public var validationError: Double?
    public var hypergradientNorm: Double?
    public var seconds: Double
    public var createdMs: Int64

    public init(
        metaIteration: Int, itemJSON: String, trainingLoss: Double?, validationLoss: Double?,
        validationError: Double?, hypergradientNorm: Double?, seconds: Double, createdMs: Int64
    ) {
        self.metaIteration = metaIteration
        self.itemJSON = itemJSON
        self.trainingLoss = trainingLoss
        self.validationLoss = validationLoss
        self.validationError = validationError
        self.hypergradientNorm = hypergradientNorm
        self.seconds = seconds
        self.createdMs = createdMs
    }
}

/// A history item's numbers and size without the item itself: what pages plan their reads by.
public struct HistoryOutline: Sendable, Equatable {
    public var metaIteration: Int
    /// Bytes of the item's JSON (UTF-8).
    public var itemBytes: Int
    public var trainingLoss: Double?
    public var validationLoss: Double?
    public var validationError: Double?
    public var hypergradientNorm: Double?
    public var seconds: Double

    public init(
        metaIteration: Int, itemBytes: Int, trainingLoss: Double?, validationLoss: Double?, validationError: Double?,
        hypergradientNorm: Double?, seconds: Double
    ) {
        self.metaIteration = metaIteration
        self.itemBytes = itemBytes
        self.trainingLoss = trainingLoss
        self.validationLoss = validationLoss
        self.validationError = validationError
        self.hypergradientNorm = hypergradientNorm
        self.seconds = seconds
    }

    /// The outline of a whole row.
    public init(_ row: HistoryRow) {
        self.init(
            metaIteration: row.metaIteration, itemBytes: row.itemJSON.utf8.count, trainingLoss: row.trainingLoss,
            validationLoss: row.validationLoss, validationError: row.validationError,
            hypergradientNorm: row.hypergradientNorm, seconds: row.seconds)
    }
}

/// A recorded transition of a job, numbered from 1 per job.
public struct JobEvent: Sendable, Equatable {
    public var seq: Int64
    public var atMs: Int64
    /// `status` for a change of status, `cancel_requested` when a running job is asked to stop.
    public var kind: String
    /// A JSON object: `status`, `reason` and, depending on the reason, `attempt`, `worker`,
    /// `error_code`.
    public var dataJSON: String
}

/// One page of `Store.listJobs`.
public struct JobPage: Sendable, Equatable {
    public var jobs: [JobRecord]
    /// Nil on the last page.
    public var nextPageToken: String?
}
