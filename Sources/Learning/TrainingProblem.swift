/// A labelled set of rows, row-major.
public struct LabelledRows: Sendable, Equatable {
    /// (rows, features), row-major.
    public var inputs: [Double]
    /// Class index per row.
    public var labels: [Int32]
    public let rows: Int
    public let features: Int

    public init(inputs: [Double], labels: [Int32], features: Int) {
        precondition(features > 0 && inputs.count == labels.count * features, "inputs must be (rows, features)")
        self.inputs = inputs
        self.labels = labels
        self.rows = labels.count
        self.features = features
    }
}

/// What the meta-objective f(w_final) measures: the mean cross-entropy (no penalty) on a set of rows.
public enum MetaObjective: Sendable, Equatable {
    /// Mean cross-entropy on a held-out set.
    case validation(LabelledRows)
    /// Mean cross-entropy on the whole training set (which then also depends on the training
    /// inputs directly, when they are learned).
    case training
}

/// Everything one inner training run needs besides its hyperparameters.
public struct TrainingProblem: Sendable {
    public let model: Network
    public var training: LabelledRows
    public let batches: BatchPlan
    public let objective: MetaObjective

    public init(model: Network, training: LabelledRows, batches: BatchPlan, objective: MetaObjective) {
        precondition(training.features == model.architecture.inputCount, "features must match the model inputs")
        precondition(batches.rows == training.rows, "the batch plan must cover the training rows")
        if case .validation(let rows) = objective {
            precondition(rows.features == training.features, "validation features must match")
        }
        self.model = model
        self.training = training
        self.batches = batches
        self.objective = objective
    }
}

/// Why a training run stopped without a result.
public enum TrainingError: Error, Equatable, Sendable {
    /// A weight or velocity left the fixed-point range (or became non-finite) at `step`.
    case diverged(step: Int, detail: String)
    /// The observer asked to stop.
    case cancelled
    /// The reverse pass did not land on the initial state: arithmetic was not deterministic.
    case notReversible(detail: String)
}

/// Where a run is, reported to the observer once per inner step.
public enum TrainingPhase: Sendable, Equatable {
    case forward(step: Int)
    case reverse(step: Int)
}
