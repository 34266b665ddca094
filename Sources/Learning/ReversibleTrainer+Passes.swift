/// The state of one reversible run: exact position and velocity, the information buffer, the
/// adjoints and the per-step factors. Forward and reverse live side by side so that the reverse
/// step visibly undoes the forward step line by line.
struct RunState {
    let problem: TrainingProblem
    let schedule: TrainingSchedule
    let noise: [Double]
    let blocks: [ParameterBlock]
    let scratch: TrainerScratch
    let workspace: MLPWorkspace
    var buffer: InformationBuffer
    /// The exact momentum factor of iteration t, block k.  // (T, K)
    let factors: [[RationalFactor]]

    /// Adjoints per iteration and block.  // (T, K)
    var dLearningRates: [[Double]]
    var dMomenta: [[Double]]
    /// ∂f/∂X for the training inputs, when differentiated.  // (rows, F)
    var dInputs: [Double] = []
    /// The minibatch training loss (with the penalty) at each forward step.  // (T)
    var losses: [Double]

    init(trainer: ReversibleTrainer, schedule: TrainingSchedule, noise: [Double]) throws(TrainingError) {
        let architecture = trainer.problem.model.architecture
        let n = architecture.parameterCount
        let k = architecture.blocks.count
        let t = schedule.iterations
        precondition(t >= 0 && schedule.learningRates.count == t && schedule.momenta.count == t, "schedule must have T rows")
        precondition(schedule.learningRates.allSatisfy { $0.count == k } && schedule.momenta.allSatisfy { $0.count == k })
        precondition(schedule.l2.count == n && schedule.initScales.count == k && noise.count == n)
        problem = trainer.problem
        self.schedule = schedule
        self.noise = noise
        blocks = architecture.blocks
        scratch = TrainerScratch(
            parameterCount: n, batchSize: problem.batches.batchSize, features: problem.training.features)
        workspace = MLPWorkspace(architecture: architecture, batchCapacity: problem.batches.batchSize)
        buffer = InformationBuffer(segments: architecture.blocks.map(\.range))
        factors = schedule.momenta.map { row in
            row.map { gamma in
                guard let factor = RationalFactor(approximating: gamma) else {
                    preconditionFailure("momentum \(gamma) is outside (0, 1); the tuning layer must keep it inside")
                }
                return factor
            }
        }
        dLearningRates = Array(repeating: Array(repeating: 0, count: k), count: t)
        dMomenta = dLearningRates
        losses = Array(repeating: 0, count: t)

        for i in 0..<n { scratch.l2[i] = schedule.l2[i] }
        for (b, block) in blocks.enumerated() {
            for i in block.range {
                guard let raw = FixedPoint.raw(schedule.initScales[b] * noise[i]) else {
                    throw .diverged(step: 0, detail: "initial weight \(i) of \(block.name) is outside the fixed-point range")
                }
                scratch.w[i] = raw
                scratch.initialW[i] = raw
            }
        }
    }

    @discardableResult
    private func computeGradient(step: Int) -> Double {
        scratch.loadBatch(step: step, plan: problem.batches, from: problem.training)
        scratch.loadWeights()
        return problem.model.lossAndGradient(
            parameters: UnsafeBufferPointer(scratch.weights), l2: UnsafeBufferPointer(scratch.l2),
            inputs: UnsafeBufferPointer(scratch.batchInputs), labels: UnsafeBufferPointer(scratch.batchLabels),
            batch: scratch.batchSize, gradient: scratch.gradient, workspace: workspace)
    }

    // MARK: Forward

    mutating func forward(observe: (TrainingPhase) -> Bool) throws(TrainingError) {
        for t in 0..<schedule.iterations {
            guard observe(.forward(step: t)) else { throw .cancelled }
            losses[t] = computeGradient(step: t)
            for (k, block) in blocks.enumerated() {
                let factor = factors[t][k]
                buffer.multiply(scratch.v, segment: k, by: factor)
                try Self.forwardUpdate(
                    scratch: scratch, range: block.range, decay: 1 - factor.value,
                    learningRate: schedule.learningRates[t][k], step: t, block: block)
            }
        }
    }

