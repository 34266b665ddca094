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
        return [
            "name": .string(name),
            "dataset": datasetJSON,
            "split": split.json(withShuffle: !automatic.contains(.shuffle)),
            "preprocess": preprocess.json(withStandardize: !automatic.contains(.standardize)),
            "model": model.json(),
            "training": .object(trainingJSON),
            "hyperparameters": [
                "learning_rate": hyperparameters.learningRate.json(),
                "momentum": hyperparameters.momentum.json(),
                "l2": [
                    "init": hyperparameters.l2.initial.json(),
                    "per": .string(hyperparameters.l2.per.rawValue),
                    "learn": .bool(hyperparameters.l2.learn),
                ],
                "init_scale": [
                    "init": hyperparameters.initScale.initial.json(),
                    "per": .string(hyperparameters.initScale.per.rawValue),
                    "learn": .bool(hyperparameters.initScale.learn),
                ],
                "training_data": ["learn": .bool(hyperparameters.trainingData.learn)],
            ],
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
