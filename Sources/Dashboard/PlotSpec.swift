import JSON

/// The facts about a job that its plots depend on, read from the normalised spec (`docs/api.md`
/// "Job spec"); missing members take the documented defaults, so a partial spec still plots.
struct PlotSpec: Equatable {
    /// Hidden layer widths; the model has `hidden.count + 1` layers.
    var hidden: [Int]
    /// Training iterations T of each meta-iteration.
    var iterations: Int
    /// `"global"`, `"block"` or `"weight"`.
    var l2Per: String
    /// Adam's `weight_decay.per`: `"global"`, `"block"` or `"weight"`.
    var weightDecayPer: String
    /// `"global"` or `"block"`.
    var initScalePer: String
    var learnsTrainingData: Bool
    /// The built-in dataset's name, nil for an upload.
    var builtinDataset: String?
    /// For a network given as `model.layers`: its layers with parameters, named as the blocks are
    /// ("conv2d_1", ..., the output "dense_N"); nil for the dense shorthand.
    var layerNames: [String]?

    init(_ spec: JSONValue) {
        hidden = spec["model"]?["hidden"]?.arrayValue?.compactMap(\.intValue) ?? [50, 50]
        iterations = max(1, spec["training"]?["iterations"]?.intValue ?? 100)
        let hyperparameters = spec["hyperparameters"]
        l2Per = hyperparameters?["l2"]?["per"]?.stringValue ?? "block"
        initScalePer = hyperparameters?["init_scale"]?["per"]?.stringValue ?? "block"
        weightDecayPer = hyperparameters?["weight_decay"]?["per"]?.stringValue ?? "global"
        learnsTrainingData = hyperparameters?["training_data"]?["learn"]?.boolValue ?? false
        builtinDataset = spec["dataset"]?["name"]?.stringValue
        if let layers = spec["model"]?["layers"]?.arrayValue {
            var counts: [String: Int] = [:]
            let types =
                layers.compactMap { $0["type"]?.stringValue }.filter { $0 == "dense" || $0 == "conv2d" } + ["dense"]
            layerNames = types.map { type in
                counts[type, default: 0] += 1
                return "\(type)_\(counts[type]!)"
            }
        }
    }

    var layerCount: Int { layerNames?.count ?? hidden.count + 1 }

    /// Parameter blocks in order: W1, b1, W2, b2, ... (conv2d_1.weights, conv2d_1.biases, ...).
    var blockNames: [String] {
        if let layerNames { return layerNames.flatMap { ["\($0).weights", "\($0).biases"] } }
        return (1...layerCount).flatMap { ["W\($0)", "b\($0)"] }
    }

    /// The weight block of each layer with parameters, in order.
    var weightBlockNames: [String] {
        layerNames?.map { "\($0).weights" } ?? (1...layerCount).map { "W\($0)" }
    }

    /// Names for the columns of a per-block table with `count` columns: the block names when the
    /// count matches, "all blocks" for a single global value, else plain numbers.
    func columnNames(count: Int, global: String = "all blocks", blocks: [String]? = nil) -> [String] {
        let blocks = blocks ?? blockNames
        if count == blocks.count { return blocks }
        if count == 1 { return [global] }
        return (1...max(1, count)).map { "block \($0)" }
    }

    /// Line style of a named block: one colour per layer, biases dashed, so W2 and b2 read as a pair.
    static func style(of name: String, column: Int) -> (color: Int, dashed: Bool) {
        if let layer = Int(name.dropFirst()), layer >= 1, name.first == "W" || name.first == "b" {
            return (layer - 1, name.first == "b")
        }
        if name.hasSuffix(".weights") || name.hasSuffix(".biases") { return (column / 2, name.hasSuffix(".biases")) }
        return (column, false)
    }

    /// The iterations segment `index` of `count` covers when a schedule divides `iterations` steps
    /// into equal runs: ⌊sT/S⌋ ..< ⌊(s+1)T/S⌋.
    static func segment(_ index: Int, of count: Int, iterations: Int) -> Range<Int> {
        (index * iterations / count)..<((index + 1) * iterations / count)
    }

    /// A (segments, blocks) schedule expanded to one row per training iteration.
    static func expand(_ schedule: [[Double]], iterations: Int) -> [[Double]] {
        guard !schedule.isEmpty else { return [] }
        var rows: [[Double]] = []
        rows.reserveCapacity(iterations)
        for (index, row) in schedule.enumerated() {
            for _ in segment(index, of: schedule.count, iterations: iterations) { rows.append(row) }
        }
        return rows
    }

    /// The width and height of an image of `features` pixels: square when `features` is a square
    /// (64 → 8×8), else the nearest wider rectangle, its last row padded.
    static func imageShape(features: Int) -> (width: Int, height: Int) {
        var side = Int(Double(features).squareRoot())
        while side * side < features { side += 1 }
        while side > 1, (side - 1) * (side - 1) >= features { side -= 1 }
        return (side, (features + side - 1) / max(1, side))
    }
}

/// Reading numbers out of history items, where a non-finite value arrives as `null`.
enum HistoryValues {
    /// A number, NaN for `null` or anything else, so that it plots as a gap.
    static func number(_ value: JSONValue?) -> Double {
        value?.doubleValue ?? .nan
    }

    static func vector(_ value: JSONValue?) -> [Double]? {
        value?.arrayValue?.map(number)
    }

    static func table(_ value: JSONValue?) -> [[Double]]? {
        guard let rows = value?.arrayValue else { return nil }
        var table: [[Double]] = []
        for row in rows {
            guard let values = vector(row) else { return nil }
            table.append(values)
        }
        return table
    }

    /// The sum of squares of every number anywhere in `value`; NaN when any entry is `null`.
    static func sumOfSquares(_ value: JSONValue) -> Double {
        switch value {
        case .number(let x): x * x
        case .array(let elements): elements.reduce(0) { $0 + sumOfSquares($1) }
        case .object(let object): object.values.reduce(0) { $0 + sumOfSquares($1) }
        case .null: .nan
        case .bool, .string: 0
        }
    }
}
