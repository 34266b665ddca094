import Learning

/// Everything needed to continue a tuning run exactly where it stopped: which history item comes
/// next, the unconstrained hyperparameters, and the meta-optimiser's moments.
public struct TuningCheckpoint: Sendable, Equatable, Codable {
    /// Index of the next history item to compute (items 0..<nextItem are done).
    public var nextItem: Int
    /// The unconstrained hyperparameter vector u (log α, logit γ, log λ, log s, training inputs).
    public var unconstrained: [Double]
    public var optimizer: MetaOptimizer
    /// The best accepted item so far by the job's objective (`meta.objective`).
    public var best: BestSoFar?
    /// The last item the guard accepted that took a meta-step: where a rejected step goes back to.
    /// Nil before item 0 and when the guard is off.
    public var anchor: GuardAnchor?
    /// Factor on `meta.step_size`: 1 until the guard rejects a step, then shrunk at each rejection.
    /// Optional so that checkpoints written before the guard existed still decode.
    public var stepScale: Double?
    /// True when `meta.patience` ended the job before its last item.
    public var stoppedEarly: Bool?

    public init(
        nextItem: Int, unconstrained: [Double], optimizer: MetaOptimizer, best: BestSoFar?,
        anchor: GuardAnchor? = nil, stepScale: Double? = nil, stoppedEarly: Bool? = nil
    ) {
        self.nextItem = nextItem
        self.unconstrained = unconstrained
        self.optimizer = optimizer
        self.best = best
        self.anchor = anchor
        self.stepScale = stepScale
        self.stoppedEarly = stoppedEarly
    }
}

/// The best meta-iteration so far: lowest objective, with the numbers the job resource shows.
public struct BestSoFar: Sendable, Equatable, Codable {
    public var metaIteration: Int
    public var validationLoss: Double
    public var validationError: Double
    /// The value `best` is ranked by (the mean over seeds of `meta.objective`); nil in checkpoints
    /// written before it existed, which ranked by validation loss.
    public var objective: Double?
    public var trainingLoss: Double?
    public var testLoss: Double?
    public var testError: Double?
    /// Its unconstrained hyperparameters, kept while the guard is on: a rejected last item goes
    /// back to them.
    public var unconstrained: [Double]?

    public init(
        metaIteration: Int, validationLoss: Double, validationError: Double, objective: Double? = nil,
        trainingLoss: Double? = nil, testLoss: Double? = nil, testError: Double? = nil, unconstrained: [Double]? = nil
    ) {
        self.metaIteration = metaIteration
        self.validationLoss = validationLoss
        self.validationError = validationError
        self.objective = objective
        self.trainingLoss = trainingLoss
        self.testLoss = testLoss
        self.testError = testError
        self.unconstrained = unconstrained
    }

    /// What `best` is ranked by.
    public var rankingValue: Double { objective ?? validationLoss }
}

/// An accepted meta-iteration and the step it took, kept so that a rejected step can be retaken
/// from it with a smaller step size.
public struct GuardAnchor: Sendable, Equatable, Codable {
    public var metaIteration: Int
    public var unconstrained: [Double]
    /// The meta-optimiser before this item's step.
    public var optimizer: MetaOptimizer
    public var gradient: [Double]
    public var gradientNorm: Double
    public var objective: Double

    public init(
        metaIteration: Int, unconstrained: [Double], optimizer: MetaOptimizer, gradient: [Double],
        gradientNorm: Double, objective: Double
    ) {
        self.metaIteration = metaIteration
        self.unconstrained = unconstrained
        self.optimizer = optimizer
        self.gradient = gradient
        self.gradientNorm = gradientNorm
        self.objective = objective
    }
}

/// Why a tuning run stopped early.
public enum TuningError: Error, Sendable, Equatable {
    /// The weights, velocity or hypergradient left the representable range (the job fails, code `diverged`).
    case diverged(metaIteration: Int, detail: String)
    /// Cancelled by its observer.
    case cancelled
    /// The reverse pass did not reproduce the initial weights bit for bit (a bug; code `not_reversible`).
    case notReversible(metaIteration: Int, detail: String)

    init(_ error: TrainingError, metaIteration: Int) {
        switch error {
        case .diverged(let step, let detail):
            self = .diverged(metaIteration: metaIteration, detail: "at training iteration \(step): \(detail)")
        case .cancelled:
            self = .cancelled
        case .notReversible(let detail):
            self = .notReversible(metaIteration: metaIteration, detail: detail)
        }
    }

    /// What usually makes training diverge, and what to change.
    static let divergenceHint = """
        This usually means steps too large for the data's scale: features far from unit scale \
        (set "preprocess": {"standardize": true}), a learning rate or initial scale too large \
        (lower hyperparameters.learning_rate.init or init_scale.init), or a meta-step that walked \
        into the chaotic regime (keep meta.guard on, or lower meta.step_size).
        """

    /// The stable error code of docs/api.md's `error.code`.
    public var code: String {
        switch self {
        case .diverged: "diverged"
        case .cancelled: "cancelled"
        case .notReversible: "not_reversible"
        }
    }

    public var message: String {
        switch self {
        case .diverged(let item, let detail):
            "training diverged in meta-iteration \(item), \(detail). " + Self.divergenceHint
        case .cancelled: "the job was cancelled"
        case .notReversible(let item, let detail): "exact reversal failed in meta-iteration \(item): \(detail)"
        }
    }
}
