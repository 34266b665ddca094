import JSON

/// Finds the data set a spec names: built-ins here, uploaded ones in the service's store, local
/// files in `rewind run`.
public protocol DatasetResolver {
    func dataset(_ reference: DatasetReference) -> Dataset?
    /// The data set, or why not; by default `dataset(_:)` or "no such data set".
    func resolve(_ reference: DatasetReference) -> Result<Dataset, JobRequestError>
}

extension DatasetResolver {
    public func resolve(_ reference: DatasetReference) -> Result<Dataset, JobRequestError> {
        if let dataset = dataset(reference) { return .success(dataset) }
        return .failure(.invalidSpec([DatasetReference.notFound(reference)]))
    }
}

extension DatasetReference {
    /// The one answer for a data set that cannot be used. An uploaded id that is missing and one
    /// that belongs to another principal get the same words: the id is all the message holds.
    public static func notFound(_ reference: DatasetReference) -> SpecError {
        switch reference {
        case .builtin(let name): SpecError(field: "/dataset/name", message: "no built-in data set named \(name)")
        case .uploaded(let id): SpecError(field: "/dataset/id", message: "no such data set: \(id)")
        case .file:
            SpecError(
                field: "/dataset/path",
                message:
                    "a local file can only be used by rewind run; upload it (POST /v1/datasets?name=NAME) and name it by {\"id\": ...}"
            )
        }
    }
}

/// Resolves only the built-in data sets (the local `rewind run`).
public struct BuiltinDatasetResolver: DatasetResolver {
    public init() {}

    public func dataset(_ reference: DatasetReference) -> Dataset? {
        guard case .builtin(let name) = reference else { return nil }
        return BuiltinDatasets.named(name)
    }

    public func resolve(_ reference: DatasetReference) -> Result<Dataset, JobRequestError> {
        if let dataset = dataset(reference) { return .success(dataset) }
        if case .builtin("mnist") = reference {
            return .failure(.invalidSpec([SpecError(field: "/dataset/name", message: MNISTData.missingMessage)]))
        }
        return .failure(.invalidSpec([DatasetReference.notFound(reference)]))
    }
}

/// An uploaded data set a submission may refer to, as the service found it among the caller's
/// own before parsing: its id and its name.
public struct UploadedDatasetName: Sendable, Equatable {
    public var id: String
    public var name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// A submission's data set once resolved: the reference the canonical spec stores (an upload by
/// its id) and the name the submitter wrote for it, if they named it rather than giving its id.
public struct ResolvedDataset: Sendable, Equatable {
    public var reference: DatasetReference
    public var writtenName: String?

    public init(reference: DatasetReference, writtenName: String? = nil) {
        self.reference = reference
        self.writtenName = writtenName
    }

    /// The id of the uploaded data set the job trains on; nil for a built-in (even by its id).
    public var uploadID: String? {
        guard case .uploaded(let id) = reference, !BuiltinDatasets.names.contains(id) else { return nil }
        return id
    }
}

/// A submission parsed once: the typed spec with its data set resolved and loaded, ready to run.
/// `canonicalSpec` is what a job stores and what a worker decodes (`JobRequest.decode`).
public struct JobSubmission {
    public let run: TuningRun
    public let dataset: ResolvedDataset

    public var spec: JobSpec { run.spec }
    /// The normalised spec, every default filled in, an upload named by its id.
    public var canonicalSpec: String { run.spec.json().serializedString() }
}

/// Turns a submitted spec into a ready `TuningRun`, or the error to answer: the one path from
/// request body to job, shared by the CLI and the HTTP API. The bytes are parsed into JSON once and
/// into a `JobSpec` once; the data set is resolved once, by the caller's resolver.
public enum JobRequest {
    public static func prepare(
        specBytes: [UInt8], upload: UploadedDatasetName? = nil, datasets: some DatasetResolver, threads: Int = 1
    ) -> Result<TuningRun, JobRequestError> {
        let value: JSONValue
        do {
            value = try JSONValue.parse(specBytes)
        } catch {
            return .failure(.malformedJSON(error))
        }
        return prepare(specJSON: value, upload: upload, datasets: datasets, threads: threads).map(\.run)
    }

    /// `upload` is the caller's data set the spec refers to by name or id, if the caller found one.
    public static func prepare(
        specJSON: JSONValue, upload: UploadedDatasetName? = nil, datasets: some DatasetResolver, threads: Int = 1
    ) -> Result<JobSubmission, JobRequestError> {
        let spec: JobSpec
        switch JobSpec.parse(specJSON, upload: upload) {
        case .success(let parsed): spec = parsed
        case .failure(let errors): return .failure(.invalidSpec(errors.errors))
        }
        let dataset: Dataset
        switch datasets.resolve(spec.dataset) {
        case .success(let resolved): dataset = resolved
        case .failure(let error): return .failure(error)
        }
        let written = upload.flatMap {
            spec.dataset == .uploaded(id: $0.id) && specJSON["dataset"]?["name"] != nil ? $0.name : nil
        }
        do {
            let run = try TuningRun(spec: spec, dataset: dataset, threads: threads)
            return .success(
                JobSubmission(run: run, dataset: ResolvedDataset(reference: spec.dataset, writtenName: written)))
        } catch {
            return .failure(.invalidSpec(error.errors))
        }
    }

    /// The run of a stored job: its canonical spec (as `JobSubmission.canonicalSpec` wrote it)
    /// decoded through the same checks, its data set by reference.
    public static func decode(
        canonicalSpec: String, datasets: some DatasetResolver, threads: Int = 1
    ) -> Result<TuningRun, JobRequestError> {
        prepare(specBytes: Array(canonicalSpec.utf8), datasets: datasets, threads: threads)
    }
}
