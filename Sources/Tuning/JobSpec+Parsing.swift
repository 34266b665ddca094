import JSON
import Learning

extension JobSpec {
    /// Reads and checks a submitted spec, filling in defaults, and collects every problem found.
    ///
    /// Checks that need the dataset (split sizes, parameter counts, per-weight shapes) are left to
    /// `validate(dataset:)`. `upload` is the caller's uploaded data set the spec refers to, found
    /// by the service before parsing: a spec may name it as it names a built-in
    /// (`{"name": "blobs"}`), and a job left unnamed is called after it ("blobs schedules").
    public static func parse(_ value: JSONValue, upload: UploadedDatasetName? = nil) -> Result<JobSpec, SpecErrors> {
        var reader = Reader()
        let spec = parse(value, upload: upload, reader: &reader)
        if let spec, reader.errors.isEmpty { return .success(spec) }
        return .failure(SpecErrors(reader.errors))
    }

    private static func parse(_ value: JSONValue, upload: UploadedDatasetName?, reader: inout Reader) -> JobSpec? {
        let fields = ["name", "dataset", "split", "preprocess", "model", "training", "hyperparameters", "meta"]
        guard let root = reader.object(value, at: "", fields: fields) else { return nil }
        var name = reader.string(root["name"], at: "/name", maxLength: Limits.nameLength)
        let dataset = parseDataset(root["dataset"], upload: upload, reader: &reader)
        if root["name"] == nil, let dataset {
            name =
                upload.flatMap { dataset == .uploaded(id: $0.id) ? "\($0.name) schedules" : nil }
                ?? defaultName(for: dataset)
        }
        let split = parseSplit(root["split"], reader: &reader)
        let preprocess = parsePreprocess(root["preprocess"], reader: &reader)
        let model = parseModel(root["model"], reader: &reader)
        let training = parseTraining(root["training"], reader: &reader)
        let hyperparameters = parseHyperparameters(
            root["hyperparameters"], iterations: training?.iterations, blockCount: model?.blockCount,
            optimizer: training?.optimizer, reader: &reader)
        let meta = parseMeta(root["meta"], reader: &reader)

        guard let name, let dataset, let split, let preprocess, let model, let training, let hyperparameters, let meta
        else { return nil }
        var spec = JobSpec(
            dataset: dataset, name: name, split: split, model: model, training: training,
            hyperparameters: hyperparameters, meta: meta, preprocess: preprocess)
        // Left out: defaults that depend on the data. Shuffling and standardising are off for the
        // built-ins (their histories stay as they were), so only a user's own data keeps them open.
        if root["training"]?["batch_size"] == nil {
            // A built-in's size is known now: decide at once, so its normalised spec stays complete.
            if case .builtin(let builtin) = dataset, let rows = BuiltinDatasets.info(builtin)?.rows {
                spec.training.batchSize = max(1, min(defaultBatchSize, split.resolved(rows: rows).train))
            } else {
                spec.automatic.insert(.batchSize)
            }
        }
        if dataset.isOwnData {
            if root["split"]?["shuffle"] == nil { spec.automatic.insert(.shuffle) }
            if root["preprocess"]?["standardize"] == nil { spec.automatic.insert(.standardize) }
        }
        return spec
    }

    private static func parseDataset(
        _ value: JSONValue?, upload: UploadedDatasetName?, reader: inout Reader
    ) -> DatasetReference? {
        guard let value else {
            reader.fail("/dataset", "is required: {\"name\": \"digits\"} or {\"id\": \"<uploaded dataset id>\"}")
            return nil
        }
        guard let object = reader.object(value, at: "/dataset", fields: ["name", "id", "path"]) else { return nil }
        switch (object["name"], object["id"], object["path"]) {
        case (let name?, nil, nil):
            if let upload, name == .string(upload.name), !BuiltinDatasets.names.contains(upload.name) {
                return .uploaded(id: upload.id)
            }
            return reader.choice(name, at: "/dataset/name", allowed: BuiltinDatasets.names, default: .builtin("digits"))
            {
                DatasetReference.builtin($0)
            }
        case (nil, let id?, nil):
            return reader.string(id, at: "/dataset/id", maxLength: Limits.datasetKey).map { .uploaded(id: $0) }
        case (nil, nil, let path?):
            return reader.string(path, at: "/dataset/path", maxLength: Limits.pathLength).map { .file(path: $0) }
        default:
            reader.fail(
                "/dataset",
                "must have exactly one of \"name\" (a built-in dataset), \"id\" (an uploaded one) or \"path\" (a local CSV file, for rewind run only)"
            )
            return nil
        }
    }

