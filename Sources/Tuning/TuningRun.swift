import Learning

/// One tuning job, without the service: meta-iterations of (train → exact hypergradient → step the
/// hyperparameters), resumable from a checkpoint.
///
/// `TuningRun` is pure: no clock, no I/O, no globals. The same spec and data give the same history,
/// bit for bit, whether run in one go or resumed from any checkpoint, because every random draw is
/// seeded from (spec seed, meta-iteration, step) and the checkpoint holds the exact optimiser state.
public struct TuningRun: Sendable {
    public let spec: JobSpec
    public let architecture: MLPArchitecture
    public let space: HyperparameterSpace
    let model: MLP
    let training: LabelledRows
    let validation: LabelledRows

    /// Prepares a run; throws the spec's problems against this dataset (none if `JobSpec.parse`
    /// and `validate(dataset:)` already passed).
    public init(spec: JobSpec, dataset: Dataset) throws(SpecErrors) {
        let problems = spec.validate(dataset: dataset.info)
        guard problems.isEmpty else { throw SpecErrors(problems) }
        self.spec = spec
        architecture = MLPArchitecture(
            inputs: dataset.features, hidden: spec.model.hidden, classes: dataset.classes,
            activation: spec.model.activation)
        model = MLP(architecture: architecture)
        training = dataset.labelledRows(0..<spec.split.train)
        validation = dataset.labelledRows(spec.split.train..<(spec.split.train + spec.split.validation))
        space = HyperparameterSpace(spec: spec, architecture: architecture, trainingRows: spec.split.train)
    }

    /// Number of history items a complete run writes: one per meta-iteration plus the final evaluation.
    public var totalItems: Int { spec.meta.iterations + 1 }

    /// The state before meta-iteration 0.
    public func initialCheckpoint() -> TuningCheckpoint {
        TuningCheckpoint(
            nextItem: 0,
            unconstrained: space.initialVector(trainingInputs: training.inputs),
            optimizer: MetaOptimizer(kind: spec.meta.optimizer, stepSize: spec.meta.stepSize, count: space.count),
            best: nil)
    }

    /// Runs history item `checkpoint.nextItem`: trains with the current hyperparameters, evaluates
    /// the final weights and — except for the last item — computes the exact hypergradient and takes
    /// one meta-optimiser step. Returns the item and the checkpoint after it.
    ///
    /// `progress` receives the fraction of the whole job done (monotone, in [0, 1]) once per inner
    /// step; returning false cancels the run (`TuningError.cancelled`).
    public func step(
        _ checkpoint: TuningCheckpoint, progress: @escaping (Double) -> Bool = { _ in true }
    ) throws(TuningError) -> (item: HistoryItem, next: TuningCheckpoint) {
        let index = checkpoint.nextItem
        precondition(index < totalItems, "the run is already complete")
        let isFinal = index == spec.meta.iterations
        var u = checkpoint.unconstrained
        let schedule = space.schedule(u)
        var trainingRows = training
        if let learned = space.trainingInputs(u) { trainingRows.inputs = learned }
        let draws = seeds(for: index)
        let problem = TrainingProblem(
            model: model, training: trainingRows,
            batches: BatchPlan(rows: training.rows, batchSize: spec.training.batchSize, order: batchOrder(seed: draws.batches)),
            objective: spec.meta.objective == .trainingLoss ? .training : .validation(validation))
        let trainer = ReversibleTrainer(problem: problem)
        let noise = Self.gaussianNoise(count: architecture.parameterCount, seed: draws.weights)
        var finalWeights: [Double]
        var losses: [Double]
        var gradient: [Double]? = nil
        do {
            let observe = progressObserver(item: index, report: progress)
            if isFinal {
                (finalWeights, losses) = try trainer.trainRecordingLosses(schedule: schedule, noise: noise, observe: observe)
            } else {
                let run = try trainer.hypergradient(
                    schedule: schedule, noise: noise, differentiateInputs: spec.hyperparameters.trainingData.learn,
                    observe: observe)
                finalWeights = run.finalWeights
                losses = run.trainingLosses
                gradient = space.pullback(run.hypergradient, at: u)
            }
        } catch {
            throw TuningError(error, metaIteration: index)
        }

        let evaluation = evaluate(weights: finalWeights, training: trainingRows)
        guard evaluation.trainingLoss.isFinite, evaluation.validationLoss.isFinite else {
            throw .diverged(metaIteration: index, detail: "the loss at the final weights is not finite")
        }
        let item = HistoryItem(
            metaIteration: index, trainingLoss: evaluation.trainingLoss,
            validationLoss: evaluation.validationLoss, validationError: evaluation.validationError,
            hyperparameters: space.values(u), hypergradient: gradient.map { space.unconstrained($0) },
            trainingCurve: TrainingCurve(losses: losses))

        var next = checkpoint
        next.nextItem = index + 1
        if let gradient {
            next.optimizer.step(&u, gradient: gradient, mask: space.learnMask)
            next.unconstrained = u
        }
        if next.best.map({ item.validationLoss < $0.validationLoss }) ?? true {
            next.best = BestSoFar(metaIteration: index, validationLoss: item.validationLoss, validationError: item.validationError)
        }
        return (item, next)
    }

    /// Seeds of the weight noise and the minibatches of a meta-iteration (the same for every
    /// meta-iteration unless `meta.reseed`).
    func seeds(for item: Int) -> (weights: UInt64, batches: UInt64) {
        let round = spec.meta.reseed ? UInt64(item) : 0
        var weights = SplitMix64(mixing: spec.training.seed, round, 1)
        var batches = SplitMix64(mixing: spec.training.seed, round, 2)
        return (weights.next(), batches.next())
    }

    func batchOrder(seed: UInt64) -> BatchPlan.Order {
        spec.training.batches == .cyclic ? .cyclic : .random(seed: seed)
    }

    /// The standard normal draws ε of the initial weights w_1 = s ⊙ ε.
    public static func gaussianNoise(count: Int, seed: UInt64) -> [Double] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in generator.nextGaussian() }
    }

    /// Maps inner steps to the job's overall fraction: each hypergradient item counts 2T units
    /// (forward and reverse), the final evaluation T.
    func progressObserver(item: Int, report: @escaping (Double) -> Bool) -> (TrainingPhase) -> Bool {
        let t = Double(spec.training.iterations)
        let total = Double(spec.meta.iterations) * 2 * t + t
        let before = Double(item) * 2 * t
        return { phase in
            let within: Double
            switch phase {
            case .forward(let step): within = Double(step)
            case .reverse(let step): within = 2 * t - 1 - Double(step)
            }
            return report(min(1, (before + within) / total))
        }
    }

    func evaluate(weights: [Double], training: LabelledRows) -> (trainingLoss: Double, validationLoss: Double, validationError: Double) {
        let workspace = MLPWorkspace(architecture: architecture, batchCapacity: min(1024, max(training.rows, validation.rows)))
        func measure(_ rows: LabelledRows) -> (loss: Double, errors: Int) {
            weights.withUnsafeBufferPointer { w in
                rows.inputs.withUnsafeBufferPointer { x in
                    rows.labels.withUnsafeBufferPointer { y in
                        model.evaluate(parameters: w, inputs: x, labels: y, rows: rows.rows, workspace: workspace)
                    }
                }
            }
        }
        let train = measure(training)
        let held = measure(validation)
        return (train.loss, held.loss, Double(held.errors) / Double(validation.rows))
    }
}
