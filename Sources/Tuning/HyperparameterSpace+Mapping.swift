import Foundation
import Learning

extension HyperparameterSpace {
    /// The training run's hyperparameters in natural units, expanded: (T, K) step sizes and
    /// momenta, λ per parameter (0 for biases), s per block.
    public func schedule(_ u: [Double]) -> TrainingSchedule {
        precondition(u.count == count, "u has \(u.count) entries, expected \(count)")
        let alpha = u[learningRateRange].map { PortableMath.exp($0) }
        let gamma = u[momentumRange].map(Self.sigmoid)
        let blockCount = blocks.count
        var learningRates: [[Double]] = []
        var momenta: [[Double]] = []
        learningRates.reserveCapacity(iterations)
        momenta.reserveCapacity(iterations)
        for t in 0..<iterations {
            learningRates.append((0..<blockCount).map { alpha[learningRateLayout.index(iteration: t, block: $0)] })
            // Adam has no momentum group: its rows are zeros (the trainer reads `adamSchedule`).
            momenta.append(
                (0..<blockCount).map { gamma.isEmpty ? 0 : gamma[momentumLayout.index(iteration: t, block: $0)] })
        }
        let lambda = u[l2Range].map { PortableMath.exp($0) }
        var l2 = Array(repeating: 0.0, count: parameterCount)
        forEachWeight { parameter, slot in l2[parameter] = lambda[slot] }
        let scales = u[initScaleRange].map { PortableMath.exp($0) }
        let initScales = (0..<blockCount).map { scales[initScalePer == .global ? 0 : $0] }
        return TrainingSchedule(
            iterations: iterations, learningRates: learningRates, momenta: momenta, l2: l2, initScales: initScales)
    }

    /// Chain rule from one run's natural-unit hypergradient to ∂f/∂u: sums over the iterations of a
    /// segment and the blocks sharing a value, then ×α (d e^u), ×γ(1−γ) (dσ), ×λ, ×s; training
    /// inputs pass through unchanged (zeros if the run did not report them).
    public func pullback(_ g: TrainingHypergradient, at u: [Double]) -> [Double] {
        precondition(u.count == count, "u has \(u.count) entries, expected \(count)")
        precondition(
            g.learningRates.count == iterations && g.momenta.count == iterations,
            "hypergradient covers \(g.learningRates.count) iterations, expected \(iterations)")
        precondition(
            g.l2.count == parameterCount && g.initScales.count == blocks.count,
            "hypergradient shapes do not match the architecture")
        var du = Array(repeating: 0.0, count: count)
        for t in 0..<iterations {
            for block in blocks.indices {
                du[learningRateRange.lowerBound + learningRateLayout.index(iteration: t, block: block)] +=
                    g.learningRates[t][block]
                if !momentumRange.isEmpty {
                    du[momentumRange.lowerBound + momentumLayout.index(iteration: t, block: block)] +=
                        g.momenta[t][block]
                }
            }
        }
        for index in learningRateRange { du[index] *= PortableMath.exp(u[index]) }
        for index in momentumRange {
            let gamma = Self.sigmoid(u[index])
            du[index] *= gamma * (1 - gamma)
        }
        forEachWeight { parameter, slot in du[l2Range.lowerBound + slot] += g.l2[parameter] }
        for index in l2Range { du[index] *= PortableMath.exp(u[index]) }
        for block in blocks.indices {
            du[initScaleRange.lowerBound + (initScalePer == .global ? 0 : block)] += g.initScales[block]
        }
        for index in initScaleRange { du[index] *= PortableMath.exp(u[index]) }
        if trainingDataShape != nil, let inputs = g.trainingInputs {
            precondition(
                inputs.count == trainingDataRange.count,
                "training-input gradient has \(inputs.count) values, expected \(trainingDataRange.count)")
            du.replaceSubrange(trainingDataRange, with: inputs)
        }
        return du
    }

    /// The hyperparameters in natural units and `docs/api.md` shapes.
    public func values(_ u: [Double]) -> HyperparameterValues {
        precondition(u.count == count, "u has \(u.count) entries, expected \(count)")
        var values = HyperparameterValues(
            learningRate: table(u[learningRateRange].map { PortableMath.exp($0) }, layout: learningRateLayout),
            momentum: momentumRange.isEmpty ? [] : table(u[momentumRange].map(Self.sigmoid), layout: momentumLayout),
            l2: u[l2Range].map { PortableMath.exp($0) },
            initScale: u[initScaleRange].map { PortableMath.exp($0) },
            trainingData: trainingRows(u))
        if optimizer == .adam {
            values.beta1 = table(u[beta1Range].map(Self.sigmoid), layout: beta1Layout)
            values.beta2 = table(u[beta2Range].map(Self.sigmoid), layout: beta2Layout)
            values.epsilon = PortableMath.exp(u[epsilonRange.lowerBound])
            values.weightDecay = u[weightDecayRange].map { PortableMath.exp($0) }
        }
        return values
    }

    /// A gradient (or any vector) over u in `docs/api.md` shapes, without changing units: the
    /// hypergradient report, with respect to log α, logit γ, log λ, log s and the inputs.
    public func unconstrained(_ du: [Double]) -> HyperparameterValues {
        precondition(du.count == count, "du has \(du.count) entries, expected \(count)")
        var values = HyperparameterValues(
            learningRate: table(Array(du[learningRateRange]), layout: learningRateLayout),
            momentum: momentumRange.isEmpty ? [] : table(Array(du[momentumRange]), layout: momentumLayout),
            l2: Array(du[l2Range]),
            initScale: Array(du[initScaleRange]),
            trainingData: trainingRows(du))
        if optimizer == .adam {
            values.beta1 = table(Array(du[beta1Range]), layout: beta1Layout)
            values.beta2 = table(Array(du[beta2Range]), layout: beta2Layout)
            values.epsilon = du[epsilonRange.lowerBound]
            values.weightDecay = Array(du[weightDecayRange])
        }
        return values
    }

