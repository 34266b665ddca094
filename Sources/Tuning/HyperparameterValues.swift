import JSON

/// Hyperparameters (or their gradients) in the shapes `docs/api.md` reports: schedules as
/// (segments, blocks) tables, L2 and init scales as vectors, learned training inputs as rows.
public struct HyperparameterValues: Sendable, Equatable {
    public var learningRate: [[Double]]  // (segments, blocks or 1)
    public var momentum: [[Double]]  // (segments, blocks or 1)
    public var l2: [Double]  // (1 | weight blocks | weights)
    public var initScale: [Double]  // (1 | blocks)
    public var trainingData: [[Double]]?  // (train rows, features) when learned
    /// Adam's groups, nil for SGD (whose `momentum` Adam leaves empty).
    public var beta1: [[Double]]?  // (segments, blocks or 1)
    public var beta2: [[Double]]?  // (segments, blocks or 1)
    public var epsilon: Double?
    public var weightDecay: [Double]?  // (0 when off | 1 | weight blocks | weights)
    /// A weight-sharing job's transforms T_l, nil for every other kind.  // (layers, tasks, tasks)
    public var transforms: [[[Double]]]?

    public init(
        learningRate: [[Double]], momentum: [[Double]], l2: [Double], initScale: [Double],
        trainingData: [[Double]]? = nil, beta1: [[Double]]? = nil, beta2: [[Double]]? = nil, epsilon: Double? = nil,
        weightDecay: [Double]? = nil
    ) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.l2 = l2
        self.initScale = initScale
        self.trainingData = trainingData
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Whether these are an Adam job's hyperparameters.
    public var isAdam: Bool { beta1 != nil }

    /// `{"learning_rate", "momentum", "l2", "init_scale"[, "training_data"]}`; for Adam
    /// `"beta1", "beta2", "epsilon", "weight_decay"` in place of `"momentum"`. A weight-sharing
    /// job's add `"transforms"`; its hypergradient is `{"transforms"}` alone (the fixed inner
    /// settings are left empty, so not written).
    public func json() -> JSONValue {
        if let transforms, learningRate.isEmpty { return ["transforms": .array(transforms.map { JSONValue($0) })] }
        var object: JSONObject = ["learning_rate": JSONValue(learningRate)]
        if let beta1, let beta2 {
            object["beta1"] = JSONValue(beta1)
            object["beta2"] = JSONValue(beta2)
            object["epsilon"] = .number(epsilon ?? 0)
            object["weight_decay"] = JSONValue(weightDecay ?? [])
        } else {
            object["momentum"] = JSONValue(momentum)
        }
        object["l2"] = JSONValue(l2)
        object["init_scale"] = JSONValue(initScale)
        if let trainingData { object["training_data"] = JSONValue(trainingData) }
        if let transforms { object["transforms"] = .array(transforms.map { JSONValue($0) }) }
        return .object(object)
    }
}

extension HyperparameterValues {
    /// The Euclidean norm over every group (for a hypergradient: how steep the meta-objective is).
    public var norm: Double {
        var sum = 0.0
        for row in learningRate { for x in row { sum += x * x } }
        for row in momentum { for x in row { sum += x * x } }
        for x in l2 { sum += x * x }
        for x in initScale { sum += x * x }
        for row in trainingData ?? [] { for x in row { sum += x * x } }
        for row in (beta1 ?? []) + (beta2 ?? []) { for x in row { sum += x * x } }
        for x in weightDecay ?? [] { sum += x * x }
        for row in (transforms ?? []).joined() { for x in row { sum += x * x } }
        if let epsilon { sum += epsilon * epsilon }
        return sum.squareRoot()
    }
}
