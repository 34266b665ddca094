import Foundation
import JSON

/// Something about a job that likely makes its result useless or misleading, though nothing
/// failed: `code` for programs, `detail` for people (what was seen and what to do).
public struct JobWarning: Sendable, Equatable {
    public var code: String
    public var detail: String

    public init(_ code: String, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public func json() -> JSONValue { ["code": .string(code), "detail": .string(detail)] }

    /// Validation rows below which tuning is mostly fitting noise.
    public static let smallValidation = 50
    /// Learned hyperparameters per validation row above which the validation split is too small
    /// for them (a rough bound, as the paper says of its §5.2.2: each row constrains only so much).
    public static let hyperparametersPerRow = 10
    /// Feature ranges this many times apart (without standardisation) slow or stall training.
    public static let scaleRatio = 100.0
}

/// The error of always predicting the most frequent class of `labels` (1 − its share).
func majorityError(_ labels: [Int32]) -> Double? {
    guard !labels.isEmpty else { return nil }
    var counts: [Int32: Int] = [:]
    for label in labels { counts[label, default: 0] += 1 }
    return 1 - Double(counts.values.max()!) / Double(labels.count)
}

extension TuningRun {
    /// Warnings known before any training: from the data, the split and the spec.
    static func dataWarnings(
        spec: JobSpec, dataset: Dataset, partition: DatasetPartition, learned: Int
    ) -> [JobWarning] {
        var warnings: [JobWarning] = []
        let trainingClasses = Set(partition.training.labels).count
        if trainingClasses <= 2, trainingClasses < dataset.classes {
            warnings.append(
                JobWarning(
                    "few-training-classes",
                    "the training split holds only \(trainingClasses) of the data set's \(dataset.classes) classes: "
                        + (spec.split.shuffle
                            ? "give it more rows" : "shuffle the rows (\"split\": {\"shuffle\": true})")))
        }
        if !spec.split.shuffle, DatasetProfile.labelsSorted(dataset.labels) {
            warnings.append(
                JobWarning(
                    "sorted-labels-not-shuffled",
                    "the data set's rows are sorted by class and the split does not shuffle them, so the training, "
                        + "validation and test splits hold different classes; set \"split\": {\"shuffle\": true}"))
        }
        if !spec.preprocess.standardize {
            let profile = DatasetProfile(
                dataset: Dataset(
                    name: dataset.name, features: dataset.features, classes: dataset.classes,
                    inputs: partition.training.inputs, labels: partition.training.labels))
            if profile.rangeRatio >= JobWarning.scaleRatio {
                warnings.append(
                    JobWarning(
                        "unscaled-features",
                        "feature ranges differ by a factor of \(Int(profile.rangeRatio.rounded())) and standardization is off; "
                            + "set \"preprocess\": {\"standardize\": true}"))
            }
        }
        let validation = spec.split.validation
        let enough = max(
            JobWarning.smallValidation,
            (learned + JobWarning.hyperparametersPerRow - 1) / JobWarning.hyperparametersPerRow)
        if validation < enough {
            warnings.append(
                JobWarning(
                    "small-validation-split",
                    "\(validation) validation rows for \(learned) learned hyperparameters: the tuning can fit the validation "
                        + "split's noise (overfitting the validation set); use at least \(enough) rows "
                        + "or learn fewer hyperparameters"))
        }
        return warnings
    }

    /// Warnings about how the job went, from its latest item, its best one and its first.
    public func outcomeWarnings(
        latest: HistoryItem, best: BestSoFar?, first: (validationLoss: Double, testLoss: Double?)?
    ) -> [JobWarning] {
        var warnings: [JobWarning] = []
        let validationError = best?.validationError ?? latest.validationError
        let testError = best?.testError ?? latest.testError
        let worst = max(validationError, testError ?? 0)
        if worst.isFinite, worst >= 0.99 {
            warnings.append(
                JobWarning(
                    "error-near-100-percent",
                    "the best item misclassifies \(Self.percent(worst)) of the \(testError ?? 0 > validationError ? "test" : "validation") rows: "
                        + "the model is useless; check the split (shuffle) and the features' scales (standardize)"))
        } else if let baseline = majorityBaseline.validation, validationError.isFinite,
            validationError >= baseline - 1e-12
        {
            warnings.append(
                JobWarning(
                    "no-better-than-majority",
                    "the best item's validation error \(Self.percent(validationError)) is no better than always predicting the "
                        + "most frequent class (\(Self.percent(baseline)))"))
        } else if let testError, let baseline = majorityBaseline.test, testError.isFinite, testError >= baseline - 1e-12
        {
            warnings.append(
                JobWarning(
                    "no-better-than-majority",
                    "the best item's test error \(Self.percent(testError)) is no better than always predicting the most "
                        + "frequent class (\(Self.percent(baseline)))"))
        }
        if let first, let firstTest = first.testLoss, let testLoss = latest.testLoss, latest.metaIteration > 0,
            latest.validationLoss < first.validationLoss, testLoss > firstTest
        {
            warnings.append(
                JobWarning(
                    "validation-overfitting",
                    "validation loss fell (\(MetaGuard.format(first.validationLoss)) → \(MetaGuard.format(latest.validationLoss))) "
                        + "while test loss rose (\(MetaGuard.format(firstTest)) → \(MetaGuard.format(testLoss))): the hyperparameters "
                        + "fit the validation split; use more validation rows or learn fewer hyperparameters"))
        }
        return warnings
    }

    static func percent(_ fraction: Double) -> String { String(format: "%.1f %%", fraction * 100) }
}
