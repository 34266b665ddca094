import JSON
import Learning
import Tuning

/// The layered problems of `rewind export` (bench/jax_reference.py recomputes them with JAX):
/// two small conv nets on the built-in digits as 8×8×1 images, which between them use every layer
/// type, both paddings and strides 1 and 2, and the LeNet-like net of the speed table on synthetic
/// 28×28×1 images.
enum LayeredComparison {
    /// conv 3×3×4 same → relu → maxpool 2 → conv 2×2×6 valid stride 2 → tanh → avgpool 2 →
    /// dense 12 → sigmoid (→ dense 10).
    static let conv: [Layer] = [
        .conv2d(filters: 4, kernel: 3, stride: 1, padding: .same), .activation(.relu), .maxpool(size: 2),
        .conv2d(filters: 6, kernel: 2, stride: 2, padding: .valid), .activation(.tanh), .avgpool(size: 2),
        .flatten, .dense(units: 12), .activation(.sigmoid),
    ]
    /// The finite-difference tests' small net with stride 2: conv 3×3×4 same stride 2 → tanh →
    /// avgpool 2 (→ dense 10).
    static let convSmall: [Layer] = [
        .conv2d(filters: 4, kernel: 3, stride: 2, padding: .same), .activation(.tanh), .avgpool(size: 2),
    ]
    /// The LeNet-like net: conv 5×5×8 same → relu → maxpool 2 → conv 5×5×16 same → relu →
    /// maxpool 2 (→ dense 10); 11,274 parameters on 28×28×1.
    static let lenet: [Layer] = [
        .conv2d(filters: 8, kernel: 5, stride: 1, padding: .same), .activation(.relu), .maxpool(size: 2),
        .conv2d(filters: 16, kernel: 5, stride: 1, padding: .same), .activation(.relu), .maxpool(size: 2),
    ]

    /// The synthetic images of the speed problem.
    static let syntheticShape = ImageShape(height: 28, width: 28, channels: 1)
    static let syntheticTrainRows = 10_000
    static let syntheticValidationRows = 10_000
    static let syntheticClasses = 10
    /// How both sides compute the synthetic images: image n (0-based over training then
    /// validation), value index p, label; every value is a multiple of 1/256, so exact.
    static let syntheticFormula =
        "x[n, p] = ((7919 n + 25 p + 3 p^2 + n p) mod 256) / 256; label[n] = (7 n + n div 10) mod 10"

    /// Images n in `rows` of the synthetic data set.
    static func synthetic(_ rows: Range<Int>) -> LabelledRows {
        let features = syntheticShape.count
        var inputs: [Double] = []
        inputs.reserveCapacity(rows.count * features)
        for n in rows {
            for p in 0..<features { inputs.append(Double((7919 * n + 25 * p + 3 * p * p + n * p) % 256) / 256) }
        }
        let labels = rows.map { n in Int32((7 * n + n / 10) % syntheticClasses) }
        return LabelledRows(inputs: inputs, labels: labels, features: features)
    }

    /// The architecture, trainer and noise of a layered problem.
    static func setup(
        _ kind: ExportCommand.Problem, threads: Int
    ) -> (architecture: NetworkArchitecture, trainer: ReversibleTrainer, noise: [Double]) {
        let layers: [Layer]
        let training: LabelledRows, validation: LabelledRows, image: ImageShape, classes: Int
        switch kind {
        case .conv, .convSmall:
            let digits = BuiltinDatasets.digits
            layers = kind == .conv ? conv : convSmall
            image = ImageShape(height: 8, width: 8, channels: 1)
            classes = digits.classes
            training = digits.labelledRows(0..<ComparisonProblem.trainRows)
            validation = digits.labelledRows(
                ComparisonProblem.trainRows..<(ComparisonProblem.trainRows + ComparisonProblem.validationRows))
        case .lenet:
            layers = lenet
            image = syntheticShape
            classes = syntheticClasses
            training = synthetic(0..<syntheticTrainRows)
            validation = synthetic(syntheticTrainRows..<(syntheticTrainRows + syntheticValidationRows))
        case .logistic, .mlp, .mnist:
            preconditionFailure("LayeredComparison: \(kind) is a dense problem")
        }
        let architecture: NetworkArchitecture
        do {
            architecture = try NetworkArchitecture(
                inputs: image.count, image: image, layers: layers, classes: classes)
        } catch {
            preconditionFailure("LayeredComparison: \(error.message)")
        }
        let trainer = ReversibleTrainer(
            problem: TrainingProblem(
                model: Network(architecture: architecture), training: training,
                batches: BatchPlan(rows: training.rows, batchSize: 100, order: .random(seed: 0)),
                objective: .validation(validation)),
            threads: threads)
        return (architecture, trainer, TuningRun.gaussianNoise(count: architecture.parameterCount, seed: 0))
    }

    /// The spec's form of the layers, for the export.
    static func json(_ layers: [Layer]) -> JSONValue {
        .array(
            layers.map { layer in
                var object = JSONObject()
                object["type"] = .string(layer.typeName)
                switch layer {
                case .dense(let units): object["units"] = .number(Double(units))
                case .conv2d(let filters, let kernel, let stride, let padding):
                    object["filters"] = .number(Double(filters))
                    object["kernel"] = .number(Double(kernel))
                    object["stride"] = .number(Double(stride))
                    object["padding"] = .string(padding.rawValue)
                case .maxpool(let size), .avgpool(let size): object["size"] = .number(Double(size))
                case .activation, .flatten: break
                }
                return .object(object)
            })
    }
}
