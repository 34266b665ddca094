import JSON

/// One evaluation in a job's history (API.md "history item").
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

    /// The API.md JSON object, fields in contract order.
    public func json() -> JSONValue {
        var object = JSONObject()
        object["meta_iteration"] = .number(Double(metaIteration))
        object["training_loss"] = .number(trainingLoss)
        object["validation_loss"] = .number(validationLoss)
        object["validation_error"] = .number(validationError)
        object["hyperparameters"] = hyperparameters.json()
        object["hypergradient"] = hypergradient?.json() ?? .null
        object["training_curve"] = trainingCurve.json()
        object["seconds"] = .number(seconds)
        return .object(object)
    }
}