    private static func parseModel(_ value: JSONValue?, reader: inout Reader) -> Model? {
        var model = Model()
        guard let value else { return model }
        guard let object = reader.object(value, at: "/model", fields: ["hidden", "activation", "layers"]) else {
            return nil
        }
        var valid = true
        if let layers = object["layers"] {
            if object["hidden"] != nil || object["activation"] != nil {
                reader.fail(
                    "/model/layers",
                    "give either \"layers\" or the dense shorthand \"hidden\" and \"activation\", not both")
                return nil
            }
            guard let parsed = parseLayers(layers, reader: &reader) else { return nil }
            model.layers = parsed
            return model
        }
        if let hidden = object["hidden"] {
            if let elements = hidden.arrayValue, elements.count <= Limits.hiddenLayers {
                var widths: [Int] = []
                for (index, element) in elements.enumerated() {
                    let width = reader.integer(element, at: "/model/hidden/\(index)", in: Limits.layerWidth, default: 0)
                    if let width { widths.append(width) } else { valid = false }
                }
                model.hidden = widths
            } else {
                reader.fail(
                    "/model/hidden",
                    "must be an array of at most \(Limits.hiddenLayers) layer widths, each between \(Limits.layerWidth.lowerBound) and \(Limits.layerWidth.upperBound)"
                )
                valid = false
            }
        }
        let activation = reader.choice(
            object["activation"], at: "/model/activation", allowed: ["tanh", "relu", "sigmoid"],
            default: model.activation, make: Activation.init(rawValue:))
        guard let activation, valid else { return nil }
        model.activation = activation
        return model
    }

    /// `model.layers`: an array of layer objects, each with a `type` and that type's sizes.
    private static func parseLayers(_ value: JSONValue, reader: inout Reader) -> [Layer]? {
        guard let elements = value.arrayValue, elements.count <= Limits.layers else {
            reader.fail("/model/layers", "must be an array of at most \(Limits.layers) layer objects")
            return nil
        }
        let types = ["dense", "conv2d", "maxpool", "avgpool", "tanh", "relu", "sigmoid", "flatten"]
        let errorsBefore = reader.errors.count
        var layers: [Layer] = []
        for (index, element) in elements.enumerated() {
            let path = "/model/layers/\(index)"
            guard case .object(let members) = element else {
                reader.fail(path, "must be a layer object with a \"type\", not \(element.kindDescription)")
                continue
            }
            guard let typeValue = members["type"] else {
                reader.fail(path + "/type", "is required; one of " + types.map { "\"\($0)\"" }.joined(separator: ", "))
                continue
            }
            guard let type = reader.choice(typeValue, at: path + "/type", allowed: types, default: "", make: { $0 })
            else {
                continue
            }
            let fields =
                switch type {
                case "dense": ["type", "units"]
                case "conv2d": ["type", "filters", "kernel", "stride", "padding"]
                case "maxpool", "avgpool": ["type", "size"]
                default: ["type"]
                }
            guard let object = reader.object(element, at: path, fields: fields) else { continue }
            func required(_ key: String, _ range: ClosedRange<Int>) -> Int? {
                guard object[key] != nil else {
                    reader.fail(path + "/" + key, "is required for a \(type) layer")
                    return nil
                }
                return reader.integer(object[key], at: path + "/" + key, in: range, default: 0)
            }
            switch type {
            case "dense":
                if let units = required("units", Limits.layerWidth) { layers.append(.dense(units: units)) }
            case "conv2d":
                let filters = required("filters", Limits.filters), kernel = required("kernel", Limits.kernel)
                let stride = reader.integer(object["stride"], at: path + "/stride", in: Limits.stride, default: 1)
                let padding = reader.choice(
                    object["padding"], at: path + "/padding", allowed: ["same", "valid"], default: Padding.same,
                    make: Padding.init(rawValue:))
                if let filters, let kernel, let stride, let padding {
                    layers.append(.conv2d(filters: filters, kernel: kernel, stride: stride, padding: padding))
                }
            case "maxpool", "avgpool":
                if let size = required("size", Limits.poolSize) {
                    layers.append(type == "maxpool" ? .maxpool(size: size) : .avgpool(size: size))
                }
            case "flatten":
                layers.append(.flatten)
            default:
                layers.append(.activation(Activation(rawValue: type)!))
            }
        }
        return reader.errors.count == errorsBefore ? layers : nil
    }

