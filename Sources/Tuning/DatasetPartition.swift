import Foundation
import Learning

/// A data set cut into the rows a job trains on, tunes on and holds out, after the spec's shuffle
/// and standardisation.
///
/// The order of operations is fixed: permute all rows (if `split.shuffle`), cut the consecutive
/// parts, then standardise every part with statistics of the training part alone — so nothing about
/// the validation or test rows leaks into training, and the same spec always cuts the same rows.
public struct DatasetPartition: Sendable {
    public var training: LabelledRows
    public var validation: LabelledRows
    /// Empty (zero rows) when the spec has no test split.
    public var test: LabelledRows?
    /// The spec's `preprocess`, with the statistics filled in when it standardises.
    public var preprocess: JobSpec.Preprocess

    /// `split` must be resolved and fit the data set (`JobSpec.validate(dataset:)`).
    public init(dataset: Dataset, split: JobSpec.Split, preprocess: JobSpec.Preprocess) {
        precondition(split.unresolved.isEmpty, "resolve the split against the data set first")
        let order = split.shuffle ? Self.permutation(count: dataset.rows, seed: split.seed) : Array(0..<dataset.rows)
        func rows(_ range: Range<Int>) -> LabelledRows {
            var inputs: [Double] = []
            inputs.reserveCapacity(range.count * dataset.features)
            for index in order[range] {
                inputs += dataset.inputs[(index * dataset.features)..<((index + 1) * dataset.features)]
            }
            return LabelledRows(
                inputs: inputs, labels: order[range].map { dataset.labels[$0] }, features: dataset.features)
        }
        let ranges = split.ranges
        training = rows(ranges.train)
        validation = rows(ranges.validation)
        test = split.test > 0 ? rows(ranges.test) : nil
        self.preprocess = preprocess
        guard preprocess.standardize else { return }
        let given = preprocess.mean.flatMap { mean in preprocess.std.map { (mean: mean, std: $0) } }
        var statistics = given ?? Self.statistics(of: training)
        // Values near the largest double overflow the sums of squares (or the centring): then
        // compute the statistics of each column divided by its largest magnitude and scale back,
        // which cannot overflow.
        if given == nil,
            statistics.mean.contains(where: { !$0.isFinite }) || statistics.std.contains(where: { !$0.isFinite })
        {
            statistics = Self.scaledStatistics(of: training)
        }
        self.preprocess.mean = statistics.mean
        self.preprocess.std = statistics.std
        Self.standardize(&training, mean: statistics.mean, std: statistics.std)
        Self.standardize(&validation, mean: statistics.mean, std: statistics.std)
        if test != nil { Self.standardize(&test!, mean: statistics.mean, std: statistics.std) }
    }

    /// Features (0-based) whose standardised values or statistics are not finite in some part:
    /// a job on them could only diverge, so `TuningRun` refuses it naming them.
    public var nonFiniteColumns: [Int] {
        guard preprocess.standardize else { return [] }
        var bad = Set<Int>()
        for (j, (mean, std)) in zip(preprocess.mean ?? [], preprocess.std ?? []).enumerated()
        where !mean.isFinite || !std.isFinite {
            bad.insert(j)
        }
        for rows in [training, validation] + (test.map { [$0] } ?? []) where rows.features > 0 {
            for (index, value) in rows.inputs.enumerated() where !value.isFinite { bad.insert(index % rows.features) }
        }
        return bad.sorted()
    }

    /// A uniformly random order of 0..<count (Fisher–Yates driven by `SplitMix64(seed:)`).
    static func permutation(count: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<count)
        var generator = SplitMix64(seed: seed)
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, generator.nextIndex(below: i + 1))
        }
        return order
    }

    /// Per-feature mean and (population) standard deviation; a constant feature gets 1, so it is
    /// centred but not blown up.
    static func statistics(of rows: LabelledRows) -> (mean: [Double], std: [Double]) {
        let n = Double(rows.rows)
        var mean = [Double](repeating: 0, count: rows.features)
        for row in 0..<rows.rows {
            for j in 0..<rows.features { mean[j] += rows.inputs[row * rows.features + j] }
        }
        for j in mean.indices { mean[j] /= n }
        var variance = [Double](repeating: 0, count: rows.features)
        for row in 0..<rows.rows {
            for j in 0..<rows.features {
                let d = rows.inputs[row * rows.features + j] - mean[j]
                variance[j] += d * d
            }
        }
        let std = variance.map { v -> Double in
            let s = (v / n).squareRoot()
            return s > 1e-12 ? s : 1
        }
        return (mean, std)
    }

    /// `statistics(of:)` for columns whose values are near the largest double: each column is
    /// divided by its largest finite magnitude first, so no sum or difference can overflow, and
    /// the mean and standard deviation are scaled back (both at most that magnitude).
    static func scaledStatistics(of rows: LabelledRows) -> (mean: [Double], std: [Double]) {
        let features = rows.features
        var scale = [Double](repeating: 0, count: features)
        for (index, value) in rows.inputs.enumerated() where value.isFinite {
            scale[index % features] = max(scale[index % features], abs(value))
        }
        for j in scale.indices where scale[j] == 0 { scale[j] = 1 }
        var scaled = rows
        for index in scaled.inputs.indices { scaled.inputs[index] /= scale[index % features] }
        let (mean, std) = statistics(of: scaled)
        return (
            zip(mean, scale).map { $0 * $1 },
            zip(std, scale).map { $0 * $1 }
        )
    }

    static func standardize(_ rows: inout LabelledRows, mean: [Double], std: [Double]) {
        let features = rows.features
        for index in rows.inputs.indices {
            let j = index % features
            let centred = rows.inputs[index] - mean[j]
            // A difference past the largest double (values of opposite signs near it): divide first.
            rows.inputs[index] =
                centred.isFinite || !rows.inputs[index].isFinite
                ? centred / std[j] : rows.inputs[index] / std[j] - mean[j] / std[j]
        }
    }
}