    /// An Adam run's hyperparameters in natural units, expanded like `schedule(_:)`: (T, K) α, β1
    /// and β2, ε, λ per parameter, s per block, and the decoupled weight decay per block, or per
    /// parameter when the group is per weight (0 for biases; empty when the group is off).
    public func adamSchedule(_ u: [Double]) -> AdamSchedule {
        precondition(optimizer == .adam, "adamSchedule is for Adam jobs")
        let base = schedule(u)
        let beta1 = u[beta1Range].map(Self.sigmoid), beta2 = u[beta2Range].map(Self.sigmoid)
        func expanded(_ values: [Double], _ layout: ScheduleLayout) -> [[Double]] {
            (0..<iterations).map { t in blocks.indices.map { values[layout.index(iteration: t, block: $0)] } }
        }
        let decay = weightDecays(u[weightDecayRange].map { PortableMath.exp($0) })
        return AdamSchedule(
            iterations: iterations, learningRates: base.learningRates, beta1: expanded(beta1, beta1Layout),
            beta2: expanded(beta2, beta2Layout), epsilon: PortableMath.exp(u[epsilonRange.lowerBound]), l2: base.l2,
            initScales: base.initScales, weightDecay: decay.perBlock, parameterWeightDecay: decay.perParameter)
    }

    /// The weight decay from the group's values: per block (0 for biases) when the group is global
    /// or per block, else per parameter (0 for biases); both empty when it is off.
    func weightDecays(_ values: [Double]) -> (perBlock: [Double], perParameter: [Double]) {
        guard !values.isEmpty else { return ([], []) }
        guard weightDecayPer != .weight else {
            var perParameter = [Double](repeating: 0, count: parameterCount)
            var weight = 0
            for block in blocks where block.kind == .weight {
                for parameter in block.range {
                    perParameter[parameter] = values[weight]
                    weight += 1
                }
            }
            return ([], perParameter)
        }
        var weightBlock = 0
        let perBlock = blocks.map { block in
            guard block.kind == .weight else { return 0.0 }
            defer { weightBlock += 1 }
            return values[weightDecayPer == .global ? 0 : weightBlock]
        }
        return (perBlock, [])
    }

    /// Chain rule from one Adam run's natural-unit hypergradient to ∂f/∂u, as `pullback(_:at:)`
    /// does for SGD; β1 and β2 through σ like momentum, ε and the weight decay through e^u.
    public func pullback(_ g: AdamHypergradient, at u: [Double]) -> [Double] {
        let sgd = TrainingHypergradient(
            learningRates: g.learningRates, momenta: g.learningRates.map { $0.map { _ in 0 } }, l2: g.l2,
            initScales: g.initScales, initialWeights: g.initialWeights, trainingInputs: nil)
        var du = pullback(sgd, at: u)
        for t in 0..<iterations {
            for block in blocks.indices {
                du[beta1Range.lowerBound + beta1Layout.index(iteration: t, block: block)] += g.beta1[t][block]
                du[beta2Range.lowerBound + beta2Layout.index(iteration: t, block: block)] += g.beta2[t][block]
            }
        }
        for index in Array(beta1Range) + Array(beta2Range) {
            let beta = Self.sigmoid(u[index])
            du[index] *= beta * (1 - beta)
        }
        du[epsilonRange.lowerBound] = g.epsilon * PortableMath.exp(u[epsilonRange.lowerBound])
        if !weightDecayRange.isEmpty {
            var weightBlock = 0, weight = 0
            for (k, block) in blocks.enumerated() where block.kind == .weight {
                if weightDecayPer == .weight {
                    for parameter in block.range {
                        du[weightDecayRange.lowerBound + weight] += g.parameterWeightDecay[parameter]
                        weight += 1
                    }
                } else {
                    du[weightDecayRange.lowerBound + (weightDecayPer == .global ? 0 : weightBlock)] += g.weightDecay[k]
                }
                weightBlock += 1
            }
            for index in weightDecayRange { du[index] *= PortableMath.exp(u[index]) }
        }
        return du
    }

    /// Calls `body(parameter index, slot in the L2 group)` for every weight (biases have no λ).
    private func forEachWeight(_ body: (Int, Int) -> Void) {
        var weightBlock = 0, weight = 0
        for block in blocks where block.kind == .weight {
            for parameter in block.range {
                let slot =
                    switch l2Per {
                    case .global: 0
                    case .block: weightBlock
                    case .weight: weight
                    }
                body(parameter, slot)
                weight += 1
            }
            weightBlock += 1
        }
    }

    private func table(_ flat: [Double], layout: ScheduleLayout) -> [[Double]] {
        (0..<layout.segments).map { Array(flat[($0 * layout.columns)..<(($0 + 1) * layout.columns)]) }
    }

    private func trainingRows(_ vector: [Double]) -> [[Double]]? {
        guard let shape = trainingDataShape else { return nil }
        let base = trainingDataRange.lowerBound
        return (0..<shape.rows).map { Array(vector[(base + $0 * shape.features)..<(base + ($0 + 1) * shape.features)]) }
    }
}
