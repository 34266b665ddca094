import Foundation
import JSON
import Learning

/// The parts of a comparison export (`rewind export`, `rewind bench-adam --dump`) that describe the
/// problem rather than the optimiser: the digits rows, the model's blocks and every step's batch.
public enum ExportSections {
    public static func numbers(_ values: [Double]) -> JSONValue { .array(values.map { .number($0) }) }

    public static func matrix(_ rows: [[Double]]) -> JSONValue { .array(rows.map(numbers)) }

    /// The layer sizes and activation of an MLP.
    public static func architecture(_ architecture: MLPArchitecture) -> JSONValue {
        [
            "layer_sizes": .array(architecture.layerSizes.map { .number(Double($0)) }),
            "activation": .string(architecture.activation.rawValue),
        ]
    }

    /// Each block's name, offset in the flat parameter vector and shape.
    public static func blocks(_ architecture: MLPArchitecture) -> JSONValue {
        .array(
            architecture.blocks.map { block in
                [
                    "name": .string(block.name), "offset": .number(Double(block.range.lowerBound)),
                    "rows": .number(Double(block.rows)), "cols": .number(Double(block.cols)),
                ]
            })
    }

    /// Row ranges of the built-in digits (training rows first, then the validation rows) plus
    /// sums that let the reader check it parsed the same numbers (sums of multiples of 1/16 this
    /// small are exact in Double).
    public static func digits(_ problem: TrainingProblem) -> JSONObject {
        dataset(problem, source: ["name": "digits", "file": "data/digits.csv.gz", "pixel_scale": .number(1.0 / 16)])
    }

    /// `source` (where the rows come from: a name and a file or a formula) plus the row ranges of a
    /// problem whose training rows come first and its validation rows right after, with sums that
    /// let the reader check it parsed the same numbers (every value is a small multiple of 1/16 or
    /// 1/256, so the sums are exact in Double).
    public static func dataset(_ problem: TrainingProblem, source: JSONObject) -> JSONObject {
        guard case .validation(let validation) = problem.objective else {
            preconditionFailure("the comparison problems have a validation objective")
        }
        func fingerprint(_ rows: LabelledRows) -> JSONValue {
            [
                "input_sum": .number(rows.inputs.reduce(0, +)),
                "label_sum": .number(Double(rows.labels.reduce(0) { $0 + Int($1) })),
            ]
        }
        let train = Double(problem.training.rows)
        var section = source
        section["train_rows"] = numbers([0, train])
        section["validation_rows"] = numbers([train, train + Double(validation.rows)])
        section["train_fingerprint"] = fingerprint(problem.training)
        section["validation_fingerprint"] = fingerprint(validation)
        return section
    }

    /// The `BatchPlan` rows of every step.  // (T, B)
    public static func batches(_ plan: BatchPlan, iterations: Int) -> JSONValue {
        let indices = UnsafeMutableBufferPointer<Int32>.allocate(capacity: plan.batchSize)
        defer { indices.deallocate() }
        return .array(
            (0..<iterations).map { t in
                plan.fill(step: t, into: indices)
                return numbers(indices.map { Double($0) })
            })
    }
}
