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
            momenta.append((0..<blockCount).map { gamma[momentumLayout.index(iteration: t, block: $0)] })
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
                du[momentumRange.lowerBound + momentumLayout.index(iteration: t, block: block)] += g.momenta[t][block]
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
        return HyperparameterValues(
            learningRate: table(u[learningRateRange].map { PortableMath.exp($0) }, layout: learningRateLayout),
            momentum: table(u[momentumRange].map(Self.sigmoid), layout: momentumLayout),
            l2: u[l2Range].map { PortableMath.exp($0) },
            initScale: u[initScaleRange].map { PortableMath.exp($0) },
            trainingData: trainingRows(u))
    }

    /// A gradient (or any vector) over u in `docs/api.md` shapes, without changing units: the
    /// hypergradient report, with respect to log α, logit γ, log λ, log s and the inputs.
    public func unconstrained(_ du: [Double]) -> HyperparameterValues {
        precondition(du.count == count, "du has \(du.count) entries, expected \(count)")
        return HyperparameterValues(
            learningRate: table(Array(du[learningRateRange]), layout: learningRateLayout),
            momentum: table(Array(du[momentumRange]), layout: momentumLayout),
            l2: Array(du[l2Range]),
            initScale: Array(du[initScaleRange]),
            trainingData: trainingRows(du))
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
