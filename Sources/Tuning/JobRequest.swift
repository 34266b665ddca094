import JSON

/// Finds the data set a spec names: built-ins here, uploaded ones in the service's store, local
/// files in `rewind run`.
public protocol DatasetResolver {
    func dataset(_ reference: DatasetReference) -> Dataset?
    /// The data set, or the problem to answer; by default `dataset(_:)` or "no such data set".
    func resolve(_ reference: DatasetReference) -> Result<Dataset, ProblemDetails>
}

extension DatasetResolver {
    public func resolve(_ reference: DatasetReference) -> Result<Dataset, ProblemDetails> {
        if let dataset = dataset(reference) { return .success(dataset) }
        let error = switch reference {
        case .builtin(let name): SpecError(field: "/dataset/name", message: "no built-in data set named \(name)")
        case .uploaded(let id): SpecError(field: "/dataset/id", message: "no such data set: \(id)")
        case .file: SpecError(
            field: "/dataset/path",
            message: "a local file can only be used by rewind run; upload it (POST /v1/datasets?name=NAME) and name it by {\"id\": ...}")
        }
        return .failure(.invalidSpec([error]))
    }
}

/// Resolves only the built-in data sets (the local `rewind run`).
public struct BuiltinDatasetResolver: DatasetResolver {
    public init() {}

    public func dataset(_ reference: DatasetReference) -> Dataset? {
        guard case .builtin(let name) = reference else { return nil }
        return BuiltinDatasets.named(name)
    }
}

/// Turns the bytes of a submitted spec into a ready `TuningRun`, or the problem to answer: the one
/// path from request body to job, shared by the CLI and the HTTP API.
public enum JobRequest {
    public static func prepare(
        specBytes: [UInt8], datasets: some DatasetResolver, threads: Int = 1
    ) -> Result<TuningRun, ProblemDetails> {
        let value: JSONValue
        do {
            value = try JSONValue.parse(specBytes)
        } catch {
            return .failure(.malformedJSON(error))
        }
        return prepare(specJSON: value, datasets: datasets, threads: threads)
    }

    public static func prepare(
        specJSON: JSONValue, datasets: some DatasetResolver, threads: Int = 1
    ) -> Result<TuningRun, ProblemDetails> {
        let spec: JobSpec
        switch JobSpec.parse(specJSON) {
        case .success(let parsed): spec = parsed
        case .failure(let errors): return .failure(.invalidSpec(errors.errors))
        }
        let dataset: Dataset
        switch datasets.resolve(spec.dataset) {
        case .success(let resolved): dataset = resolved
        case .failure(let problem): return .failure(problem)
        }
        do {
            return .success(try TuningRun(spec: spec, dataset: dataset, threads: threads))
        } catch {
            return .failure(.invalidSpec(error.errors))
        }
    }
}