    /// v ← v − (1−γ)g, then w ← w + α v, each increment truncated to fixed point once.
    @inline(__always)
    private static func forwardUpdate(
        scratch: TrainerScratch, range: Range<Int>, decay: Double, learningRate: Double, step: Int,
        block: ParameterBlock
    ) throws(TrainingError) {
        let limit = UInt64(FixedPoint.rawLimit)
        let w = scratch.w, v = scratch.v, g = scratch.gradient
        for i in range {
            guard let decrement = FixedPoint.raw(decay * g[i]) else {
                throw .diverged(step: step, detail: "gradient of \(block.name) is not finite or too large")
            }
            let velocity = v[i] - decrement
            guard velocity.magnitude < limit else {
                throw .diverged(step: step, detail: "velocity of \(block.name) left the fixed-point range")
            }
            v[i] = velocity
            guard let increment = FixedPoint.raw(learningRate * FixedPoint.value(velocity)) else {
                throw .diverged(step: step, detail: "step of \(block.name) left the fixed-point range")
            }
            let position = w[i] + increment
            guard position.magnitude < limit else {
                throw .diverged(step: step, detail: "weights of \(block.name) left the fixed-point range (|w| ≥ 1024)")
            }
            w[i] = position
        }
    }

    // MARK: Reverse

    /// Computes f(w_{T+1}) and seeds dw = ∂f/∂w (and dX = ∂f/∂X for a training-loss objective).
    mutating func startReverse(differentiateInputs: Bool) -> (weights: [Double], objective: Double) {
        scratch.loadWeights()
        let training = problem.training
        if differentiateInputs { dInputs = Array(repeating: 0, count: training.rows * training.features) }
        let rows: LabelledRows
        let inputGradientWanted: Bool
        switch problem.objective {
        case .validation(let validation):
            rows = validation
            inputGradientWanted = false
        case .training:
            rows = training
            inputGradientWanted = differentiateInputs
        }
        let evaluation = MLPWorkspace(architecture: problem.model.architecture, batchCapacity: min(rows.rows, 1024))
        let objective = rows.inputs.withUnsafeBufferPointer { inputs in
            rows.labels.withUnsafeBufferPointer { labels in
                dInputs.withUnsafeMutableBufferPointer { dX in
                    problem.model.objectiveGradient(
                        parameters: UnsafeBufferPointer(scratch.weights), inputs: inputs, labels: labels,
                        rows: rows.rows, gradient: scratch.dw,
                        inputGradient: inputGradientWanted ? dX : nil, workspace: evaluation)
                }
            }
        }
        return (Array(scratch.weights), objective)
    }

    mutating func reverse(differentiateInputs: Bool, observe: (TrainingPhase) -> Bool) throws(TrainingError) {
        let w = scratch.w, v = scratch.v, g = scratch.gradient
        let dw = scratch.dw, dv = scratch.dv, direction = scratch.direction
        for t in stride(from: schedule.iterations - 1, through: 0, by: -1) {
            guard observe(.reverse(step: t)) else { throw .cancelled }
            // dα_tk = ⟨dw, v_{t+1}⟩ over block k, then undo the position step exactly.
            for (k, block) in blocks.enumerated() {
                let alpha = schedule.learningRates[t][k]
                var dAlpha = 0.0
                for i in block.range {
                    let velocity = FixedPoint.value(v[i])
                    dAlpha += dw[i] * velocity
                    w[i] -= FixedPoint.raw(alpha * velocity)!
                }
                dLearningRates[t][k] = dAlpha
            }
            // The gradient at w_t: bit-identical to the forward one (same weights, batch, code).
            computeGradient(step: t)
            // Undo the velocity step: add the same increment back, then divide by γ exactly.
            for (k, block) in blocks.enumerated() {
                let factor = factors[t][k]
                let decay = 1 - factor.value
                for i in block.range {
                    v[i] += FixedPoint.raw(decay * g[i])!
                }
                buffer.divide(v, segment: k, by: factor)
            }
            // dv += α dw;  dγ = ⟨dv, v_t + g_t⟩;  direction = (1 − γ) dv.
            for (k, block) in blocks.enumerated() {
                let alpha = schedule.learningRates[t][k]
                let decay = 1 - factors[t][k].value
                var dGamma = 0.0
                for i in block.range {
                    let adjoint = dv[i] + alpha * dw[i]
                    dv[i] = adjoint
                    dGamma += adjoint * (FixedPoint.value(v[i]) + g[i])
                    direction[i] = decay * adjoint
                }
                dMomenta[t][k] = dGamma
            }
            secondOrder(differentiateInputs: differentiateInputs)
            for (k, block) in blocks.enumerated() {
                let gamma = factors[t][k].value
                for i in block.range { dv[i] *= gamma }
            }
        }
    }

