import JSON

/// One evaluation in a job's history (`docs/api.md`, "History item").
public struct HistoryItem: Sendable, Equatable {
    public var metaIteration: Int
    /// Mean cross-entropy over the whole training split at the final weights (no penalty).
    public var trainingLoss: Double
    /// Mean cross-entropy over the validation split at the final weights.
    public var validationLoss: Double
    /// Fraction of the validation split misclassified.
    public var validationError: Double
    /// The hyperparameters this meta-iteration trained with, in natural units.
    public var hyperparameters: HyperparameterValues
    /// The exact gradient of the meta-objective with respect to the unconstrained
    /// hyperparameters; nil for the final evaluation item.
    public var hypergradient: HyperparameterValues?
    /// The elementary learning curve: minibatch training loss against training iteration.
    public var trainingCurve: TrainingCurve
    /// Wall-clock seconds the item took (set by the caller: the tuning layer has no clock).
    public var seconds: Double
    /// Mean cross-entropy and error on the held-out test rows; nil without a test split. Never
    /// used for tuning or for choosing the best item.
    public var testLoss: Double?
    public var testError: Double?
    /// Standard deviations over the `meta.seeds` runs of the three losses (the loss fields are the
    /// means); nil with one seed.
    public var spread: Spread?
    /// The first conv2d layer's trained filters, on the final item of a network with one (the job's
    /// result); nil on every other item and for networks without convolutions.
    public var firstConvFilters: ConvFilters?
    /// A weight-sharing job's per-task numbers; nil for every other kind.
    public var sharing: SharingOutcome?
    /// Whether the guard accepted the meta-step that led here, and why not; nil when it is off.
    public var step: Step?
    public var stepReason: String?

    /// Standard deviations of the losses over a meta-iteration's training runs.
    public struct Spread: Sendable, Equatable {
        public var trainingLoss: Double
        public var validationLoss: Double
        public var testLoss: Double?
        public init(trainingLoss: Double, validationLoss: Double, testLoss: Double?) {
            self.trainingLoss = trainingLoss
            self.validationLoss = validationLoss
            self.testLoss = testLoss
        }
    }

    /// A conv2d layer's weights at the end of training (the first seed's run), filter by filter:
    /// `values` in (filter, ky, kx, channel) order, `filters` of them, each kernel × kernel ×
    /// channels. Bounded: at most `maxValues` values, the first filters that fit.
    public struct ConvFilters: Sendable, Equatable {
        public var filters: Int
        public var kernel: Int
        public var channels: Int
        public var values: [Double]

        /// The most values an item carries (32 KiB of doubles).
        public static let maxValues = 4096

        /// The filters of conv weights in Rewind's layout (kernel, kernel, channels, filters); nil
        /// when not even one filter fits in `maxValues`.
        public init?(weights: ArraySlice<Double>, filters total: Int, kernel: Int, channels: Int) {
            let perFilter = kernel * kernel * channels
            precondition(weights.count == perFilter * total, "ConvFilters: weights are not (k, k, c, filters)")
            let kept = min(total, Self.maxValues / perFilter)
            guard kept >= 1 else { return nil }
            let base = weights.startIndex
            values = (0..<kept).flatMap { f in (0..<perFilter).map { i in weights[base + i * total + f] } }
            filters = kept
            self.kernel = kernel
            self.channels = channels
        }

        public func json() -> JSONValue {
            [
                "filters": .number(Double(filters)), "kernel": .number(Double(kernel)),
                "channels": .number(Double(channels)), "values": JSONValue(values),
            ]
        }
    }

    /// The guard's verdict on an item.
    public enum Step: String, Sendable, Equatable {
        case accepted, rejected
    }

    public init(
        metaIteration: Int, trainingLoss: Double, validationLoss: Double, validationError: Double,
        hyperparameters: HyperparameterValues, hypergradient: HyperparameterValues?,
        trainingCurve: TrainingCurve = TrainingCurve(losses: []), seconds: Double = 0
    ) {
        self.metaIteration = metaIteration
        self.trainingLoss = trainingLoss
        self.validationLoss = validationLoss
        self.validationError = validationError
        self.hyperparameters = hyperparameters
        self.hypergradient = hypergradient
        self.trainingCurve = trainingCurve
        self.seconds = seconds
    }

    /// The docs/api.md JSON object, fields in contract order.
    public func json() -> JSONValue {
        var object = JSONObject()
        object["meta_iteration"] = .number(Double(metaIteration))
        object["training_loss"] = .number(trainingLoss)
        object["validation_loss"] = .number(validationLoss)
        object["validation_error"] = .number(validationError)
        object["test_loss"] = testLoss.map { .number($0) } ?? .null
        object["test_error"] = testError.map { .number($0) } ?? .null
        if let spread {
            object["training_loss_std"] = .number(spread.trainingLoss)
            object["validation_loss_std"] = .number(spread.validationLoss)
            object["test_loss_std"] = spread.testLoss.map { .number($0) } ?? .null
        }
        object["hyperparameters"] = hyperparameters.json()
        object["hypergradient"] = hypergradient?.json() ?? .null
        object["training_curve"] = trainingCurve.json()
        if let firstConvFilters { object["first_conv_filters"] = firstConvFilters.json() }
        if let sharing { object["sharing"] = sharing.json() }
        if let step {
            object["step"] = .string(step.rawValue)
            object["step_reason"] = stepReason.map { .string($0) } ?? .null
        }
        object["seconds"] = .number(seconds)
        return .object(object)
    }
}
