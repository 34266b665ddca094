/// One weight-sharing training problem: the model (with its transforms T_l) and every task's
/// training rows (full batch) and validation rows.
public struct SharedWeightProblem: Sendable {
    public let model: SharedWeightModel
    public let training: [LabelledRows]
    public let validation: [LabelledRows]

    public init(model: SharedWeightModel, training: [LabelledRows], validation: [LabelledRows]) {
        precondition(training.count == model.tasks && validation.count == model.tasks, "one set of rows per task")
        self.model = model
        self.training = training
        self.validation = validation
    }
}

/// What one forward-and-reverse run of a `SharedWeightTrainer` produced.
public struct SharedWeightRun: Sendable {
    /// ∂f/∂T_l, task-major, one array per layer.  // (L, tasks²)
    public var transforms: [[Double]]
    /// ∂f/∂(z, b)_1, the initial parameters.  // (N)
    public var initialParameters: [Double]
    /// z and biases after training.  // (N)
    public var finalParameters: [Double]
    /// f: the sum over tasks of the mean validation cross-entropy.
    public var objective: Double
    /// The full-batch training loss (with the penalty) at each forward step.  // (T)
    public var trainingLosses: [Double]
    /// The most bits the information buffers held at once (at the end of the forward pass).
    public var bufferPeakBits: Int
}

/// SGD with momentum on a `SharedWeightModel`, run backwards exactly for ∂f/∂T.
///
/// The state update is the reversible trainer's own (its per-parameter forward and reverse kernels,
/// the fixed-point state and the per-block information buffers), with the model's calls in place of
/// a single network's. The one thing the reverse pass adds is the transforms' adjoint: at every step
/// T̄ −= ∂⟨∇_z L(z_t; T), (1 − γ)·dv⟩/∂T, the mixed derivative `SharedWeightModel.curvatureProduct`
/// accumulates, beside the L2 strengths' λ̄ −= z ⊙ (1 − γ)·dv.
public struct SharedWeightTrainer: Sendable {
    public let problem: SharedWeightProblem

    public init(problem: SharedWeightProblem) {
        self.problem = problem
    }

    /// Trains forward and returns the final parameters and every step's training loss; `observe`
    /// sees every step and cancels the run by returning false.
    public func train(
        schedule: TrainingSchedule, noise: [Double], observe: (TrainingPhase) -> Bool = { _ in true }
    ) throws(TrainingError) -> (
        finalParameters: [Double], trainingLosses: [Double]
    ) {
        let run = try SharedRunState(problem: problem, schedule: schedule, noise: noise)
        try run.forward(observe: observe)
        run.scratch.loadWeights()
        return (Array(run.scratch.weights), run.losses)
    }

    /// f(z_{T+1}; T) after training forward: the function `hypergradient` differentiates.
    public func objective(schedule: TrainingSchedule, noise: [Double]) throws(TrainingError) -> Double {
        let (parameters, _) = try train(schedule: schedule, noise: noise)
        let workspace = SharedWeightWorkspace(model: problem.model, training: problem.training)
        var gradient = [Double](repeating: 0, count: parameters.count)
        return parameters.withUnsafeBufferPointer { z in
            gradient.withUnsafeMutableBufferPointer { g in
                problem.model.objectiveGradient(
                    parameters: z, rows: problem.validation, gradient: g, workspace: workspace
                )
                .objective
            }
        }
    }

    /// Trains forward, reverses exactly back to (z_1, 0) — checked bit for bit — and returns ∂f/∂T.
    public func hypergradient(
        schedule: TrainingSchedule, noise: [Double], observe: (TrainingPhase) -> Bool = { _ in true }
    ) throws(TrainingError) -> SharedWeightRun {
        let run = try SharedRunState(problem: problem, schedule: schedule, noise: noise)
        try run.forward(observe: observe)
        run.scratch.loadWeights()
        let final = Array(run.scratch.weights)
        let (objective, dT) = problem.model.objectiveGradient(
            parameters: UnsafeBufferPointer(run.scratch.weights), rows: problem.validation, gradient: run.scratch.dw,
            workspace: run.workspace)
        var transforms = dT
        try run.reverse(transforms: &transforms, observe: observe)
        try run.checkLanded()
        guard transforms.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw .diverged(step: 0, detail: "the hypergradient overflowed (the training dynamics are chaotic)")
        }
        return SharedWeightRun(
            transforms: transforms, initialParameters: Array(run.scratch.dw), finalParameters: final,
            objective: objective, trainingLosses: run.losses, bufferPeakBits: run.buffers.peakStoredBits)
    }
}

