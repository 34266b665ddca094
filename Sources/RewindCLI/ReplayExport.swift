import Foundation
import JSON
import Learning
import Tuning

/// `rewind export --spec SPEC.json [--item N]`: what an outside trainer needs to start exactly where
/// one of the spec's training runs starts — the split's rows, the network layer by layer (dense
/// shorthand or `model.layers`, with shapes, padding and block names), the minibatch rows
/// of every step and the standard normal draws ε of w₁ = s ⊙ ε. Together with the learned schedule
/// of `rewind export-schedule` (or `GET /v1/jobs/{id}/schedule`) it replays a history item in
/// NumPy, PyTorch or JAX (docs/using-learned-schedules.md).
///
/// What `rewind run` can resolve resolves here: the built-in data sets and local CSV files
/// (`{"dataset": {"path": "my.csv"}}`, relative to the spec's folder), which train on exactly the
/// numbers the same file uploaded does. An uploaded data set, by name or id, is read from the
/// service given with `--url` (`ServiceDatasetResolver`); without one, the error says to give it
/// or to name the file. The spec's seed and, with `meta.reseed`, the item decide the batches and
/// the noise, exactly as the service draws them.
struct ReplayExport {
    let run: TuningRun
    let item: Int

    /// Prepares the spec; returns the problem to print when it is invalid.
    static func prepare(
        specBytes: [UInt8], item: Int, datasets: any DatasetResolver
    ) -> Result<ReplayExport, JobRequestError> {
        let prepared =
            if let service = datasets as? ServiceDatasetResolver {
                Self.prepare(specBytes: specBytes, service: service)
            } else {
                JobRequest.prepare(specBytes: specBytes, datasets: datasets)
            }
        switch prepared {
        case .failure(let problem):
            // The service's resolver says itself what to do when an upload cannot be read.
            return .failure(datasets is ServiceDatasetResolver ? problem : Self.explainingUploads(problem))
        case .success(let run):
            guard item >= 0 && item < run.totalItems else {
                return .failure(
                    .invalidSpec([SpecError(field: "--item", message: "must be between 0 and \(run.totalItems - 1)")]))
            }
            return .success(ReplayExport(run: run, item: item))
        }
    }

    /// An upload's name becomes its id at the service, as a submission's does there.
    private static func prepare(
        specBytes: [UInt8], service: ServiceDatasetResolver
    ) -> Result<TuningRun, JobRequestError> {
        // A spec that does not parse is answered by `JobRequest.prepare` below, as without a service.
        switch service.upload(namedIn: (try? JSONValue.parse(specBytes))?["dataset"]) {
        case .success(let upload):
            return JobRequest.prepare(specBytes: specBytes, upload: upload, datasets: service)
        case .failure(let error):
            return .failure(error)
        }
    }

    /// A data set named by an upload's name or id with no service to read it from: say what to do.
    static func explainingUploads(_ problem: JobRequestError) -> JobRequestError {
        let hint =
            "an uploaded data set is read from the service that holds it: give --url (or REWIND_URL) and --api-key, "
            + "or name the CSV you uploaded as a local file, {\"dataset\": {\"path\": \"my.csv\"}} (relative to the spec); "
            + "keep the rest of the job's spec (GET /v1/jobs/{id} shows it with every default filled in)"
        guard case .invalidSpec(let errors) = problem else { return problem }
        return .invalidSpec(
            errors.map { error in
                guard error.field == "/dataset/name" || error.field == "/dataset/id" else { return error }
                return SpecError(field: error.field, message: error.message + "; " + hint)
            })
    }

    func document() -> JSONValue {
        let spec = run.spec
        let (batches, noise) = run.replayInputs(item: item)
        var top = JSONObject()
        top["format"] = "rewind-replay/1"
        top["spec"] = spec.json()
        top["item"] = .number(Double(item))
        top["architecture"] = .object(architecture())
        top["blocks"] = .array(
            run.architecture.blocks.map { block in
                [
                    "name": .string(block.name), "offset": .number(Double(block.range.lowerBound)),
                    "rows": .number(Double(block.rows)), "cols": .number(Double(block.cols)),
                ]
            })
        top["iterations"] = .number(Double(spec.training.iterations))
        top["batch_size"] = .number(Double(spec.training.batchSize))
        let split = run.splitRows
        top["train"] = rows(split.training)
        top["validation"] = rows(split.validation)
        // Indices into the training rows above, one row of B per step.  // (T, B)
        top["batches"] = JSONValue(batches.map { $0.map(Double.init) })
        top["noise"] = JSONValue(noise)
        return .object(top)
    }

    /// The network layer by layer (the output layer last, implicit flattens explicit), with the
    /// shapes, the padding and the block names of each, and the layouts a replay must follow; the
    /// dense shorthand keeps its `layer_sizes` and `activation` too.
    private func architecture() -> JSONObject {
        let architecture = run.architecture
        var object = JSONObject()
        object["input_shape"] = JSONValue(
            (architecture.imageShape.map { [$0.height, $0.width, $0.channels] } ?? [architecture.inputCount])
                .map(Double.init))
        object["layers"] = .array(
            architecture.summary.map { summary in
                guard case .object(var layer) = summary.layer.json else { preconditionFailure("a layer is an object") }
                layer["input_shape"] = JSONValue(summary.inputShape.map(Double.init))
                layer["output_shape"] = JSONValue(summary.outputShape.map(Double.init))
                if let padding = summary.padding { layer["pad"] = JSONValue(padding.map(Double.init)) }
                if let blocks = summary.blocks {
                    layer["weights"] = .string(architecture.blocks[blocks[0]].name)
                    layer["biases"] = .string(architecture.blocks[blocks[1]].name)
                }
                return .object(layer)
            })
        object["layout"] = .string(Self.layout)
        if let activation = architecture.shorthandActivation {
            object["layer_sizes"] = JSONValue(architecture.layerSizes.map(Double.init))
            object["activation"] = .string(activation.rawValue)
        }
        return object
    }

    /// How the flat rows and parameters are laid out, for whoever rebuilds the network.
    static let layout =
        "inputs: one row per example, an image as height x width x channels with channels fastest (NHWC); "
        + "conv2d weights (kernel, kernel, in channels, filters), dense weights (fan-in, fan-out), both row-major, "
        + "biases (units or filters); flatten keeps the (height, width, channels) order; "
        + "pad: zero rows and columns [top, bottom, left, right] around each conv2d input"

    /// A split's inputs (rows, features) and labels, as the trainer sees them.
    private func rows(_ part: LabelledRows) -> JSONValue {
        let inputs = (0..<part.rows).map { Array(part.inputs[($0 * part.features)..<(($0 + 1) * part.features)]) }
        return ["inputs": JSONValue(inputs), "labels": JSONValue(part.labels.map(Double.init))]
    }
}
