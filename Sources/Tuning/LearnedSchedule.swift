import JSON
import Learning

/// One history item's hyperparameters as the inner training applied them, in a plain table that
/// can leave Rewind: a step size and a momentum for every training iteration and parameter block,
/// the L2 strengths, the initial scales.
///
/// A history item stores each group in its spec's shape (segments × blocks or 1); training expands
/// it to (T, K) with the same rule `HyperparameterSpace.schedule(_:)` uses, so another trainer that
/// follows the table step by step replays Rewind's dynamics
///
///     g = ∇ [mean cross-entropy(w; batch_t) + ½ Σ λ_i w_i²]
///     v ← γ[t][k] v − (1 − γ[t][k]) g,   w ← w + α[t][k] v      (v₁ = 0, w₁ = s_k ε)
///
/// `momentumApplied` holds γ as the exact dynamics use it, the nearest n/2³²; the difference from
/// the requested γ is below 1.2e-10 and only matters to someone checking bits.
public struct LearnedSchedule: Sendable, Equatable {
    /// The model's parameter blocks in order: W1, b1, W2, b2, ...
    public let blocks: [ParameterBlock]
    /// α, γ (requested), λ per parameter, s per block: exactly what the trainer received.
    public let schedule: TrainingSchedule
    /// γ[t][k] as the exact dynamics apply it.  // (T, K)
    public let momentumApplied: [[Double]]
    /// λ per block (0 for biases) when the spec's L2 is global or per block; nil when per weight.
    public let l2PerBlock: [Double]?
    /// An Adam job's schedule (its `schedule.momenta` are then zeros), nil for SGD.
    public let adam: AdamSchedule?

    /// Expands `values` (a history item's `hyperparameters`) for `run`'s spec and architecture;
    /// nil when their shapes do not fit the spec (an item from another job).
    public init?(run: TuningRun, values: HyperparameterValues) {
        let space = run.space
        guard values.isAdam == (space.optimizer == .adam) else { return nil }
        var sgdValues = values
        if values.isAdam { sgdValues.momentum = values.learningRate.map { $0.map { _ in 0 } } }
        guard let schedule = space.expand(sgdValues, momentumLayout: values.isAdam ? space.learningRateLayout : nil)
        else { return nil }
        if values.isAdam {
            guard let adam = space.expandAdam(values, base: schedule) else { return nil }
            self.adam = adam
        } else {
            adam = nil
        }
        blocks = run.architecture.blocks
        self.schedule = schedule
        momentumApplied = schedule.momenta.map { row in row.map { RationalFactor(approximating: $0)?.value ?? $0 } }
        l2PerBlock = space.l2Per == .weight ? nil : blocks.map { schedule.l2[$0.range.lowerBound] }
    }

    /// The JSON table: per-iteration, per-block rows and the block list that names the columns.
    public func json() -> JSONValue {
        if let adam { return adamJSON(adam) }
        return sgdJSON()
    }

    func sgdJSON() -> JSONValue {
        var object = JSONObject()
        object["iterations"] = .number(Double(schedule.iterations))
        object["update"] = .string(Self.update)
        object["blocks"] = .array(
            blocks.map { block in
                [
                    "name": .string(block.name), "kind": .string(block.kind.rawValue),
                    "layer": .number(Double(block.layer)),
                    "rows": .number(Double(block.rows)), "cols": .number(Double(block.cols)),
                    "offset": .number(Double(block.range.lowerBound)),
                ]
            })
        object["learning_rate"] = JSONValue(schedule.learningRates)
        object["momentum"] = JSONValue(schedule.momenta)
        object["momentum_applied"] = JSONValue(momentumApplied)
        object["l2"] = l2PerBlock.map { JSONValue($0) } ?? .null
        if l2PerBlock == nil { object["l2_per_parameter"] = JSONValue(schedule.l2) }
        object["init_scale"] = JSONValue(schedule.initScales)
        return .object(object)
    }

    /// One CSV row per (iteration, block); `l2` is empty when it is per weight (see the JSON form).
    public func csv() -> String {
        if let adam { return adamCSV(adam) }
        var text = "iteration,block,name,learning_rate,momentum,momentum_applied,l2,init_scale\n"
        for t in 0..<schedule.iterations {
            for (k, block) in blocks.enumerated() {
                let l2 = l2PerBlock.map { "\($0[k])" } ?? ""
                text += "\(t),\(k),\(block.name),\(schedule.learningRates[t][k]),\(schedule.momenta[t][k]),"
                text += "\(momentumApplied[t][k]),\(l2),\(schedule.initScales[k])\n"
            }
        }
        return text
    }