    /// dw −= H·direction; dλ −= w ⊙ direction; dX −= ∇_x⟨∇_w L, direction⟩ (scattered to its rows).
    private mutating func secondOrder(differentiateInputs: Bool) {
        let n = scratch.parameterCount
        problem.model.hessianVectorProduct(
            parameters: UnsafeBufferPointer(scratch.weights), l2: UnsafeBufferPointer(scratch.l2),
            direction: UnsafeBufferPointer(scratch.direction), result: scratch.hessianProduct,
            inputProduct: differentiateInputs ? scratch.inputProduct : nil, workspace: workspace)
        for i in 0..<n {
            scratch.dw[i] -= scratch.hessianProduct[i]
            scratch.dl2[i] -= scratch.weights[i] * scratch.direction[i]
        }
        guard differentiateInputs else { return }
        let features = scratch.features
        let product = scratch.inputProduct
        dInputs.withUnsafeMutableBufferPointer { dX in
            for j in 0..<scratch.batchSize {
                let row = Int(scratch.batchIndices[j]) * features
                for f in 0..<features { dX[row + f] -= product[j * features + f] }
            }
        }
    }

    /// A hypergradient that overflowed Double is a divergence of the adjoint dynamics (chaos, PAPER.md §5.1).
    func checkFinite() throws(TrainingError) {
        let finite = (0..<scratch.parameterCount).allSatisfy { scratch.dw[$0].isFinite && scratch.dl2[$0].isFinite }
            && dLearningRates.allSatisfy { $0.allSatisfy(\.isFinite) } && dMomenta.allSatisfy { $0.allSatisfy(\.isFinite) }
            && dInputs.allSatisfy(\.isFinite)
        guard finite else { throw .diverged(step: 0, detail: "the hypergradient overflowed (the training dynamics are chaotic)") }
    }

    /// The reverse pass must land on w_1 bit for bit, with v_1 = 0 and nothing left in the buffer.
    func checkLandedOnInitialState() throws(TrainingError) {
        for i in 0..<scratch.parameterCount where scratch.w[i] != scratch.initialW[i] {
            throw .notReversible(detail: "reconstructed w_1[\(i)] = \(scratch.w[i]) but the run started at \(scratch.initialW[i])")
        }
        for i in 0..<scratch.parameterCount where scratch.v[i] != 0 {
            throw .notReversible(detail: "reconstructed v_1[\(i)] = \(scratch.v[i]), not 0")
        }
        guard buffer.isEmpty else {
            throw .notReversible(detail: "the information buffer still holds digits after the reverse pass")
        }
    }

    func result(finalWeights: [Double], objective: Double) -> HypergradientRun {
        let dInitScales = blocks.map { block in
            block.range.reduce(0.0) { $0 + scratch.dw[$1] * noise[$1] }
        }
        var theoretical = 0.0
        for row in factors {
            for (k, factor) in row.enumerated() { theoretical += Double(blocks[k].range.count) * factor.bitsLost }
        }
        let hypergradient = TrainingHypergradient(
            learningRates: dLearningRates, momenta: dMomenta, l2: Array(scratch.dl2),
            initScales: dInitScales, initialWeights: Array(scratch.dw),
            trainingInputs: dInputs.isEmpty ? nil : dInputs)
        return HypergradientRun(
            hypergradient: hypergradient, finalWeights: finalWeights, objective: objective,
            trainingLosses: losses, bufferPeakBits: buffer.peakStoredBits, theoreticalBits: theoretical)
    }
}
