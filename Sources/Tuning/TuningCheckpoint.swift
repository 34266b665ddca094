import Learning

/// Everything needed to continue a tuning run exactly where it stopped: which history item comes
/// next, the unconstrained hyperparameters, and the meta-optimiser's moments.
public struct TuningCheckpoint: Sendable, Equatable, Codable {
    /// Index of the next history item to compute (items 0..<nextItem are done).
    public var nextItem: Int
    /// The unconstrained hyperparameter vector u (log α, logit γ, log λ, log s, training inputs).
    public var unconstrained: [Double]
    public var optimizer: MetaOptimizer
    /// The best item so far by validation loss.
    public var best: BestSoFar?

    public init(nextItem: Int, unconstrained: [Double], optimizer: MetaOptimizer, best: BestSoFar?) {
        self.nextItem = nextItem
        self.unconstrained = unconstrained
        self.optimizer = optimizer
        self.best = best
    }
}

/// The best meta-iteration so far (lowest validation loss).
public struct BestSoFar: Sendable, Equatable, Codable {
    public var metaIteration: Int
    public var validationLoss: Double
    public var validationError: Double

    public init(metaIteration: Int, validationLoss: Double, validationError: Double) {
        self.metaIteration = metaIteration
        self.validationLoss = validationLoss
        self.validationError = validationError
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

    /// The stable error code of API.md's `error.code`.
    public var code: String {
        switch self {
        case .diverged: "diverged"
        case .cancelled: "cancelled"
        case .notReversible: "not_reversible"
        }
    }

    public var message: String {
        switch self {
        case .diverged(let item, let detail): "training diverged in meta-iteration \(item), \(detail)"
        case .cancelled: "the job was cancelled"
        case .notReversible(let item, let detail): "exact reversal failed in meta-iteration \(item): \(detail)"
        }
    }
}
