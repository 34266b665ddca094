import Learning

/// One tuning job, without the service: meta-iterations of (train → exact hypergradient → step the
/// hyperparameters), resumable from a checkpoint.
///
/// `TuningRun` is pure: no clock, no I/O, no globals. The same spec and data give the same history,
/// bit for bit, whether run in one go or resumed from any checkpoint, and whatever `threads` is,
/// because every random draw is seeded from (spec seed, run, meta-iteration, step), the runs of a
/// meta-iteration are averaged in a fixed order, and the checkpoint holds the exact optimiser and
/// guard state.
public struct TuningRun: Sendable {
    /// The spec as it runs: split resolved to row counts, standardisation statistics filled in.
    public let spec: JobSpec
    public let architecture: NetworkArchitecture
    public let space: HyperparameterSpace
    /// Threads one meta-iteration may use: its `meta.seeds` runs in parallel, or, with a single
    /// seed, the two halves of every training step (`trainerThreads`).
    public let threads: Int

    /// The trainer's own threads (1 or 2): two when a single run has the threads to itself.
    var trainerThreads: Int { spec.meta.seeds == 1 && threads >= 2 ? 2 : 1 }
    let model: Network
    let partition: DatasetPartition
    /// Bytes of a built-in held once per process and shared by its jobs (mnist), which a job
    /// that loads it makes resident: counted in its memory estimate (`BuiltinDatasets.sharedBytes`).
    let sharedDataBytes: Int
    /// What the data and the spec give reason to doubt before any training (`JobWarning`).
    public let dataWarnings: [JobWarning]
    /// The error of always predicting the most frequent class, on the validation and test rows.
    let majorityBaseline: (validation: Double?, test: Double?)

    /// Prepares a run; throws the spec's problems against this dataset (none if `JobSpec.parse`
    /// and `validate(dataset:)` already passed).
    public init(spec: JobSpec, dataset: Dataset, threads: Int = 1) throws(SpecErrors) {
        let problems = spec.validate(dataset: dataset.info, image: dataset.shape)
        guard problems.isEmpty else { throw SpecErrors(problems) }
        var spec = spec.resolved(for: dataset.info)
        // A defaulted name says which data set, by its name rather than an upload's opaque id.
        if spec.name == JobSpec.defaultName(for: spec.dataset) { spec.name = "\(dataset.name) schedules" }
        partition = DatasetPartition(dataset: dataset, split: spec.split, preprocess: spec.preprocess)
        sharedDataBytes = BuiltinDatasets.sharedBytes(of: dataset)
        let nonFinite = partition.nonFiniteColumns
        guard nonFinite.isEmpty else {
            let names = nonFinite.prefix(10).map { "\($0)" }.joined(separator: ", ")
            let more = nonFinite.count > 10 ? " and \(nonFinite.count - 10) more" : ""
            throw SpecErrors([
                SpecError(
                    field: "/preprocess/standardize",
                    message: "cannot standardise feature column(s) \(names)\(more) (0-based): their values or "
                        + "statistics are not finite numbers; rescale those columns or set \"standardize\": false")
            ])
        }
        spec.preprocess = partition.preprocess
        self.spec = spec
        self.threads = max(1, threads)
        architecture = spec.architecture(for: dataset.info, image: dataset.shape)
        model = Network(architecture: architecture)
        space = HyperparameterSpace(spec: spec, architecture: architecture, trainingRows: spec.split.train)
        dataWarnings = Self.dataWarnings(
            spec: spec, dataset: dataset, partition: partition, learned: space.learnMask.filter { $0 }.count)
        majorityBaseline = (
            majorityError(partition.validation.labels), partition.test.flatMap { majorityError($0.labels) }
        )
    }

    /// The training rows as the trainer sees them (shuffled and standardised as the spec says).
    public var training: LabelledRows { partition.training }
    public var validation: LabelledRows { partition.validation }
    public var test: LabelledRows? { partition.test }

