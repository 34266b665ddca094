import JSON

/// Hyperparameters (or their gradients) in the shapes `docs/api.md` reports: schedules as
/// (segments, blocks) tables, L2 and init scales as vectors, learned training inputs as rows.
public struct HyperparameterValues: Sendable, Equatable {
    public var learningRate: [[Double]]  // (segments, blocks or 1)
    public var momentum: [[Double]]  // (segments, blocks or 1)
    public var l2: [Double]  // (1 | weight blocks | weights)
    public var initScale: [Double]  // (1 | blocks)
    public var trainingData: [[Double]]?  // (train rows, features) when learned

    public init(
        learningRate: [[Double]], momentum: [[Double]], l2: [Double], initScale: [Double],
        trainingData: [[Double]]? = nil
    ) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.l2 = l2
        self.initScale = initScale
        self.trainingData = trainingData
    }

    /// `{"learning_rate", "momentum", "l2", "init_scale"[, "training_data"]}`.
    public func json() -> JSONValue {
        var object: JSONObject = [
            "learning_rate": JSONValue(learningRate),
            "momentum": JSONValue(momentum),
            "l2": JSONValue(l2),
            "init_scale": JSONValue(initScale),
        ]
        if let trainingData { object["training_data"] = JSONValue(trainingData) }
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
        return sum.squareRoot()
    }
}
