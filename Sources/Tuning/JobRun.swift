import JSON

/// A job's run as the service drives it, whatever the job's kind: a hyperparameter-tuning run
/// (`TuningRun`, the default) or the weight-sharing experiment (`WeightSharingRun`, `"kind":
/// "weight_sharing"`). Either writes `totalItems` history items, one `step` at a time, each from the
/// checkpoint the previous one left; the same spec gives the same items, bit for bit, in one go or
/// resumed from any checkpoint.
public protocol JobRun: Sendable {
    /// The job's name.
    var name: String { get }
    /// The normalised spec, every default filled in: what a job stores and `JobRequest.decodeJob`
    /// reads back to this run.
    var canonicalSpec: String { get }
    /// History items a complete run writes.
    var totalItems: Int { get }
    /// What the data and the spec give reason to doubt before any training.
    var dataWarnings: [JobWarning] { get }
    /// The state before the first item.
    func initialCheckpoint() -> TuningCheckpoint
    /// Whether the run has written its last item.
    func isComplete(_ checkpoint: TuningCheckpoint) -> Bool
    /// Whether a stored checkpoint belongs to this run (its sizes match); one that does not is ignored.
    func fits(_ checkpoint: TuningCheckpoint) -> Bool
    /// Computes item `checkpoint.nextItem`; `progress` gets the fraction of the job done and returning
    /// false cancels it (`TuningError.cancelled`).
    func step(
        _ checkpoint: TuningCheckpoint, progress: @escaping (Double) -> Bool
    ) throws(TuningError) -> (item: HistoryItem, next: TuningCheckpoint)
    /// An upper bound of the memory an item needs, at the checkpoint's hyperparameters.
    func memoryEstimate(at unconstrained: [Double]) -> MemoryEstimate
    /// `.overMemoryBudget` when the run would need more than `budget` bytes; nil when it fits.
    func memoryProblem(budget: Int) -> JobRequestError?
    /// Warnings from the items so far (overfitting, a diverging objective).
    func outcomeWarnings(
        latest: HistoryItem, best: BestSoFar?, first: (validationLoss: Double, testLoss: Double?)?
    ) -> [JobWarning]
}

extension TuningRun: JobRun {
    public var name: String { spec.name }
    public var canonicalSpec: String { spec.json().serializedString() }

    public func fits(_ checkpoint: TuningCheckpoint) -> Bool {
        checkpoint.nextItem <= totalItems && checkpoint.unconstrained.count == space.count
    }
}

/// A submission of any kind parsed once and ready to run: what the service stores and queues.
public struct SubmittedJob: Sendable {
    public let run: any JobRun
    public let dataset: ResolvedDataset

    public init(run: any JobRun, dataset: ResolvedDataset) {
        self.run = run
        self.dataset = dataset
    }
}

extension JobRequest {
    /// The job kinds a spec's `kind` names; left out, a hyperparameter-tuning job.
    public static let kinds = ["weight_sharing"]

    /// Turns a submitted spec of any kind into a ready run: `"kind": "weight_sharing"` to the
    /// weight-sharing experiment on the built-in Omniglot tasks, no `kind` to `prepare(specJSON:)`.
    public static func prepareJob(
        specJSON: JSONValue, upload: UploadedDatasetName? = nil, datasets: some DatasetResolver, threads: Int = 1
    ) -> Result<SubmittedJob, JobRequestError> {
        guard let kind = specJSON["kind"] else {
            return prepare(specJSON: specJSON, upload: upload, datasets: datasets, threads: threads).map {
                SubmittedJob(run: $0.run, dataset: $0.dataset)
            }
        }
        guard kind.stringValue.map(kinds.contains) == true else {
            return .failure(
                .invalidSpec([
                    SpecError(
                        field: "/kind",
                        message: "must be \"weight_sharing\" (the weight-sharing experiment) or left out "
                            + "(a hyperparameter-tuning job)")
                ]))
        }
        do {
            let settings = try WeightSharingSettings.parse(specJSON)
            return .success(
                SubmittedJob(
                    run: WeightSharingRun(settings: settings),
                    dataset: ResolvedDataset(reference: .builtin(WeightSharingRun.datasetName))))
        } catch {
            return .failure(.invalidSpec(error.errors))
        }
    }

    /// A spec of any kind from its bytes (`rewind run`).
    public static func prepareJob(
        specBytes: [UInt8], datasets: some DatasetResolver, threads: Int = 1
    ) -> Result<any JobRun, JobRequestError> {
        let value: JSONValue
        do {
            value = try JSONValue.parse(specBytes)
        } catch {
            return .failure(.malformedJSON(error))
        }
        return prepareJob(specJSON: value, datasets: datasets, threads: threads).map(\.run)
    }

    /// The run of a stored job of any kind, from its canonical spec.
    public static func decodeJob(
        canonicalSpec: String, datasets: some DatasetResolver, threads: Int = 1
    ) -> Result<any JobRun, JobRequestError> {
        prepareJob(specBytes: Array(canonicalSpec.utf8), datasets: datasets, threads: threads)
    }
}
