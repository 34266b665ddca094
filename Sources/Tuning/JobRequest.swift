import JSON

/// Finds the data set a spec names: built-ins here, uploaded ones in the service's store.
public protocol DatasetResolver {
    func dataset(_ reference: DatasetReference) -> Dataset?
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
    public static func prepare(specBytes: [UInt8], datasets: some DatasetResolver) -> Result<TuningRun, ProblemDetails> {
        let value: JSONValue
        do {
            value = try JSONValue.parse(specBytes)
        } catch {
            return .failure(.malformedJSON(error))
        }
        return prepare(specJSON: value, datasets: datasets)
    }

    public static func prepare(specJSON: JSONValue, datasets: some DatasetResolver) -> Result<TuningRun, ProblemDetails> {
        let spec: JobSpec
        switch JobSpec.parse(specJSON) {
        case .success(let parsed): spec = parsed
        case .failure(let errors): return .failure(.invalidSpec(errors.errors))
        }
        guard let dataset = datasets.dataset(spec.dataset) else {
            let error = switch spec.dataset {
            case .builtin(let name): SpecError(field: "/dataset/name", message: "no built-in data set named \(name)")
            case .uploaded(let id): SpecError(field: "/dataset/id", message: "no such data set: \(id)")
            }
            return .failure(.invalidSpec([error]))
        }
        do {
            return .success(try TuningRun(spec: spec, dataset: dataset))
        } catch {
            return .failure(.invalidSpec(error.errors))
        }
    }
}
