/// What one forward-and-reverse Adam run produced.
public struct AdamRun: Sendable {
    public var hypergradient: AdamHypergradient
    /// w_{T+1}.
    public var finalWeights: [Double]
    /// f(w_{T+1}).
    public var objective: Double
    /// The minibatch training loss (with the penalty) at each forward step.  // (T)
    public var trainingLosses: [Double]
    /// Peak bits held by the two information buffers (m's and v's).
    public var bufferPeakBits: Int
    /// Σ_t Σ_k |block k|·(log2(1/β1) + log2(1/β2)): what the two decays destroy.
    public var theoreticalBits: Double
}

/// Trains with `ReversibleAdam` on a `TrainingProblem`, and reverses it exactly for the
/// hypergradient: one gradient and one Hessian-vector product per reverse step, as for momentum.
///
/// Reverse step t, from (w_{t+1}, m_{t+1}, v_{t+1}) and adjoints (w̄, m̄, v̄), with m̂ = m/c1,
/// s = √(v/c2), D = s + ε and u = α·m̂/D the update (c1 = 1 − P1_t, c2 = 1 − P2_t):
///
///     ᾱ_t += −⟨w̄, m̂/D⟩;  ε̄ += ⟨w̄, u/D⟩;  c̄1_t += ⟨w̄, u/c1⟩;  c̄2_t += −⟨w̄, u·s/(2·c2·D)⟩
///     m̃ = m̄ − w̄·α/(c1·D);  ṽ = v̄ + w̄·u/(2·s·c2·D)         (the new m and v's total adjoints)
///     undo w, recompute g = ∇L(w_t), undo m and v
///     β̄1_t += ⟨m̃, m_t − g⟩;  β̄2_t += ⟨ṽ, v_t − g²⟩
///     ḡ = (1 − β1)·m̃ + 2·(1 − β2)·g·ṽ                       (the m path and the v path)
///     w̄ += (H + diag λ)·ḡ;  λ̄ += w_t ⊙ ḡ;  m̄ = β1·m̃;  v̄ = β2·ṽ
///
/// With decoupled weight decay w_{t+1} = ρ·w_t − u (ρ = 1 − α·λ): ρ̄ = ⟨w̄, w_t⟩ and w̄ ← ρ·w̄ before
/// the gradient's term, ᾱ_t −= λ·ρ̄ and λ̄ −= α_t·ρ̄; with a decay per weight ρ_i = 1 − α·λ_i,
/// ρ̄_i = w̄_i·w_t,i, λ̄_i −= α_t·ρ̄_i, ᾱ_t −= Σ λ_i·ρ̄_i and w̄_i ← ρ_i·w̄_i. And the bias corrections chain into every earlier decay: c_t = 1 − Π_{s≤t} β_s gives
/// β̄_s += Σ_{t≥s} (−c̄_t)·P_t / β_s, one running sum per block.
public struct ReversibleAdamTrainer: Sendable {
    public let problem: TrainingProblem
    /// Threads the model calls share (1 or 2); every result is the same bits for either.
    public let threads: Int
    /// Whether the optimiser runs its fused C kernels or the Swift loops that specify them (see
    /// `ReversibleAdam.usesKernels`): the same bits, so only tests and benchmarks set it.
    public var usesKernels = true

    public init(problem: TrainingProblem, threads: Int = 1) {
        precondition(threads == 1 || threads == 2, "ReversibleAdamTrainer: threads must be 1 or 2")
        self.problem = problem
        self.threads = threads
    }

    /// Trains forward from w_1 = s ⊙ noise and returns w_{T+1} as Doubles.
    public func train(schedule: AdamSchedule, noise: [Double]) throws(TrainingError) -> [Double] {
        let (optimiser, model) = try start(schedule: schedule, noise: noise)
        for t in 0..<schedule.iterations {
            model.gradient(step: t, parameters: optimiser.weights)
            try optimiser.forward(step: t, gradient: UnsafeBufferPointer(model.scratch.gradient))
        }
        return Array(optimiser.weights)
    }

