import JSON

extension WeightSharingSettings {
    /// The fields of a weight-sharing spec (`examples/omniglot-sharing.json`):
    ///
    ///     {"kind": "weight_sharing", "name": ..., "dataset": {"name": "omniglot"},
    ///      "model": {"hidden": [400, 200],
    ///                "sharing": {"tasks": "alphabets+rotations" | "alphabets", "alphabets": 1...5,
    ///                            "layers": [1, 2, 3], "learn": "transforms"}},
    ///      "training": {"iterations", "learning_rate", "momentum", "init_scale", "l2"},
    ///      "meta": {"iterations", "step_size", "validation_drawings", "seed"}}
    ///
    /// Every field but `kind` is optional (the paper's settings are the defaults); unknown fields and
    /// values out of range are collected as `SpecError`s naming the field, all at once.
    public static func parse(_ document: JSONValue) throws(SpecErrors) -> WeightSharingSettings {
        var reader = JobSpec.Reader()
        var settings = WeightSharingSettings()
        guard
            let root = reader.object(
                document, at: "", fields: ["kind", "name", "dataset", "model", "training", "meta"])
        else { throw SpecErrors(reader.errors) }
        if root["kind"] != .string("weight_sharing") { reader.fail("/kind", "must be \"weight_sharing\"") }
        if let name = root["name"] {
            settings.name = reader.string(name, at: "/name", maxLength: JobSpec.Limits.nameLength) ?? settings.name
        }
        if let dataset = root["dataset"], let object = reader.object(dataset, at: "/dataset", fields: ["name"]),
            object["name"] != nil && object["name"] != .string("omniglot")
        {
            reader.fail("/dataset/name", "must be \"omniglot\": weight sharing runs on the built-in Omniglot tasks")
        }
        if let model = root["model"], let object = reader.object(model, at: "/model", fields: ["hidden", "sharing"]) {
            if let hidden = object["hidden"] {
                if case .array(let widths) = hidden, (1...4).contains(widths.count) {
                    let parsed = widths.enumerated().compactMap { i, width in
                        reader.integer(width, at: "/model/hidden/\(i)", in: 1...4096, default: 1)
                    }
                    if parsed.count == widths.count { settings.hidden = parsed }
                } else {
                    reader.fail("/model/hidden", "must be a list of 1 to 4 layer widths")
                }
            }
            if let sharing = object["sharing"],
                let fields = reader.object(
                    sharing, at: "/model/sharing", fields: ["tasks", "alphabets", "layers", "learn"])
            {
                settings.rotations =
                    reader.choice(
                        fields["tasks"], at: "/model/sharing/tasks", allowed: ["alphabets+rotations", "alphabets"],
                        default: true, make: { $0 == "alphabets+rotations" }) ?? true
                settings.alphabets =
                    reader.integer(
                        fields["alphabets"], at: "/model/sharing/alphabets", in: 1...OmniglotTasks.alphabets.count,
                        default: OmniglotTasks.alphabets.count) ?? settings.alphabets
                _ = reader.choice(
                    fields["learn"], at: "/model/sharing/learn", allowed: ["transforms"], default: true,
                    make: { _ in true })
                if let layers = fields["layers"] {
                    settings.learned = parseLayers(layers, count: settings.layers, reader: &reader)
                }
            }
        }
        let positive = JobSpec.Bounds(lower: 0, lowerInclusive: false, upper: 1e6, upperInclusive: true)
        if let training = root["training"],
            let fields = reader.object(
                training, at: "/training", fields: ["iterations", "learning_rate", "momentum", "init_scale", "l2"])
        {
            settings.iterations =
                reader.integer(fields["iterations"], at: "/training/iterations", in: 1...1000, default: 50) ?? 50
            settings.learningRate =
                reader.number(fields["learning_rate"], at: "/training/learning_rate", in: positive, default: 1) ?? 1
            settings.momentum =
                reader.number(
                    fields["momentum"], at: "/training/momentum",
                    in: JobSpec.Bounds(lower: 0, lowerInclusive: false, upper: 1, upperInclusive: false),
                    default: settings.momentum) ?? settings.momentum
            settings.initScale =
                reader.number(
                    fields["init_scale"], at: "/training/init_scale", in: positive, default: settings.initScale)
                ?? settings.initScale
            settings.l2 =
                reader.number(
                    fields["l2"], at: "/training/l2",
                    in: JobSpec.Bounds(lower: 0, lowerInclusive: true, upper: 1e6, upperInclusive: true),
                    default: settings.l2) ?? settings.l2
        }
        if let meta = root["meta"],
            let fields = reader.object(
                meta, at: "/meta", fields: ["iterations", "step_size", "validation_drawings", "seed"])
        {
            settings.metaIterations =
                reader.integer(fields["iterations"], at: "/meta/iterations", in: 1...1000, default: 20) ?? 20
            settings.metaStep =
                reader.number(fields["step_size"], at: "/meta/step_size", in: positive, default: 0.2) ?? 0.2
            settings.validationDrawings =
                reader.integer(
                    fields["validation_drawings"], at: "/meta/validation_drawings",
                    in: 1...(OmniglotTasks.trainingDrawings - 1), default: 2) ?? 2
            settings.seed = UInt64(
                reader.integer(fields["seed"], at: "/meta/seed", in: 0...Int(Int32.max), default: 0) ?? 0)
        }
        guard reader.errors.isEmpty else { throw SpecErrors(reader.errors) }
        return settings
    }

    /// `model.sharing.layers`: the layers (numbered from 1, input side first) whose T_l are learned,
    /// each once; returned 0-based and sorted, nil for all of them.
    private static func parseLayers(_ value: JSONValue, count: Int, reader: inout JobSpec.Reader) -> [Int]? {
        guard case .array(let items) = value, !items.isEmpty, items.count <= count else {
            reader.fail("/model/sharing/layers", "must be a list of 1 to \(count) layer numbers (1...\(count))")
            return nil
        }
        var layers: [Int] = []
        for (i, item) in items.enumerated() {
            guard let layer = reader.integer(item, at: "/model/sharing/layers/\(i)", in: 1...count, default: 1) else {
                continue
            }
            if layers.contains(layer - 1) {
                reader.fail("/model/sharing/layers/\(i)", "layer \(layer) is listed twice")
            }
            layers.append(layer - 1)
        }
        // Every layer is the default (nil), so that a spec and its normalised form parse alike.
        return layers.count == items.count && layers.count < count ? layers.sorted() : nil
    }

    /// The spec with every default filled in, in the order `parse` documents: what a job stores
    /// and what `parse` reads back to the same settings.
    public func json() -> JSONValue {
        var sharing: JSONObject = [
            "tasks": .string(rotations ? "alphabets+rotations" : "alphabets"), "alphabets": .number(Double(alphabets)),
        ]
        sharing["layers"] = .array((learned ?? Array(0..<layers)).map { .number(Double($0 + 1)) })
        sharing["learn"] = "transforms"
        var root: JSONObject = ["name": .string(name), "dataset": ["name": "omniglot"], "kind": "weight_sharing"]
        root["model"] = ["hidden": .array(hidden.map { .number(Double($0)) }), "sharing": .object(sharing)]
        root["training"] = [
            "iterations": .number(Double(iterations)), "learning_rate": .number(learningRate),
            "momentum": .number(momentum), "init_scale": .number(initScale), "l2": .number(l2),
        ]
        root["meta"] = [
            "iterations": .number(Double(metaIterations)), "step_size": .number(metaStep),
            "validation_drawings": .number(Double(validationDrawings)), "seed": .number(Double(seed)),
        ]
        return .object(root)
    }
}
