import JSON

extension JobSpec {
    /// Reads the `hyperparameters` object. Array `init`s whose shape follows from the spec alone
    /// (schedules, per-block values) are shape-checked here; per-weight L2 waits for the dataset.
    static func parseHyperparameters(
        _ value: JSONValue?, iterations: Int?, blockCount: Int?, optimizer: Optimizer?, reader: inout Reader
    ) -> Hyperparameters? {
        let fields = [
            "learning_rate", "momentum", "l2", "init_scale", "training_data", "beta1", "beta2", "epsilon",
            "weight_decay",
        ]
        // Absent groups still go through the checks: default schedules can be too large too.
        var object = JSONObject()
        if let value {
            guard let members = reader.object(value, at: "/hyperparameters", fields: fields) else { return nil }
            object = members
        }
        // Each optimiser has its own groups: another's is a mistake worth naming.
        let foreign: [String: String] = [
            "momentum": "sgd", "beta1": "adam", "beta2": "adam", "epsilon": "adam", "weight_decay": "adam",
        ]
        for (field, owner) in foreign.sorted(by: { $0.key < $1.key }) where object[field] != nil {
            guard let optimizer, optimizer.rawValue != owner else { continue }
            reader.fail(
                "/hyperparameters/\(field)",
                "applies only with \"training\": {\"optimizer\": \"\(owner)\"}; this job's optimizer is \"\(optimizer.rawValue)\""
                    + (owner == "sgd" ? " (use beta1 for Adam's first-moment decay)" : ""))
        }
        let adam = optimizer == .adam
        var defaults = Hyperparameters()
        // Adam's usual step size (Kingma & Ba): SGD's 0.5 would throw its weights far off.
        if adam { defaults.learningRate.initial = .uniform(JobSpec.adamLearningRate) }
        let learningRate = parseScheduleGroup(
            object["learning_rate"], at: "/hyperparameters/learning_rate", defaults: defaults.learningRate,
            bounds: Limits.learningRate, iterations: iterations, blockCount: blockCount, reader: &reader)
        let momentum =
            adam
            ? defaults.momentum
            : parseScheduleGroup(
                object["momentum"], at: "/hyperparameters/momentum", defaults: defaults.momentum,
                bounds: Limits.momentum, iterations: iterations, blockCount: blockCount, reader: &reader)
        let l2 = parseL2(object["l2"], defaults: defaults.l2, layerCount: blockCount.map { $0 / 2 }, reader: &reader)
        let initScale = parseInitScale(
            object["init_scale"], defaults: defaults.initScale, blockCount: blockCount, reader: &reader)
        var trainingData: TrainingDataGroup? = defaults.trainingData
        if let group = object["training_data"] {
            let path = "/hyperparameters/training_data"
            trainingData = reader.object(group, at: path, fields: ["learn"]).flatMap { members in
                reader.bool(members["learn"], at: path + "/learn", default: false).map(TrainingDataGroup.init(learn:))
            }
        }
        if adam, trainingData?.learn == true {
            reader.fail(
                "/hyperparameters/training_data/learn",
                "learning the training inputs is not supported with the optimizer \"adam\" yet; use \"sgd\"")
        }
        // Adam's groups are checked only for Adam (an SGD job keeps their defaults).
        var beta1: ScheduleGroup? = defaults.beta1, beta2: ScheduleGroup? = defaults.beta2
        var epsilon: EpsilonGroup? = defaults.epsilon, weightDecay: WeightDecayGroup? = defaults.weightDecay
        if adam {
            beta1 = parseScheduleGroup(
                object["beta1"], at: "/hyperparameters/beta1", defaults: defaults.beta1, bounds: Limits.momentum,
                iterations: iterations, blockCount: blockCount, reader: &reader)
            beta2 = parseScheduleGroup(
                object["beta2"], at: "/hyperparameters/beta2", defaults: defaults.beta2, bounds: Limits.momentum,
                iterations: iterations, blockCount: blockCount, reader: &reader)
            epsilon = parseEpsilon(object["epsilon"], defaults: defaults.epsilon, reader: &reader)
            weightDecay = parseWeightDecay(
                object["weight_decay"], defaults: defaults.weightDecay, layerCount: blockCount.map { $0 / 2 },
                reader: &reader)
        }
        guard let learningRate, let momentum, let l2, let initScale, let trainingData, let beta1, let beta2,
            let epsilon, let weightDecay
        else { return nil }
        return Hyperparameters(
            learningRate: learningRate, momentum: momentum, l2: l2, initScale: initScale, trainingData: trainingData,
            beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
    }

    private static func parseEpsilon(_ value: JSONValue?, defaults: EpsilonGroup, reader: inout Reader) -> EpsilonGroup?
    {
        guard let value else { return defaults }
        let path = "/hyperparameters/epsilon"
        guard let object = reader.object(value, at: path, fields: ["init", "learn"]) else { return nil }
        let initial = reader.number(object["init"], at: path + "/init", in: Limits.epsilon, default: defaults.initial)
        let learn = reader.bool(object["learn"], at: path + "/learn", default: defaults.learn)
        guard let initial, let learn else { return nil }
        return EpsilonGroup(initial: initial, learn: learn)
    }

    /// `weight_decay`: like `l2` (global, per weight block or per weight), but the single number 0
    /// switches it off. A per-weight array's length waits for the dataset (`validate(dataset:)`).
    private static func parseWeightDecay(
        _ value: JSONValue?, defaults: WeightDecayGroup, layerCount: Int?, reader: inout Reader
    ) -> WeightDecayGroup? {
        guard let value else { return defaults }
        let path = "/hyperparameters/weight_decay"
        guard let object = reader.object(value, at: path, fields: ["init", "per", "learn"]) else { return nil }
        let per = reader.choice(
            object["per"], at: path + "/per", allowed: L2Granularity.allCases.map(\.rawValue), default: defaults.per,
            make: L2Granularity.init(rawValue:))
        let learn = reader.bool(object["learn"], at: path + "/learn", default: defaults.learn)
        let count: Int?, unit: String
        switch per {
        case .block?: (count, unit) = (layerCount, "one per weight block")
        case .weight?: (count, unit) = (nil, "one per weight")  // needs the dataset: see validate(dataset:)
        default: (count, unit) = (1, "one for all weights")
        }
        let initial: VectorInitial?
        switch object["init"] {
        case nil: initial = defaults.initial
        case .array(let elements)?:
            initial = reader.numbers(elements, at: path + "/init", in: Limits.weightDecay, count: count, unit: unit)
                .map(VectorInitial.values)
        case let other?:
            initial = reader.number(other, at: path + "/init", in: Limits.weightDecayOff, default: 0)
                .map(VectorInitial.uniform)
        }
        guard let per, let learn, let initial else { return nil }
        return WeightDecayGroup(initial: initial, per: per, learn: learn)
    }

    private static func parseScheduleGroup(
        _ value: JSONValue?, at path: String, defaults: ScheduleGroup, bounds: Bounds, iterations: Int?,
        blockCount: Int?, reader: inout Reader
    ) -> ScheduleGroup? {
        var object = JSONObject()
        if let value {
            guard let members = reader.object(value, at: path, fields: ["init", "schedule", "per_block", "learn"])
            else { return nil }
            object = members
        }
        let schedule = parseSchedule(
            object["schedule"], at: path + "/schedule", default: defaults.schedule, iterations: iterations,
            reader: &reader)
        let perBlock = reader.bool(object["per_block"], at: path + "/per_block", default: defaults.perBlock)
        let learn = reader.bool(object["learn"], at: path + "/learn", default: defaults.learn)

        // The table's shape is (segments, blocks); known only when everything it depends on is valid.
        var shape: (rows: Int, columns: Int)?
        if let schedule, let perBlock, let iterations, let blockCount {
            shape = (schedule.segmentCount(iterations: iterations), perBlock ? blockCount : 1)
        }
        if let size = shape, size.rows * size.columns > Limits.scheduleValues {
            reader.fail(
                path + "/schedule",
                "gives \(size.rows * size.columns) values (\(size.rows) segments × \(size.columns) blocks); at most \(Limits.scheduleValues) are allowed: use {\"segments\": K} or \"per_block\": false"
            )
            shape = nil
        }
        let initial: ScheduleInitial?
        switch object["init"] {
        case nil:
            initial = defaults.initial
        case .array(let rows)?:
            initial = scheduleTable(rows, at: path + "/init", bounds: bounds, shape: shape, reader: &reader)
        case let other?:
            initial = reader.number(other, at: path + "/init", in: bounds, default: 0).map(ScheduleInitial.uniform)
        }
        guard let schedule, let perBlock, let learn, let initial else { return nil }
        return ScheduleGroup(initial: initial, schedule: schedule, perBlock: perBlock, learn: learn)
    }

    private static func scheduleTable(
        _ rows: [JSONValue], at path: String, bounds: Bounds, shape: (rows: Int, columns: Int)?, reader: inout Reader
    ) -> ScheduleInitial? {
        if let shape, rows.count != shape.rows {
            reader.fail(path, "must have \(shape.rows) rows (one per segment of the schedule), not \(rows.count)")
            return nil
        }
        var table: [[Double]] = []
        var valid = true
        let unit = shape.map { $0.columns == 1 ? "one value: per_block is false" : "one per parameter block" } ?? ""
        for (index, row) in rows.enumerated() {
            guard case .array(let elements) = row else {
                reader.fail("\(path)/\(index)", "must be an array of numbers (one per parameter block)")
                valid = false
                continue
            }
            if let values = reader.numbers(
                elements, at: "\(path)/\(index)", in: bounds, count: shape?.columns, unit: unit)
            {
                table.append(values)
            } else {
                valid = false
            }
            if !valid, reader.errors.count > 50 { break }  // a wholly wrong table: enough said
        }
        return valid ? .table(table) : nil
    }

    private static func parseSchedule(
        _ value: JSONValue?, at path: String, default fallback: Schedule, iterations: Int?, reader: inout Reader
    ) -> Schedule? {
        switch value {
        case nil: return fallback
        case .string("constant")?: return .constant
        case .string("per_iteration")?: return .perIteration
        case .object(let object)? where object.keys == ["segments"]:
            var count = reader.integer(object["segments"], at: path + "/segments", in: Limits.iterations, default: 1)
            if let requested = count, let iterations, requested > iterations {
                reader.fail(path + "/segments", "must be between 1 and training.iterations (\(iterations))")
                count = nil
            }
            return count.map(Schedule.segments)
        default:
            reader.fail(path, "must be \"constant\", \"per_iteration\" or {\"segments\": K}")
            return nil
        }
    }

    private static func parseL2(
        _ value: JSONValue?, defaults: L2Group, layerCount: Int?, reader: inout Reader
    ) -> L2Group? {
        guard let value else { return defaults }
        let path = "/hyperparameters/l2"
        guard let object = reader.object(value, at: path, fields: ["init", "per", "learn"]) else { return nil }
        let per = reader.choice(
            object["per"], at: path + "/per", allowed: L2Granularity.allCases.map(\.rawValue), default: defaults.per,
            make: L2Granularity.init(rawValue:))
        let learn = reader.bool(object["learn"], at: path + "/learn", default: defaults.learn)
        let count: Int?, unit: String
        switch per {
        case .global?: (count, unit) = (1, "one for all weights")
        case .block?: (count, unit) = (layerCount, "one per weight block")
        case .weight?, nil: (count, unit) = (nil, "one per weight")  // needs the dataset: see validate(dataset:)
        }
        let initial = vectorInitial(
            object["init"], at: path + "/init", default: defaults.initial, bounds: Limits.l2, count: count, unit: unit,
            reader: &reader)
        guard let per, let learn, let initial else { return nil }
        return L2Group(initial: initial, per: per, learn: learn)
    }

    private static func parseInitScale(
        _ value: JSONValue?, defaults: InitScaleGroup, blockCount: Int?, reader: inout Reader
    ) -> InitScaleGroup? {
        guard let value else { return defaults }
        let path = "/hyperparameters/init_scale"
        guard let object = reader.object(value, at: path, fields: ["init", "per", "learn"]) else { return nil }
        let per = reader.choice(
            object["per"], at: path + "/per", allowed: InitScaleGranularity.allCases.map(\.rawValue),
            default: defaults.per, make: InitScaleGranularity.init(rawValue:))
        let learn = reader.bool(object["learn"], at: path + "/learn", default: defaults.learn)
        let count: Int? =
            switch per {
            case .global?: 1
            case .block?: blockCount
            case nil: nil
            }
        let unit = per == .global ? "one for all blocks" : "one per parameter block, biases included"
        let initial = vectorInitial(
            object["init"], at: path + "/init", default: defaults.initial, bounds: Limits.initScale, count: count,
            unit: unit, reader: &reader)
        guard let per, let learn, let initial else { return nil }
        return InitScaleGroup(initial: initial, per: per, learn: learn)
    }

    private static func vectorInitial(
        _ value: JSONValue?, at path: String, default fallback: VectorInitial, bounds: Bounds, count: Int?,
        unit: String,
        reader: inout Reader
    ) -> VectorInitial? {
        switch value {
        case nil: return fallback
        case .array(let elements)?:
            return reader.numbers(elements, at: path, in: bounds, count: count, unit: unit).map(VectorInitial.values)
        case let other?:
            return reader.number(other, at: path, in: bounds, default: 0).map(VectorInitial.uniform)
        }
    }
}
