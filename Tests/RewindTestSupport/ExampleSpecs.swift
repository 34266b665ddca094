import Foundation
import JSON
import Tuning

/// The specs in `examples/` and what runs each one: `rewind run` (and the service) for a job spec,
/// `rewind experiment-sharing` for a weight-sharing spec (`"kind": "weight_sharing"`).
public enum ExampleSpecs {
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples").path

    /// Every `*.json` in `examples/`, sorted.
    public static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }
            .sorted()
    }

    /// Examples whose data set file a script writes because it is too large to commit
    /// (`scripts/run-example.sh` writes and uploads it), with the built-in data set it is cut from.
    /// While the file is absent, the spec is checked on that built-in instead: every field but the
    /// data set's path.
    public static let generatedData = ["mnist-distillation.json": "mnist"]

    public enum Prepared {
        case job(TuningRun)
        case weightSharing(WeightSharingSettings)
    }

    /// The example prepared as its runner reads it, or why it does not prepare.
    public static func prepare(_ name: String) -> Result<Prepared, ExampleProblem> {
        let document: JSONValue
        do {
            document = try JSONValue.parse([UInt8](Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)"))))
        } catch {
            return .failure(ExampleProblem(description: "\(name): \(error)"))
        }
        if document["kind"]?.stringValue == "weight_sharing" {
            do {
                return .success(.weightSharing(try WeightSharingSettings.parse(document)))
            } catch {
                return .failure(ExampleProblem(description: "\(name): \(error)"))
            }
        }
        var spec = document
        if let builtin = generatedData[name], let path = document["dataset"]?["path"]?.stringValue,
            !FileManager.default.fileExists(atPath: "\(directory)/\(path)"), var object = document.objectValue
        {
            object["dataset"] = ["name": .string(builtin)]
            spec = .object(object)
        }
        switch JobRequest.prepare(specJSON: spec, datasets: LocalDatasetResolver(baseDirectory: directory)) {
        case .success(let submission): return .success(.job(submission.run))
        case .failure(let problem): return .failure(ExampleProblem(description: "\(name): \(problem)"))
        }
    }
}

public struct ExampleProblem: Error, CustomStringConvertible {
    public var description: String
}
