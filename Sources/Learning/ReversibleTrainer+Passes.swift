/// The state of one reversible run: exact position and velocity, the information buffer, the
/// adjoints and the per-step factors. Forward and reverse live side by side so that the reverse
/// step visibly undoes the forward step line by line.
struct RunState {
    let problem: TrainingProblem
    let schedule: TrainingSchedule
    let noise: [Double]
    let blocks: [ParameterBlock]
    let scratch: TrainerScratch
    let workspace: NetworkWorkspace
    /// Shares every step between one or two threads; the bits do not depend on which.
    let team: WorkerTeam
    let buffers: BlockBuffers
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
        precondition(
            t >= 0 && schedule.learningRates.count == t && schedule.momenta.count == t, "schedule must have T rows")
        precondition(
            schedule.learningRates.allSatisfy { $0.count == k } && schedule.momenta.allSatisfy { $0.count == k })
        precondition(schedule.l2.count == n && schedule.initScales.count == k && noise.count == n)
        problem = trainer.problem
        self.schedule = schedule
        self.noise = noise
        blocks = architecture.blocks
        scratch = TrainerScratch(
            parameterCount: n, batchSize: problem.batches.batchSize, features: problem.training.features)
        workspace = NetworkWorkspace(architecture: architecture, batchCapacity: problem.batches.batchSize)
        team = WorkerTeam(threads: trainer.threads)
        buffers = BlockBuffers(blocks: architecture.blocks)
        factors = Self.exactFactors(schedule.momenta)
        dLearningRates = Array(repeating: Array(repeating: 0, count: k), count: t)
        dMomenta = dLearningRates
        losses = Array(repeating: 0, count: t)