    private static func parseTraining(_ value: JSONValue?, reader: inout Reader) -> Training? {
        let defaults = Training()
        guard let value else { return defaults }
        let fields = ["iterations", "batch_size", "seed", "batches", "optimizer"]
        guard let object = reader.object(value, at: "/training", fields: fields) else { return nil }
        let iterations = reader.integer(
            object["iterations"], at: "/training/iterations", in: Limits.iterations, default: defaults.iterations)
        let batchSize = reader.integer(
            object["batch_size"], at: "/training/batch_size", in: Limits.batchSize, default: defaults.batchSize)
        let seed = reader.integer(object["seed"], at: "/training/seed", in: Limits.seed, default: Int(defaults.seed))
        let batches = reader.choice(
            object["batches"], at: "/training/batches", allowed: BatchOrder.allCases.map(\.rawValue),
            default: defaults.batches, make: BatchOrder.init(rawValue:))
        let optimizer = reader.choice(
            object["optimizer"], at: "/training/optimizer", allowed: Optimizer.allCases.map(\.rawValue),
            default: defaults.optimizer, make: Optimizer.init(rawValue:))
        guard let iterations, let batchSize, let seed, let batches, let optimizer else { return nil }
        return Training(
            iterations: iterations, batchSize: batchSize, seed: UInt64(seed), batches: batches, optimizer: optimizer)
    }

    private static func parseMeta(_ value: JSONValue?, reader: inout Reader) -> Meta? {
        let defaults = Meta()
        guard let value else { return defaults }
        let fields = ["iterations", "optimizer", "step_size", "objective", "reseed", "seeds", "guard", "patience"]
        guard let object = reader.object(value, at: "/meta", fields: fields) else { return nil }
        let iterations = reader.integer(
            object["iterations"], at: "/meta/iterations", in: Limits.metaIterations, default: defaults.iterations)
        let optimizer = reader.choice(
            object["optimizer"], at: "/meta/optimizer", allowed: MetaOptimizer.Kind.allCases.map(\.rawValue),
            default: defaults.optimizer, make: MetaOptimizer.Kind.init(rawValue:))
        let stepSize = reader.number(
            object["step_size"], at: "/meta/step_size", in: Limits.stepSize, default: defaults.stepSize)
        let objective = reader.choice(
            object["objective"], at: "/meta/objective", allowed: Objective.allCases.map(\.rawValue),
            default: defaults.objective, make: Objective.init(rawValue:))
        let reseed = reader.bool(object["reseed"], at: "/meta/reseed", default: defaults.reseed)
        let seeds = reader.integer(object["seeds"], at: "/meta/seeds", in: Limits.seeds, default: defaults.seeds)
        let stepGuard = parseGuard(object["guard"], reader: &reader)
        var patience: Int?? = .some(nil)
        if let value = object["patience"], value != .null {
            patience = reader.integer(value, at: "/meta/patience", in: Limits.patience, default: 0).map { .some($0) }
        }
        guard let iterations, let optimizer, let stepSize, let objective, let reseed, let seeds, let stepGuard,
            let patience
        else { return nil }
        return Meta(
            iterations: iterations, optimizer: optimizer, stepSize: stepSize, objective: objective, reseed: reseed,
            seeds: seeds, stepGuard: stepGuard, patience: patience)
    }

    /// `true`, `false`, or an object with the guard's settings (any left out take their defaults).
    private static func parseGuard(_ value: JSONValue?, reader: inout Reader) -> Guard? {
        let defaults = Guard()
        guard let value else { return defaults }
        if case .bool(let enabled) = value { return Guard(enabled: enabled) }
        guard case .object = value else {
            reader.fail(
                "/meta/guard",
                "must be true, false or an object with enabled, tolerance, gradient_jump and shrink, not \(value.kindDescription)"
            )
            return nil
        }
        let fields = ["enabled", "tolerance", "gradient_jump", "shrink"]
        guard let object = reader.object(value, at: "/meta/guard", fields: fields) else { return nil }
        let enabled = reader.bool(object["enabled"], at: "/meta/guard/enabled", default: defaults.enabled)
        let tolerance = reader.number(
            object["tolerance"], at: "/meta/guard/tolerance", in: Limits.guardTolerance, default: defaults.tolerance)
        let jump = reader.number(
            object["gradient_jump"], at: "/meta/guard/gradient_jump", in: Limits.gradientJump,
            default: defaults.gradientJump)
        let shrink = reader.number(
            object["shrink"], at: "/meta/guard/shrink", in: Limits.guardShrink, default: defaults.shrink)
        guard let enabled, let tolerance, let jump, let shrink else { return nil }
        return Guard(enabled: enabled, tolerance: tolerance, gradientJump: jump, shrink: shrink)
    }
}