    /// Trains forward and returns w_{T+1} with the minibatch loss of every step (a job's final
    /// evaluation, which needs no reverse pass).
    public func trainRecordingLosses(
        schedule: AdamSchedule, noise: [Double], observe: (TrainingPhase) -> Bool = { _ in true }
    ) throws(TrainingError) -> (finalWeights: [Double], trainingLosses: [Double]) {
        let (optimiser, model) = try start(schedule: schedule, noise: noise)
        var losses = [Double](repeating: 0, count: schedule.iterations)
        for t in 0..<schedule.iterations {
            guard observe(.forward(step: t)) else { throw .cancelled }
            losses[t] = model.gradient(step: t, parameters: optimiser.weights)
            try optimiser.forward(step: t, gradient: UnsafeBufferPointer(model.scratch.gradient))
        }
        return (Array(optimiser.weights), losses)
    }

    /// f(w_{T+1}) after training forward: the function `hypergradient` differentiates.
    public func objective(schedule: AdamSchedule, noise: [Double]) throws(TrainingError) -> Double {
        let (optimiser, model) = try start(schedule: schedule, noise: noise)
        for t in 0..<schedule.iterations {
            model.gradient(step: t, parameters: optimiser.weights)
            try optimiser.forward(step: t, gradient: UnsafeBufferPointer(model.scratch.gradient))
        }
        return model.objective(parameters: optimiser.weights)
    }

    /// Trains forward, reverses exactly to w_1, and returns the exact hypergradient. Throws
    /// `.notReversible` if the reverse pass misses (w_1, 0, 0) by any bit.
    public func hypergradient(
        schedule: AdamSchedule, noise: [Double], observe: (TrainingPhase) -> Bool = { _ in true }
    ) throws(TrainingError) -> AdamRun {
        let (optimiser, model) = try start(schedule: schedule, noise: noise)
        let iterations = schedule.iterations
        var losses = [Double](repeating: 0, count: iterations)
        for t in 0..<iterations {
            guard observe(.forward(step: t)) else { throw .cancelled }
            losses[t] = model.gradient(step: t, parameters: optimiser.weights)
            try optimiser.forward(step: t, gradient: UnsafeBufferPointer(model.scratch.gradient))
        }
        let finalWeights = Array(optimiser.weights)
        let objective = model.objective(parameters: optimiser.weights)
        var adjoint = AdamAdjoint(optimiser: optimiser, model: model)
        for t in stride(from: iterations - 1, through: 0, by: -1) {
            guard observe(.reverse(step: t)) else { throw .cancelled }
            adjoint.reverse(step: t)
        }
        guard optimiser.isAtInitialState else {
            throw .notReversible(detail: "the Adam reverse pass did not land on (w_1, 0, 0) with empty buffers")
        }
        let dw = Array(model.scratch.dw)
        let blocks = optimiser.blocks
        let gradient = AdamHypergradient(
            learningRates: adjoint.dLearningRates, beta1: adjoint.dBeta1, beta2: adjoint.dBeta2,
            epsilon: adjoint.dEpsilon, l2: Array(model.scratch.dl2),
            initScales: blocks.map { block in block.reduce(0.0) { $0 + dw[$1] * noise[$1] } },
            weightDecay: adjoint.dWeightDecay, parameterWeightDecay: adjoint.dParameterWeightDecay, initialWeights: dw)
        let finite =
            dw.allSatisfy(\.isFinite) && gradient.l2.allSatisfy(\.isFinite) && gradient.epsilon.isFinite
            && gradient.weightDecay.allSatisfy(\.isFinite) && gradient.parameterWeightDecay.allSatisfy(\.isFinite)
            && [gradient.learningRates, gradient.beta1, gradient.beta2].allSatisfy {
                $0.allSatisfy { $0.allSatisfy(\.isFinite) }
            }
        guard finite else {
            throw .diverged(step: 0, detail: "the hypergradient overflowed (the training dynamics are chaotic)")
        }
        return AdamRun(
            hypergradient: gradient, finalWeights: finalWeights, objective: objective, trainingLosses: losses,
            bufferPeakBits: optimiser.peakStoredBits, theoreticalBits: optimiser.theoreticalBits)
    }

