/// SGD with momentum that can be run backwards exactly, and the hypergradients it yields.
///
/// The forward pass is the paper's form, per iteration t and parameter block k:
///
///     g = ∇L(w);  v ← γ_tk·v − (1 − γ_tk)·g;  w ← w + α_tk·v
///
/// with `w` and `v` held as fixed-point integers (`FixedPoint`), the multiplication by γ done as an
/// exact rational n/2^32 whose destroyed low digits go into an `InformationBuffer`, and every
/// increment converted to fixed point once and applied with ±. The reverse pass walks the same
/// steps backwards from (w_{T+1}, v_{T+1}), reconstructing each state exactly — no trajectory is
/// stored — while accumulating the adjoints of the reverse pass (docs/method.md). γ below always means the factor the
/// dynamics really apply, n/2^32, in every formula.
public struct ReversibleTrainer: Sendable {
    public let problem: TrainingProblem
    /// Threads sharing each step (1 or 2). Every result is the same bits for either.
    public let threads: Int

    public init(problem: TrainingProblem, threads: Int = 1) {
        precondition(threads == 1 || threads == 2, "ReversibleTrainer: threads must be 1 or 2")
        self.problem = problem
        self.threads = threads
    }

    var architecture: NetworkArchitecture { problem.model.architecture }

    /// Trains forward from w_1 = s ⊙ ε and returns the final weights (as Doubles). The dynamics are
    /// exactly those that `hypergradient` differentiates.
    public func train(
        schedule: TrainingSchedule, noise: [Double],
        observe: (TrainingPhase) -> Bool = { _ in true }
    ) throws(TrainingError) -> [Double] {
        try trainRecordingLosses(schedule: schedule, noise: noise, observe: observe).finalWeights
    }

    /// `train`, also returning the minibatch training loss (with the penalty) of every step.
    public func trainRecordingLosses(
        schedule: TrainingSchedule, noise: [Double],
        observe: (TrainingPhase) -> Bool = { _ in true }
    ) throws(TrainingError) -> (finalWeights: [Double], trainingLosses: [Double]) {
        var run = try RunState(trainer: self, schedule: schedule, noise: noise)
        try run.forward(observe: observe)
        run.scratch.loadWeights()
        return (Array(run.scratch.weights), run.losses)
    }

    /// Trains forward, then reverses exactly back to w_1, and returns the exact gradient of the
    /// meta-objective with respect to every hyperparameter of the schedule (and, if asked, the
    /// training inputs).
    ///
    /// Throws `.diverged` if a state leaves the fixed-point range, `.cancelled` when `observe`
    /// returns false (it is called once per forward and once per reverse step), and
    /// `.notReversible` if the reconstructed initial state differs from the real one in any bit.
    public func hypergradient(
        schedule: TrainingSchedule, noise: [Double], differentiateInputs: Bool = false,
        observe: (TrainingPhase) -> Bool = { _ in true }
    ) throws(TrainingError) -> HypergradientRun {
        var run = try RunState(trainer: self, schedule: schedule, noise: noise)
        try run.forward(observe: observe)
        let final = run.startReverse(differentiateInputs: differentiateInputs)
        try run.reverse(differentiateInputs: differentiateInputs, observe: observe)
        try run.checkLandedOnInitialState()
        try run.checkFinite()
        return run.result(finalWeights: final.weights, objective: final.objective)
    }

    /// Plain SGD with momentum in Double arithmetic, the same steps a user would run without
    /// hypergradients: the baseline of the benchmark. Same model code, activations and threads as
    /// `hypergradient`, so the ratio of the two measures the cost of exactness alone.
    public func trainPlain(schedule: TrainingSchedule, noise: [Double]) -> [Double] {
        let blocks = architecture.blocks
        let n = architecture.parameterCount
        let scratch = TrainerScratch(
            parameterCount: n, batchSize: problem.batches.batchSize, features: problem.training.features)
        let workspace = NetworkWorkspace(architecture: architecture, batchCapacity: problem.batches.batchSize)
        let team = WorkerTeam(threads: threads)
        let velocity = scratch.dv  // (N), unused otherwise in plain training
        for (k, block) in blocks.enumerated() {
            for i in block.range { scratch.weights[i] = schedule.initScales[k] * noise[i] }
        }
        for i in 0..<n { scratch.l2[i] = schedule.l2[i] }
        for t in 0..<schedule.iterations {
            scratch.loadBatch(step: t, plan: problem.batches, from: problem.training, into: workspace.input)
            _ = problem.model.lossAndGradient(
                parameters: UnsafeBufferPointer(scratch.weights), l2: UnsafeBufferPointer(scratch.l2),
                inputs: UnsafeBufferPointer(start: workspace.input, count: scratch.batchSize * scratch.features),
                labels: UnsafeBufferPointer(scratch.batchLabels),
                batch: scratch.batchSize, gradient: scratch.gradient, workspace: workspace, team: team)
            team.run(
                { Self.plainStep(t, half: 0, blocks, schedule, scratch, velocity) },
                { Self.plainStep(t, half: 1, blocks, schedule, scratch, velocity) })
        }
        return Array(scratch.weights)
    }

    /// v ← γv − (1 − γ)g; w ← w + αv over one half of every block.
    private static func plainStep(
        _ t: Int, half: Int, _ blocks: [ParameterBlock], _ schedule: TrainingSchedule,
        _ scratch: TrainerScratch, _ velocity: UnsafeMutableBufferPointer<Double>
    ) {
        let weights = scratch.weights, gradient = scratch.gradient
        for (k, block) in blocks.enumerated() {
            let gamma = schedule.momenta[t][k]
            let alpha = schedule.learningRates[t][k]
            let (first, second) = halves(block.range)
            for i in half == 0 ? first : second {
                velocity[i] = gamma * velocity[i] - (1 - gamma) * gradient[i]
                weights[i] += alpha * velocity[i]
            }
        }
    }
}

/// What one forward-and-reverse run produced.
public struct HypergradientRun: Sendable {
    /// ∂f/∂(every input of training), natural units.
    public var hypergradient: TrainingHypergradient
    /// w_{T+1}.
    public var finalWeights: [Double]
    /// f(w_{T+1}), the meta-objective.
    public var objective: Double
    /// The minibatch training loss (with the penalty) at each of the T forward steps.
    public var trainingLosses: [Double]
    /// Peak size of the information buffer, in bits, over all parameters.
    public var bufferPeakBits: Int
    /// Σ_t Σ_k |block k| · log2(2^32 / n_tk): the information the momentum destroys.
    public var theoreticalBits: Double
}