    /// The inner update the table is for, in words a reader can check their trainer against.
    public static let update =
        "g = grad(mean cross-entropy on batch t + 0.5 * sum(l2 * w^2)); v = momentum[t][k] * v - (1 - momentum[t][k]) * g; "
        + "w = w + learning_rate[t][k] * v; v starts at 0, w starts at init_scale[k] * N(0, 1)"
}

extension HyperparameterSpace {
    /// The (T, K) schedule of hyperparameters given in report shapes (`values(_:)`), the same
    /// expansion `schedule(_:)` applies to u; nil when a group's shape does not fit this space.
    func expand(_ values: HyperparameterValues, momentumLayout: ScheduleLayout? = nil) -> TrainingSchedule? {
        let momentumLayout = momentumLayout ?? self.momentumLayout
        func fits(_ table: [[Double]], _ layout: ScheduleLayout) -> Bool {
            table.count == layout.segments && table.allSatisfy { $0.count == layout.columns }
        }
        guard fits(values.learningRate, learningRateLayout), fits(values.momentum, momentumLayout),
            values.l2.count == l2Range.count, values.initScale.count == initScaleRange.count
        else { return nil }
        let learningRates = (0..<iterations).map { t in
            blocks.indices.map { k in
                values.learningRate[learningRateLayout.segment(ofIteration: t)][learningRateLayout.column(ofBlock: k)]
            }
        }
        let momenta = (0..<iterations).map { t in
            blocks.indices.map { k in
                values.momentum[momentumLayout.segment(ofIteration: t)][momentumLayout.column(ofBlock: k)]
            }
        }
        var l2 = Array(repeating: 0.0, count: parameterCount)
        var weightBlock = 0, weight = 0
        for block in blocks where block.kind == .weight {
            for parameter in block.range {
                l2[parameter] =
                    switch l2Per {
                    case .global: values.l2[0]
                    case .block: values.l2[weightBlock]
                    case .weight: values.l2[weight]
                    }
                weight += 1
            }
            weightBlock += 1
        }
        let initScales = blocks.indices.map { values.initScale[initScalePer == .global ? 0 : $0] }
        return TrainingSchedule(
            iterations: iterations, learningRates: learningRates, momenta: momenta, l2: l2, initScales: initScales)
    }
}

extension HyperparameterValues {
    /// Reads a history item's `hyperparameters` (or `hypergradient`) object back; nil if malformed.
    public init?(json: JSONValue) {
        func vector(_ value: JSONValue?) -> [Double]? {
            guard let items = value?.arrayValue else { return nil }
            let numbers = items.compactMap(\.doubleValue)
            return numbers.count == items.count ? numbers : nil
        }
        func table(_ value: JSONValue?) -> [[Double]]? {
            guard let rows = value?.arrayValue else { return nil }
            let parsed = rows.compactMap { vector($0) }
            return parsed.count == rows.count ? parsed : nil
        }
        let beta1 = table(json["beta1"]), beta2 = table(json["beta2"])
        guard let learningRate = table(json["learning_rate"]),
            let momentum = beta1 == nil ? table(json["momentum"]) : [],
            let l2 = vector(json["l2"]), let initScale = vector(json["init_scale"])
        else { return nil }
        if beta1 != nil {
            guard beta2 != nil, json["epsilon"]?.doubleValue != nil, vector(json["weight_decay"]) != nil else {
                return nil
            }
        }
        self.init(
            learningRate: learningRate, momentum: momentum, l2: l2, initScale: initScale,
            trainingData: table(json["training_data"]), beta1: beta1, beta2: beta2,
            epsilon: json["epsilon"]?.doubleValue, weightDecay: vector(json["weight_decay"]))
    }
}

extension TuningRun {
    /// The split's training and validation rows exactly as the trainer sees them.
    public var splitRows: (training: LabelledRows, validation: LabelledRows) { (training, validation) }

    /// What an outside trainer needs to replay history item `item` from the same start: the rows
    /// of every minibatch (indices into the training split) and the standard normal draws ε of
    /// w₁ = s ⊙ ε.
    public func replayInputs(item: Int) -> (batches: [[Int]], noise: [Double]) {
        let draws = seeds(for: item)
        let plan = BatchPlan(
            rows: training.rows, batchSize: spec.training.batchSize, order: batchOrder(seed: draws.batches))
        let indices = UnsafeMutableBufferPointer<Int32>.allocate(capacity: plan.batchSize)
        defer { indices.deallocate() }
        let batches = (0..<spec.training.iterations).map { t in
            plan.fill(step: t, into: indices)
            return indices.map { Int($0) }
        }
        return (batches, Self.gaussianNoise(count: architecture.parameterCount, seed: draws.weights))
    }
}