    private func start(schedule: AdamSchedule, noise: [Double]) throws(TrainingError) -> (ReversibleAdam, ModelCalls) {
        let model = ModelCalls(problem: problem, threads: threads, l2: schedule.l2)
        let blocks = model.blockRanges
        precondition(noise.count == model.scratch.parameterCount && schedule.initScales.count == blocks.count)
        var initial = [Double](repeating: 0, count: noise.count)
        for (k, block) in blocks.enumerated() {
            for i in block { initial[i] = schedule.initScales[k] * noise[i] }
        }
        let optimiser = try ReversibleAdam(schedule: schedule, blocks: blocks, initialWeights: initial)
        optimiser.usesKernels = usesKernels
        return (optimiser, model)
    }
}

/// The adjoint state of the reverse pass (see `ReversibleAdamTrainer`).
struct AdamAdjoint {
    let optimiser: ReversibleAdam
    let model: ModelCalls
    /// m̄ and v̄.  // (N)
    var dm: [Double]
    var dv: [Double]
    var dLearningRates: [[Double]]
    var dBeta1: [[Double]]
    var dBeta2: [[Double]]
    var dEpsilon = 0.0
    var dWeightDecay: [Double]
    /// ∂f/∂λ_i of the per-parameter weight decay.  // (N) or empty
    var dParameterWeightDecay: [Double]
    /// Σ_{t' ≥ t} (−c̄_t')·P_t' per block, for the bias corrections.  // (K)
    var bias1: [Double]
    var bias2: [Double]

    init(optimiser: ReversibleAdam, model: ModelCalls) {
        self.optimiser = optimiser
        self.model = model
        let n = optimiser.parameterCount, k = optimiser.blocks.count, t = optimiser.schedule.iterations
        dm = Array(repeating: 0, count: n)
        dv = dm
        dLearningRates = Array(repeating: Array(repeating: 0, count: k), count: t)
        dBeta1 = dLearningRates
        dBeta2 = dLearningRates
        bias1 = Array(repeating: 0, count: k)
        dWeightDecay = optimiser.schedule.weightDecay.map { _ in 0 }
        dParameterWeightDecay = optimiser.schedule.parameterWeightDecay.map { _ in 0 }
        bias2 = bias1
    }