/// The exact state of one shared-weight run (see `RunState`, whose kernels it drives).
private final class SharedRunState {
    let model: SharedWeightModel
    let schedule: TrainingSchedule
    let blocks: [ParameterBlock]
    let scratch: TrainerScratch
    let workspace: SharedWeightWorkspace
    let buffers: BlockBuffers
    let factors: [[RationalFactor]]
    var losses: [Double]

    init(problem: SharedWeightProblem, schedule: TrainingSchedule, noise: [Double]) throws(TrainingError) {
        model = problem.model
        let n = model.parameterCount, k = model.blocks.count, t = schedule.iterations
        precondition(schedule.learningRates.count == t && schedule.momenta.count == t, "schedule must have T rows")
        precondition(
            schedule.learningRates.allSatisfy { $0.count == k } && schedule.momenta.allSatisfy { $0.count == k })
        precondition(schedule.l2.count == n && schedule.initScales.count == k && noise.count == n)
        self.schedule = schedule
        blocks = model.blocks
        scratch = TrainerScratch(parameterCount: n, batchSize: 1, features: 1)
        workspace = SharedWeightWorkspace(model: model, training: problem.training)
        buffers = BlockBuffers(blocks: blocks)
        factors = RunState.exactFactors(schedule.momenta)
        losses = Array(repeating: 0, count: t)
        try RunState.loadInitialState(scratch: scratch, schedule: schedule, noise: noise, blocks: blocks)
    }

    @discardableResult
    func computeGradient() -> Double {
        model.lossAndGradient(
            parameters: UnsafeBufferPointer(scratch.weights), l2: UnsafeBufferPointer(scratch.l2),
            gradient: scratch.gradient, workspace: workspace)
    }

    func forward(observe: (TrainingPhase) -> Bool) throws(TrainingError) {
        scratch.loadWeights()
        for t in 0..<schedule.iterations {
            guard observe(.forward(step: t)) else { throw .cancelled }
            losses[t] = computeGradient()
            buffers.multiply(scratch.v, by: factors[t], team: .serial)
            for (k, block) in blocks.enumerated() {
                if let error = RunState.forwardUpdate(
                    scratch: scratch, range: block.range, decay: 1 - factors[t][k].value,
                    learningRate: schedule.learningRates[t][k], step: t, block: block)
                {
                    throw error
                }
            }
        }
    }

    /// The reverse pass of `RunState.reverse`, full batch, with T̄ −= the mixed derivative.
    func reverse(transforms dT: inout [[Double]], observe: (TrainingPhase) -> Bool) throws(TrainingError) {
        let iterations = schedule.iterations
        guard iterations > 0 else { return }
        for (k, block) in blocks.enumerated() {
            _ = RunState.position(
                scratch: scratch, range: block.range, learningRate: schedule.learningRates[iterations - 1][k])
        }
        var mixed = dT.map { $0.map { _ in 0.0 } }
        for t in stride(from: iterations - 1, through: 0, by: -1) {
            guard observe(.reverse(step: t)) else { throw .cancelled }
            computeGradient()
            for (k, block) in blocks.enumerated() {
                let decay = 1 - factors[t][k].value
                for i in block.range { scratch.v[i] += FixedPoint.raw(decay * scratch.gradient[i])! }
            }
            buffers.divide(scratch.v, by: factors[t], team: .serial)
            for (k, block) in blocks.enumerated() {
                RunState.velocityDirection(
                    scratch: scratch, range: block.range, learningRate: schedule.learningRates[t][k],
                    decay: 1 - factors[t][k].value)
            }
            for l in mixed.indices { for i in mixed[l].indices { mixed[l][i] = 0 } }
            model.curvatureProduct(
                parameters: UnsafeBufferPointer(scratch.weights), direction: UnsafeBufferPointer(scratch.direction),
                result: scratch.hessianProduct, mixedTransform: &mixed, workspace: workspace)
            for l in dT.indices { for i in dT[l].indices { dT[l][i] -= mixed[l][i] } }
            for (k, block) in blocks.enumerated() {
                _ = RunState.secondOrderAndPosition(
                    scratch: scratch, range: block.range, momentum: factors[t][k].value,
                    nextLearningRate: t > 0 ? schedule.learningRates[t - 1][k] : nil)
            }
        }
    }

    /// The reverse pass must land on (z_1, 0) bit for bit with nothing left in the buffers.
    func checkLanded() throws(TrainingError) {
        for i in 0..<scratch.parameterCount where scratch.w[i] != scratch.initialW[i] || scratch.v[i] != 0 {
            throw .notReversible(detail: "reconstructed parameter \(i) differs from the initial state")
        }
        guard buffers.isEmpty else {
            throw .notReversible(detail: "the information buffer still holds digits after the reverse pass")
        }
    }
}
