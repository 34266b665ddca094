import JSON
import Learning

extension JobSpec {
    /// The normalised spec, every default filled in, members in `docs/api.md`'s order.
    public func json() -> JSONValue {
        let datasetJSON: JSONValue =
            switch dataset {
            case .builtin(let name): ["name": .string(name)]
            case .uploaded(let id): ["id": .string(id)]
            case .file(let path): ["path": .string(path)]
            }
        // An automatic setting is left out, so that parsing this document leaves it automatic too.
        var trainingJSON: JSONObject = [
            "iterations": .number(Double(training.iterations)),
            "batch_size": .number(Double(training.batchSize)),
            "seed": .number(Double(training.seed)),
            "batches": .string(training.batches.rawValue),
        ]
        if automatic.contains(.batchSize) { trainingJSON["batch_size"] = nil }
        // SGD, the default, is left implicit so that existing specs serialise as they always did.
        if training.optimizer != .sgd { trainingJSON["optimizer"] = .string(training.optimizer.rawValue) }
        return [
            "name": .string(name),
            "dataset": datasetJSON,
            "split": split.json(withShuffle: !automatic.contains(.shuffle)),
            "preprocess": preprocess.json(withStandardize: !automatic.contains(.standardize)),
            "model": model.json(),
            "training": .object(trainingJSON),
            "hyperparameters": hyperparameters.json(optimizer: training.optimizer),
            "meta": [
                "iterations": .number(Double(meta.iterations)),
                "optimizer": .string(meta.optimizer.rawValue),
                "step_size": .number(meta.stepSize),
                "objective": .string(meta.objective.rawValue),
                "reseed": .bool(meta.reseed),
                "seeds": .number(Double(meta.seeds)),
                "guard": [
                    "enabled": .bool(meta.stepGuard.enabled),
                    "tolerance": .number(meta.stepGuard.tolerance),
                    "gradient_jump": .number(meta.stepGuard.gradientJump),
                    "shrink": .number(meta.stepGuard.shrink),
                ],
                "patience": meta.patience.map { .number(Double($0)) } ?? .null,
            ],
        ]
    }
}

extension JobSpec.Hyperparameters {
    /// The groups `optimizer` uses, in `docs/api.md`'s order: SGD's momentum, or Adam's groups.
    func json(optimizer: JobSpec.Optimizer) -> JSONValue {
        var object: JSONObject = ["learning_rate": learningRate.json()]
        switch optimizer {
        case .sgd:
            object["momentum"] = momentum.json()
        case .adam:
            object["beta1"] = beta1.json()
            object["beta2"] = beta2.json()
            object["epsilon"] = ["init": .number(epsilon.initial), "learn": .bool(epsilon.learn)]
            object["weight_decay"] = [
                "init": weightDecay.initial.json(), "per": .string(weightDecay.per.rawValue),
                "learn": .bool(weightDecay.learn),
            ]
        }
        object["l2"] = ["init": l2.initial.json(), "per": .string(l2.per.rawValue), "learn": .bool(l2.learn)]
        object["init_scale"] = [
            "init": initScale.initial.json(), "per": .string(initScale.per.rawValue), "learn": .bool(initScale.learn),
        ]
        object["training_data"] = ["learn": .bool(trainingData.learn)]
        return .object(object)
    }
}

extension JobSpec.ScheduleGroup {
    func json() -> JSONValue {
        let initJSON: JSONValue =
            switch initial {
            case .uniform(let value): .number(value)
            case .table(let rows): JSONValue(rows)
            }
        let scheduleJSON: JSONValue =
            switch schedule {
            case .constant: "constant"
            case .perIteration: "per_iteration"
            case .segments(let count): ["segments": .number(Double(count))]
            }
        return ["init": initJSON, "schedule": scheduleJSON, "per_block": .bool(perBlock), "learn": .bool(learn)]
    }
}

extension JobSpec.VectorInitial {
    func json() -> JSONValue {
        switch self {
        case .uniform(let value): .number(value)
        case .values(let values): JSONValue(values)
        }
    }
}

/// Codable through the normalised JSON document, so a stored spec reads back through the same checks.
extension JobSpec: Codable {
    public init(from decoder: any Decoder) throws {
        let document = try JSONValue(from: decoder)
        switch JobSpec.parse(document) {
        case .success(let spec): self = spec
        case .failure(let errors):
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "invalid job spec: \(errors)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try json().encode(to: encoder)
    }
}

extension JobSpec.Model {
    /// `{"layers": [...]}` for a list of layers, else the dense shorthand.
    func json() -> JSONValue {
        guard let layers else {
            return [
                "hidden": .array(hidden.map { .number(Double($0)) }),
                "activation": .string(activation.rawValue),
            ]
        }
        return ["layers": .array(layers.map(\.json))]
    }
}

extension Layer {
    /// The layer object as `model.layers` takes it.
    public var json: JSONValue {
        var object: JSONObject = ["type": .string(typeName)]
        switch self {
        case .dense(let units):
            object["units"] = .number(Double(units))
        case .conv2d(let filters, let kernel, let stride, let padding):
            object["filters"] = .number(Double(filters))
            object["kernel"] = .number(Double(kernel))
            object["stride"] = .number(Double(stride))
            object["padding"] = .string(padding.rawValue)
        case .maxpool(let size), .avgpool(let size):
            object["size"] = .number(Double(size))
        case .activation, .flatten:
            break
        }
        return .object(object)
    }
}