        try Self.loadInitialState(scratch: scratch, schedule: schedule, noise: noise, blocks: blocks)
    }

    /// The exact momentum factors n/2^32 of every iteration and block.  // (T, K)
    static func exactFactors(_ momenta: [[Double]]) -> [[RationalFactor]] {
        momenta.map { row in
            row.map { gamma in
                guard let factor = RationalFactor(approximating: gamma) else {
                    preconditionFailure("momentum \(gamma) is outside (0, 1); the tuning layer must keep it inside")
                }
                return factor
            }
        }
    }

    /// λ into `scratch.l2`, and w_1 = s ⊙ ε as fixed point into `scratch.w` and `scratch.initialW`.
    static func loadInitialState(
        scratch: TrainerScratch, schedule: TrainingSchedule, noise: [Double], blocks: [ParameterBlock]
    ) throws(TrainingError) {
        for i in 0..<scratch.parameterCount { scratch.l2[i] = schedule.l2[i] }
        for (b, block) in blocks.enumerated() {
            for i in block.range {
                guard let raw = FixedPoint.raw(schedule.initScales[b] * noise[i]) else {
                    throw .diverged(
                        step: 0, detail: "initial weight \(i) of \(block.name) is outside the fixed-point range")
                }
                scratch.w[i] = raw
                scratch.initialW[i] = raw
            }
        }
    }

    /// ∇L(w_t) on the batch of `step` into `scratch.gradient`, from `scratch.weights`, which the
    /// per-parameter loops keep equal to w as Doubles.
    @discardableResult
    private func computeGradient(step: Int) -> Double {
        scratch.loadBatch(step: step, plan: problem.batches, from: problem.training, into: workspace.input)
        return problem.model.lossAndGradient(
            parameters: UnsafeBufferPointer(scratch.weights), l2: UnsafeBufferPointer(scratch.l2),
            inputs: UnsafeBufferPointer(start: workspace.input, count: scratch.batchSize * scratch.features),
            labels: UnsafeBufferPointer(scratch.batchLabels),
            batch: scratch.batchSize, gradient: scratch.gradient, workspace: workspace, team: team)
    }

    /// Runs `body` on the two fixed halves of every block, one half per team member, and returns
    /// the per-block results of each half (half 0 first).
    private func eachBlockHalf<T>(_ body: (_ block: Int, _ range: Range<Int>) -> T) -> ([T], [T]) {
        team.map { half in
            blocks.indices.map { k in
                let (first, second) = halves(blocks[k].range)
                return body(k, half == 0 ? first : second)
            }
        }
    }

    // MARK: Forward

    mutating func forward(observe: (TrainingPhase) -> Bool) throws(TrainingError) {
        scratch.loadWeights()
        for t in 0..<schedule.iterations {
            guard observe(.forward(step: t)) else { throw .cancelled }
            losses[t] = computeGradient(step: t)
            buffers.multiply(scratch.v, by: factors[t], team: team)
            let (first, second) = eachBlockHalf { k, range in
                Self.forwardUpdate(
                    scratch: scratch, range: range, decay: 1 - factors[t][k].value,
                    learningRate: schedule.learningRates[t][k], step: t, block: blocks[k])
            }
            // The first failure in block order, then half order: the same whatever the threads.
            for (a, b) in zip(first, second) {
                if let error = a ?? b { throw error }
            }
        }
    }

    /// v ← v − (1−γ)g, then w ← w + α v, each increment truncated to fixed point once, and the
    /// Double view of w refreshed for the next gradient. Returns the divergence, if any.
    @inline(__always)
    static func forwardUpdate(
        scratch: TrainerScratch, range: Range<Int>, decay: Double, learningRate: Double, step: Int,
        block: ParameterBlock
    ) -> TrainingError? {
        let limit = UInt64(FixedPoint.rawLimit)
        let w = scratch.w, v = scratch.v, g = scratch.gradient, weights = scratch.weights
        for i in range {
            guard let decrement = FixedPoint.raw(decay * g[i]) else {
                return .diverged(step: step, detail: "gradient of \(block.name) is not finite or too large")
            }
            let velocity = v[i] - decrement
            guard velocity.magnitude < limit else {
                return .diverged(step: step, detail: "velocity of \(block.name) left the fixed-point range")
            }
            v[i] = velocity
            guard let increment = FixedPoint.raw(learningRate * FixedPoint.value(velocity)) else {
                return .diverged(step: step, detail: "step of \(block.name) left the fixed-point range")
            }
            let position = w[i] + increment
            guard position.magnitude < limit else {
                return .diverged(step: step, detail: "weights of \(block.name) left the fixed-point range (|w| ≥ 1024)")
            }
            w[i] = position
            weights[i] = FixedPoint.value(position)
        }
        return nil
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
        let evaluation = NetworkWorkspace(
            architecture: problem.model.architecture,
            batchCapacity: problem.model.architecture.evaluationChunk(rows: rows.rows))
        let objective = rows.inputs.withUnsafeBufferPointer { inputs in
            rows.labels.withUnsafeBufferPointer { labels in
                dInputs.withUnsafeMutableBufferPointer { dX in
                    problem.model.objectiveGradient(
                        parameters: UnsafeBufferPointer(scratch.weights), inputs: inputs, labels: labels,
                        rows: rows.rows, gradient: scratch.dw,
                        inputGradient: inputGradientWanted ? dX : nil, workspace: evaluation, team: team)
                }
            }
        }
        return (Array(scratch.weights), objective)
    }

    /// The reverse pass. Each step's per-parameter work is three streamed passes around the model
    /// call and the buffer: (1) the adjoint of v and the Hessian's direction, (2) undo the velocity
    /// step, (3) dγ, the Hessian term, then the next step's position undo, fused, so w, v, dw, dv
    /// and the gradient are each read about once per step. The direction does not depend on the
    /// step's gradient, so one sweep of the model computes both (`lossGradientAndCurvature`).
    mutating func reverse(differentiateInputs: Bool, observe: (TrainingPhase) -> Bool) throws(TrainingError) {
        guard schedule.iterations > 0 else { return }
        undoPosition(step: schedule.iterations - 1)
        for t in stride(from: schedule.iterations - 1, through: 0, by: -1) {
            guard observe(.reverse(step: t)) else { throw .cancelled }
            // dv += α dw;  direction = (1 − γ) dv.
            _ = eachBlockHalf { k, range in
                Self.velocityDirection(
                    scratch: scratch, range: range, learningRate: schedule.learningRates[t][k],
                    decay: 1 - factors[t][k].value)
            }
            // The gradient at w_t, bit-identical to the forward one (same weights, batch, arithmetic),
            // and H·direction there (without the penalty, which the last pass adds).
            scratch.loadBatch(step: t, plan: problem.batches, from: problem.training, into: workspace.input)
            _ = problem.model.lossGradientAndCurvature(
                parameters: UnsafeBufferPointer(scratch.weights), l2: UnsafeBufferPointer(scratch.l2),
                inputs: UnsafeBufferPointer(start: workspace.input, count: scratch.batchSize * scratch.features),
                labels: UnsafeBufferPointer(scratch.batchLabels), batch: scratch.batchSize, gradient: scratch.gradient,
                direction: UnsafeBufferPointer(scratch.direction), result: scratch.hessianProduct,
                inputProduct: differentiateInputs ? scratch.inputProduct : nil, workspace: workspace, team: team)
            if differentiateInputs { scatterInputProduct() }
            // Undo the velocity step: add the same increment back, then divide by γ exactly.
            _ = eachBlockHalf { k, range in
                let decay = 1 - factors[t][k].value
                let v = scratch.v, g = scratch.gradient
                for i in range { v[i] += FixedPoint.raw(decay * g[i])! }
            }
            buffers.divide(scratch.v, by: factors[t], team: team)
            // dγ = ⟨dv, v_t + g_t⟩;  dw −= (H + diag λ)·direction;  dλ −= w ⊙ direction;  dv ← γ dv;
            // then step t − 1's position undo on the same elements.
            let next = t > 0 ? t - 1 : nil
            let (early, late) = eachBlockHalf { k, range in
                Self.secondOrderAndPosition(
                    scratch: scratch, range: range, momentum: factors[t][k].value,
                    nextLearningRate: next.map { schedule.learningRates[$0][k] })
            }
            for k in blocks.indices { dMomenta[t][k] = early[k].dGamma + late[k].dGamma }
            if let next {
                for k in blocks.indices { dLearningRates[next][k] = early[k].dAlpha + late[k].dAlpha }
            }
        }
    }

    /// dα_t = ⟨dw, v_{t+1}⟩ per block, then w_t = w_{t+1} − α_t v_{t+1} exactly (the forward step's
    /// increment, subtracted), with the Double view of w refreshed.
    private mutating func undoPosition(step t: Int) {
        let (first, second) = eachBlockHalf { k, range in
            Self.position(scratch: scratch, range: range, learningRate: schedule.learningRates[t][k])
        }
        for k in blocks.indices { dLearningRates[t][k] = first[k] + second[k] }
    }

    /// dX −= ∇_x⟨∇_w L, direction⟩, scattered to the minibatch's rows.
    private mutating func scatterInputProduct() {
        let features = scratch.features
        let product = scratch.inputProduct
        dInputs.withUnsafeMutableBufferPointer { dX in
            for j in 0..<scratch.batchSize {
                let row = Int(scratch.batchIndices[j]) * features
                for f in 0..<features { dX[row + f] -= product[j * features + f] }
            }
        }
    }

    /// A hypergradient that overflowed Double is a divergence of the adjoint dynamics (chaos, docs/method.md).
    func checkFinite() throws(TrainingError) {
        let finite =
            (0..<scratch.parameterCount).allSatisfy { scratch.dw[$0].isFinite && scratch.dl2[$0].isFinite }
            && dLearningRates.allSatisfy { $0.allSatisfy(\.isFinite) }
            && dMomenta.allSatisfy { $0.allSatisfy(\.isFinite) }
            && dInputs.allSatisfy(\.isFinite)
        guard finite else {
            throw .diverged(step: 0, detail: "the hypergradient overflowed (the training dynamics are chaotic)")
        }
    }

    /// The reverse pass must land on w_1 bit for bit, with v_1 = 0 and nothing left in the buffer.
    func checkLandedOnInitialState() throws(TrainingError) {
        for i in 0..<scratch.parameterCount where scratch.w[i] != scratch.initialW[i] {
            throw .notReversible(
                detail: "reconstructed w_1[\(i)] = \(scratch.w[i]) but the run started at \(scratch.initialW[i])")
        }
        for i in 0..<scratch.parameterCount where scratch.v[i] != 0 {
            throw .notReversible(detail: "reconstructed v_1[\(i)] = \(scratch.v[i]), not 0")
        }
        guard buffers.isEmpty else {
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
            trainingLosses: losses, bufferPeakBits: buffers.peakStoredBits, theoreticalBits: theoretical)
    }
}
