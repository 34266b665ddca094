import JSON
import Learning

/// An Adam job's learned schedule as a plain table (`training.optimizer: "adam"`): per iteration
/// and block α, β1 and β2 (requested, and the n/2³² the exact dynamics apply), ε, the decoupled
/// weight decay per block (or per parameter, `weight_decay_per_parameter`, with the CSV column
/// empty, as for L2 per weight), L2 and the initial scales. A trainer that follows it step by step
/// replays Rewind's Adam:
///
///     g = ∇ [mean cross-entropy(w; batch_t) + ½ Σ λ_i w_i²]
///     m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
///     w ← (1 − α·wd)·w − α · (m / (1 − Π β1)) / (√(v / (1 − Π β2)) + ε)
extension LearnedSchedule {
    /// The inner Adam update, in words a reader can check their trainer against.
    public static let adamUpdate =
        "g = grad(mean cross-entropy on batch t + 0.5 * sum(l2 * w^2)); m = beta1[t][k] * m + (1 - beta1[t][k]) * g; "
        + "v = beta2[t][k] * v + (1 - beta2[t][k]) * g^2; w = (1 - learning_rate[t][k] * weight_decay[k]) * w - "
        + "learning_rate[t][k] * (m / (1 - prod(beta1[:t+1][k]))) / (sqrt(v / (1 - prod(beta2[:t+1][k]))) + epsilon); "
        + "m and v start at 0, w at init_scale[k] * N(0, 1); the products use the applied betas; "
        + "with weight_decay_per_parameter (weight decay per weight) parameter i decays by "
        + "(1 - learning_rate[t][k] * weight_decay_per_parameter[i])"

    /// β as the exact dynamics apply it, the nearest n/2³².
    static func applied(_ table: [[Double]]) -> [[Double]] {
        table.map { row in row.map { RationalFactor(approximating: $0)?.value ?? $0 } }
    }

    func adamJSON(_ adam: AdamSchedule) -> JSONValue {
        guard case .object(var object) = sgdJSON() else { return .null }
        object["optimizer"] = "adam"
        object["update"] = .string(Self.adamUpdate)
        object["momentum"] = nil
        object["momentum_applied"] = nil
        object["beta1"] = JSONValue(adam.beta1)
        object["beta1_applied"] = JSONValue(Self.applied(adam.beta1))
        object["beta2"] = JSONValue(adam.beta2)
        object["beta2_applied"] = JSONValue(Self.applied(adam.beta2))
        object["epsilon"] = .number(adam.epsilon)
        if adam.parameterWeightDecay.isEmpty {
            object["weight_decay"] = JSONValue(adam.weightDecay.isEmpty ? blocks.map { _ in 0 } : adam.weightDecay)
        } else {
            // Per weight, as `l2_per_parameter`: one λ per entry of the flat parameter vector.
            object["weight_decay"] = .null
            object["weight_decay_per_parameter"] = JSONValue(adam.parameterWeightDecay)
        }
        return .object(object)
    }

    func adamCSV(_ adam: AdamSchedule) -> String {
        let beta1 = Self.applied(adam.beta1), beta2 = Self.applied(adam.beta2)
        var text = "iteration,block,name,learning_rate,beta1,beta1_applied,beta2,beta2_applied,epsilon,weight_decay,l2,"
        text += "init_scale\n"
        for t in 0..<adam.iterations {
            for (k, block) in blocks.enumerated() {
                let l2 = l2PerBlock.map { "\($0[k])" } ?? ""
                let decay =
                    !adam.parameterWeightDecay.isEmpty ? "" : adam.weightDecay.isEmpty ? "0" : "\(adam.weightDecay[k])"
                text += "\(t),\(k),\(block.name),\(adam.learningRates[t][k]),\(adam.beta1[t][k]),\(beta1[t][k]),"
                text += "\(adam.beta2[t][k]),\(beta2[t][k]),\(adam.epsilon),\(decay),\(l2),\(adam.initScales[k])\n"
            }
        }
        return text
    }
}

extension HyperparameterSpace {
    /// An Adam item's values (report shapes) expanded to the run's `AdamSchedule`, as
    /// `adamSchedule(_:)` expands u; nil when a group's shape does not fit this space.
    func expandAdam(_ values: HyperparameterValues, base: TrainingSchedule) -> AdamSchedule? {
        guard let beta1 = values.beta1, let beta2 = values.beta2, let epsilon = values.epsilon,
            let weightDecay = values.weightDecay
        else { return nil }
        func fits(_ table: [[Double]], _ layout: ScheduleLayout) -> Bool {
            table.count == layout.segments && table.allSatisfy { $0.count == layout.columns }
        }
        guard fits(beta1, beta1Layout), fits(beta2, beta2Layout), weightDecay.count == weightDecayRange.count else {
            return nil
        }
        func expanded(_ table: [[Double]], _ layout: ScheduleLayout) -> [[Double]] {
            (0..<iterations).map { t in
                blocks.indices.map { table[layout.segment(ofIteration: t)][layout.column(ofBlock: $0)] }
            }
        }
        let decay = weightDecays(weightDecay)
        return AdamSchedule(
            iterations: iterations, learningRates: base.learningRates, beta1: expanded(beta1, beta1Layout),
            beta2: expanded(beta2, beta2Layout), epsilon: epsilon, l2: base.l2, initScales: base.initScales,
            weightDecay: decay.perBlock, parameterWeightDecay: decay.perParameter)
    }
}
