import Foundation
import JSON

/// Resolves built-in data sets and local CSV files (`{"dataset": {"path": "my.csv"}}`), for
/// `rewind run`. A file is parsed by the same `CSVDatasetParser` as an upload to the service, so it
/// is accepted or refused with the same messages and trains on exactly the same numbers.
public struct LocalDatasetResolver: DatasetResolver {
    /// Relative paths are resolved against this directory (the spec file's).
    public var baseDirectory: String

    public init(baseDirectory: String) {
        self.baseDirectory = baseDirectory
    }

    public func dataset(_ reference: DatasetReference) -> Dataset? {
        try? resolve(reference).get()
    }

    public func resolve(_ reference: DatasetReference) -> Result<Dataset, JobRequestError> {
        guard case .file(let path) = reference else { return BuiltinDatasetResolver().resolve(reference) }
        let url =
            path.hasPrefix("/")
            ? URL(fileURLWithPath: path) : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path)
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: url))
        } catch {
            return .failure(
                .invalidSpec([
                    SpecError(field: "/dataset/path", message: "cannot read \(url.path): \(error.localizedDescription)")
                ]))
        }
        do {
            return .success(try CSVDatasetParser.parse(bytes, name: url.lastPathComponent))
        } catch {
            return .failure(.invalidDataset(error, field: "/dataset/path"))
        }
    }
}