    /// Number of history items a complete run writes: one per meta-iteration plus the final evaluation.
    public var totalItems: Int { spec.meta.iterations + 1 }

    /// Whether the run has written its last item: all of them, or fewer when `meta.patience` stopped it.
    public func isComplete(_ checkpoint: TuningCheckpoint) -> Bool {
        checkpoint.nextItem >= totalItems || checkpoint.stoppedEarly == true
    }

    /// The state before meta-iteration 0.
    public func initialCheckpoint() -> TuningCheckpoint {
        TuningCheckpoint(
            nextItem: 0,
            unconstrained: space.initialVector(trainingInputs: training.inputs),
            optimizer: MetaOptimizer(kind: spec.meta.optimizer, stepSize: spec.meta.stepSize, count: space.count),
            best: nil)
    }

    /// Runs history item `checkpoint.nextItem`: trains the `meta.seeds` runs with the current
    /// hyperparameters, evaluates the final weights and — except for the last item — computes the
    /// mean exact hypergradient; then the guard accepts the item (one meta-optimiser step from it)
    /// or rejects it (back to the last accepted point, a smaller step from there). A last item
    /// worse than the best by more than the tolerance is replaced by a re-evaluation of the best
    /// hyperparameters, so a job never ends worse than the guard's tolerance above its best. Returns the item and the checkpoint
    /// after it.
    ///
    /// `progress` receives the fraction of the whole job done (monotone within an item, in [0, 1])
    /// on the calling thread; returning false cancels the run (`TuningError.cancelled`).
    public func step(
        _ checkpoint: TuningCheckpoint, progress: @escaping (Double) -> Bool = { _ in true }
    ) throws(TuningError) -> (item: HistoryItem, next: TuningCheckpoint) {
        let index = checkpoint.nextItem
        precondition(!isComplete(checkpoint), "the run is already complete")
        let isFinal = index == spec.meta.iterations
        let objectiveRows = spec.meta.objective == .trainingLoss ? training.rows : validation.rows
        let guardian = MetaGuard(
            settings: spec.meta.stepGuard, objectiveName: spec.meta.objective.rawValue,
            floor: MetaGuard.floor(classes: architecture.layerSizes.last ?? 2, rows: objectiveRows))
        var u = checkpoint.unconstrained
        var next = checkpoint
        next.nextItem = index + 1
        let scale = checkpoint.stepScale ?? 1

        var rejection: String?
        var measured: SeedAverage?
        do {
            let average = try trainSeeds(u: u, seedItem: index, withGradient: !isFinal, item: index, progress: progress)
            measured = average
            // Steps are judged against the last accepted item; the end of the job against the best.
            let reference =
                isFinal
                ? checkpoint.best.map { ($0.rankingValue, $0.metaIteration, "the best accepted item's") }
                : checkpoint.anchor.map { ($0.objective, $0.metaIteration, "the last accepted item's") }
            rejection = guardian.reason(
                objective: objective(average), gradientNorm: average.gradient?.norm(mask: space.learnMask),
                reference: reference, anchor: checkpoint.anchor)
        } catch .diverged(let item, let detail) {
            rejection = guardian.reason(
                diverged: .diverged(metaIteration: item, detail: detail), anchor: checkpoint.anchor)
            guard rejection != nil else { throw .diverged(metaIteration: item, detail: detail) }
        }

        if let rejection, let anchor = checkpoint.anchor {
            next.stepScale = scale * spec.meta.stepGuard.shrink
            if isFinal, let best = checkpoint.best, let bestU = best.unconstrained {
                // The final hyperparameters are the best accepted ones: measured again with that
                // item's draws, they give exactly its numbers.
                let fallback = try trainSeeds(
                    u: bestU, seedItem: best.metaIteration, withGradient: false, item: index, progress: progress)
                let reason =
                    rejection
                    + "; this final item re-evaluates the hyperparameters of item \(best.metaIteration), the best"
                next.unconstrained = bestU
                let item = makeItem(index, fallback, u: bestU, step: .rejected, reason: reason)
                return (item, next)
            }
            var optimizer = anchor.optimizer
            var retaken = anchor.unconstrained
            optimizer.step(&retaken, gradient: anchor.gradient, mask: space.learnMask, scale: next.stepScale!)
            next.optimizer = optimizer
            next.unconstrained = retaken
            let item = makeItem(index, measured, u: u, step: .rejected, reason: rejection)
            next.stoppedEarly = patienceExhausted(after: index, best: next.best) ? true : nil
            return (item, next)
        }

        let average = measured!
        let item = makeItem(index, average, u: u, step: spec.meta.stepGuard.enabled ? .accepted : nil, reason: nil)
        if let gradient = average.gradient {
            if spec.meta.stepGuard.enabled {
                next.anchor = GuardAnchor(
                    metaIteration: index, unconstrained: u, optimizer: checkpoint.optimizer, gradient: gradient,
                    gradientNorm: gradient.norm(mask: space.learnMask), objective: objective(average))
            }
            next.optimizer.step(&u, gradient: gradient, mask: space.learnMask, scale: scale)
            next.unconstrained = u
        }
        if next.best.map({ objective(average) < $0.rankingValue }) ?? true {
            next.best = BestSoFar(
                metaIteration: index, validationLoss: average.validationLoss, validationError: average.validationError,
                objective: objective(average), trainingLoss: average.trainingLoss, testLoss: average.testLoss,
                testError: average.testError,
                unconstrained: spec.meta.stepGuard.enabled ? checkpoint.unconstrained : nil)
        }
        if !isFinal, patienceExhausted(after: index, best: next.best) { next.stoppedEarly = true }
        return (item, next)
    }