    mutating func reverse(step t: Int) {
        let o = optimiser, s = model.scratch
        let dw = s.dw, direction = s.direction, epsilon = o.schedule.epsilon
        // The update's adjoints, from the new m and v, and w_{t+1} + u (the decay is undone next).
        for (k, block) in o.blocks.enumerated() {
            if o.usesKernels {
                let (dAlpha, dEps, dC1, dC2) = withKernelAdjoint { adjoint in
                    o.undoUpdateKernel(step: t, block: k, dw: UnsafePointer(dw.baseAddress!), adjoint: adjoint)
                }
                let c1 = o.correction1[t][k], c2 = o.correction2[t][k], half = 1 / (2 * c2)
                dEpsilon += dEps
                dLearningRates[t][k] = dAlpha
                bias1[k] -= dC1 / c1 * o.product1[t][k]
                bias2[k] -= dC2 * half * o.product2[t][k]
                continue
            }
            let alpha = o.schedule.learningRates[t][k], c1 = o.correction1[t][k], c2 = o.correction2[t][k]
            // Two divisions a parameter (1/D and 1/s); the block's constant factors are applied to
            // the sums once.
            let rate = alpha / c1, half = 1 / (2 * c2), constants = o.constants(step: t, block: k)
            var dAlpha = 0.0, dEps = 0.0, dC1 = 0.0, dC2 = 0.0
            for i in block {
                let (mHat, root, update) = o.update(i, constants)
                let denominator = root + epsilon
                // The forward step's increment, bit for bit (`ReversibleAdam.increment`): undo w here.
                o.restore(i, adding: FixedPoint.raw(update)!)
                let a = dw[i], inverse = 1 / denominator
                let ratio = a * update * inverse
                dAlpha -= a * mHat * inverse
                dEps += ratio
                dC1 += a * update
                dC2 -= ratio * root
                dm[i] -= a * rate * inverse
                if root > 0 { dv[i] += ratio * half / root }
            }
            dEpsilon += dEps
            dLearningRates[t][k] = dAlpha
            bias1[k] -= dC1 / c1 * o.product1[t][k]
            bias2[k] -= dC2 * half * o.product2[t][k]
        }
        o.undoDecay(step: t)
        // w_{t+1} = ρ·w_t − u: ρ̄ = ⟨w̄, w_t⟩, then w̄ ← ρ·w̄; ρ = 1 − α·λ.
        for (k, block) in o.blocks.enumerated() where o.decaysEach[k] {
            // Per parameter: ρ̄_i = w̄_i·w_i, λ̄_i −= α·ρ̄_i, ᾱ −= Σ λ_i·ρ̄_i; ρ_i as the dynamics apply it.
            let numerators = o.decayFactors(step: t, block: k), lambda = o.schedule.parameterWeightDecay
            let alpha = o.schedule.learningRates[t][k]
            var dAlpha = 0.0
            for i in block {
                let dRho = dw[i] * o.weights[i]
                dAlpha += lambda[i] * dRho
                dParameterWeightDecay[i] -= alpha * dRho
                dw[i] *= RationalFactor(numerator: numerators[i]).value
            }
            dLearningRates[t][k] -= dAlpha
        }
        for (k, block) in o.blocks.enumerated() {
            guard let factor = o.decay[t][k] else { continue }
            var dRho = 0.0
            for i in block {
                dRho += dw[i] * o.weights[i]
                dw[i] *= factor.value
            }
            dLearningRates[t][k] -= dRho * o.schedule.weightDecay[k]
            dWeightDecay[k] -= dRho * o.schedule.learningRates[t][k]
        }
        model.gradient(step: t, parameters: o.weights)
        let g = s.gradient
        guard !o.usesKernels else {
            for k in o.blocks.indices {
                let (dB1, dB2) = withKernelAdjoint { adjoint in
                    o.undoMomentsKernel(step: t, block: k, gradient: UnsafeBufferPointer(g), adjoint: adjoint)
                }
                dBeta1[t][k] = dB1 + bias1[k] / o.beta1[t][k].value
                dBeta2[t][k] = dB2 + bias2[k] / o.beta2[t][k].value
            }
            applyCurvature()
            return
        }
        o.undoMoments(step: t, gradient: UnsafeBufferPointer(g))
        for (k, block) in o.blocks.enumerated() {
            let b1 = o.beta1[t][k].value, b2 = o.beta2[t][k].value
            var dB1 = 0.0, dB2 = 0.0
            for i in block {
                let gi = g[i]
                dB1 += dm[i] * (AdamMoment.value(o.m[i]) - gi)
                dB2 += dv[i] * (AdamVariance.value(o.v[i]) - gi * gi)
                direction[i] = (1 - b1) * dm[i] + 2 * (1 - b2) * gi * dv[i]
                dm[i] *= b1
                dv[i] *= b2
            }
            dBeta1[t][k] = dB1 + bias1[k] / b1
            dBeta2[t][k] = dB2 + bias2[k] / b2
        }
        applyCurvature()
    }

    /// The step's last part: w̄ += (H + diag λ)·ḡ and λ̄ += w_t ⊙ ḡ, ḡ in `scratch.direction`.
    private func applyCurvature() {
        let o = optimiser, s = model.scratch
        model.curvature(parameters: o.weights)
        let hv = s.hessianProduct, l2 = s.l2, dl2 = s.dl2, weights = o.weights, dw = s.dw, direction = s.direction
        for i in 0..<o.parameterCount {
            dw[i] += hv[i] + l2[i] * direction[i]
            dl2[i] += weights[i] * direction[i]
        }
    }

    /// m̄, v̄ and the Hessian-vector product's direction as the kernels take them.
    private mutating func withKernelAdjoint<R>(_ body: (ReversibleAdam.KernelAdjoint) -> R) -> R {
        let direction = model.scratch.direction.baseAddress!
        return dm.withUnsafeMutableBufferPointer { dm in
            dv.withUnsafeMutableBufferPointer { dv in
                body(.init(dm: dm.baseAddress!, dv: dv.baseAddress!, direction: direction))
            }
        }
    }
}