    /// The value the job minimises and ranks `best` by.
    func objective(_ average: SeedAverage) -> Double {
        spec.meta.objective == .trainingLoss ? average.trainingLoss : average.validationLoss
    }

    /// True when `meta.patience` items have passed since the best one.
    func patienceExhausted(after index: Int, best: BestSoFar?) -> Bool {
        guard let patience = spec.meta.patience, index < spec.meta.iterations else { return false }
        return index - (best?.metaIteration ?? 0) >= patience
    }

    /// The history item for hyperparameters `u`; losses are NaN (null in JSON) when training diverged.
    func makeItem(
        _ index: Int, _ average: SeedAverage?, u: [Double], step: HistoryItem.Step?, reason: String?
    ) -> HistoryItem {
        var item = HistoryItem(
            metaIteration: index, trainingLoss: average?.trainingLoss ?? .nan,
            validationLoss: average?.validationLoss ?? .nan, validationError: average?.validationError ?? .nan,
            hyperparameters: space.values(u), hypergradient: average?.gradient.map { space.unconstrained($0) },
            trainingCurve: TrainingCurve(losses: average?.curve ?? []))
        if let average {
            item.firstConvFilters = average.filters
            item.testLoss = average.testLoss
            item.testError = average.testError
            item.spread = average.spread
        } else if partition.test != nil {
            item.testLoss = .nan
            item.testError = .nan
        }
        item.step = step
        item.stepReason = reason
        return item
    }

    /// Seeds of the weight noise and the minibatches of run `run` of a meta-iteration (the same
    /// for every meta-iteration unless `meta.reseed`). Run s draws as a one-seed job with
    /// `training.seed + s` would, so S runs average exactly S such jobs' first items.
    func seeds(for item: Int, run: Int = 0) -> (weights: UInt64, batches: UInt64) {
        let round = spec.meta.reseed ? UInt64(item) : 0
        let seed = spec.training.seed &+ UInt64(run)
        var weights = SplitMix64(mixing: seed, round, 1)
        var batches = SplitMix64(mixing: seed, round, 2)
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
}
