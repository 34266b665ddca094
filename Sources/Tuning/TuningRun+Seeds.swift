import Dispatch
import Learning
import Synchronization

/// What one meta-iteration's `meta.seeds` training runs measured, averaged over the runs.
struct SeedAverage: Sendable {
    var trainingLoss: Double
    var validationLoss: Double
    var validationError: Double
    var testLoss: Double?
    var testError: Double?
    var spread: HistoryItem.Spread?
    /// Mean hypergradient with respect to u; nil when only trained forward.  // (space.count)
    var gradient: [Double]?
    /// Mean minibatch loss of every training iteration.  // (iterations)
    var curve: [Double]
    /// The first seed's first conv2d filters, on the final item only.
    var filters: HistoryItem.ConvFilters? = nil
}

/// One training run's numbers.
struct SeedRun: Sendable {
    var trainingLoss: Double
    var validationLoss: Double
    var validationError: Double
    var testLoss: Double?
    var testError: Double?
    var gradient: [Double]?
    var curve: [Double]
    var filters: HistoryItem.ConvFilters?
}

/// Work shared by the threads training one meta-iteration's runs.
private final class SeedPool: Sendable {
    let next = Atomic<Int>(0)
    /// Inner steps done by all runs together (for progress).
    let steps = Atomic<Int>(0)
    let cancelled = Atomic<Bool>(false)
    let results: Mutex<[Result<SeedRun, TuningError>?]>

    init(count: Int) {
        results = Mutex(Array(repeating: nil, count: count))
    }
}

extension TuningRun {
    /// Trains the `meta.seeds` runs at `u` with the draws of item `seedItem`, on up to `threads`
    /// threads, and averages them in seed order, so that the numbers do not depend on how many
    /// threads ran them. Throws the failure of the lowest-numbered failing run (every run finishes,
    /// for the same reason), or `.cancelled` when `progress` asks to stop.
    ///
    /// `progress` is called only on the calling thread: with the inner steps of the runs the
    /// calling thread trains itself, and while it waits for the others, every 20 ms.
    func trainSeeds(
        u: [Double], seedItem: Int, withGradient: Bool, item: Int, progress: @escaping (Double) -> Bool
    ) throws(TuningError) -> SeedAverage {
        let count = spec.meta.seeds
        let pool = SeedPool(count: count)
        let fraction = progressFraction(item: item, withGradient: withGradient)
        let report: (Int) -> Bool = { steps in
            guard !pool.cancelled.load(ordering: .relaxed) else { return false }
            guard progress(fraction(steps)) else {
                pool.cancelled.store(true, ordering: .relaxed)
                return false
            }
            return true
        }
        let workers = min(threads, count)
        if workers <= 1 {
            trainQueued(pool, u: u, seedItem: seedItem, withGradient: withGradient, item: item, report: report)
        } else {
            let group = DispatchGroup()
            for _ in 1..<workers {
                DispatchQueue.global().async(group: group) { [self] in
                    trainQueued(pool, u: u, seedItem: seedItem, withGradient: withGradient, item: item, report: nil)
                }
            }
            trainQueued(pool, u: u, seedItem: seedItem, withGradient: withGradient, item: item, report: report)
            while group.wait(timeout: .now() + .milliseconds(20)) == .timedOut {
                _ = report(pool.steps.load(ordering: .relaxed))
            }
            // The other threads may have finished the last steps: say so.
            _ = report(pool.steps.load(ordering: .relaxed))
        }
        if pool.cancelled.load(ordering: .relaxed) { throw .cancelled }
        var runs: [SeedRun] = []
        for result in pool.results.withLock({ $0 }) {
            switch result! {
            case .success(let run): runs.append(run)
            case .failure(let error): throw error
            }
        }
        return Self.average(runs)
    }

    /// Takes runs off the pool until none is left.
    private func trainQueued(
        _ pool: SeedPool, u: [Double], seedItem: Int, withGradient: Bool, item: Int, report: ((Int) -> Bool)?
    ) {
        while true {
            let run = pool.next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard run < spec.meta.seeds else { return }
            let observe: (TrainingPhase) -> Bool = { _ in
                let steps = pool.steps.wrappingAdd(1, ordering: .relaxed).newValue
                if let report { return report(steps) }
                return !pool.cancelled.load(ordering: .relaxed)
            }
            let result: Result<SeedRun, TuningError>
            do {
                result = .success(
                    try trainOne(
                        u: u, draws: seeds(for: seedItem, run: run), withGradient: withGradient, item: item,
                        observe: observe))
            } catch {
                result = .failure(error)
            }
            pool.results.withLock { $0[run] = result }
        }
    }

    /// One training run (and its reverse pass when `withGradient`), evaluated on every split.
    func trainOne(
        u: [Double], draws: (weights: UInt64, batches: UInt64), withGradient: Bool, item: Int,
        observe: (TrainingPhase) -> Bool
    ) throws(TuningError) -> SeedRun {
        var trainingRows = partition.training
        if let learned = space.trainingInputs(u) { trainingRows.inputs = learned }
        let problem = TrainingProblem(
            model: model, training: trainingRows,
            batches: BatchPlan(
                rows: trainingRows.rows, batchSize: spec.training.batchSize, order: batchOrder(seed: draws.batches)),
            objective: spec.meta.objective == .trainingLoss ? .training : .validation(partition.validation))
        let noise = Self.gaussianNoise(count: architecture.parameterCount, seed: draws.weights)
        var finalWeights: [Double]
        var losses: [Double]
        var gradient: [Double]? = nil
        do {
            if spec.training.optimizer == .adam {
                (finalWeights, losses, gradient) = try trainAdam(
                    problem: problem, u: u, noise: noise, withGradient: withGradient, observe: observe)
            } else if withGradient {
                let trainer = ReversibleTrainer(problem: problem, threads: trainerThreads)
                let schedule = space.schedule(u)
                let run = try trainer.hypergradient(
                    schedule: schedule, noise: noise, differentiateInputs: spec.hyperparameters.trainingData.learn,
                    observe: observe)
                finalWeights = run.finalWeights
                losses = run.trainingLosses
                gradient = space.pullback(run.hypergradient, at: u)
            } else {
                let trainer = ReversibleTrainer(problem: problem, threads: trainerThreads)
                (finalWeights, losses) = try trainer.trainRecordingLosses(
                    schedule: space.schedule(u), noise: noise, observe: observe)
            }
        } catch {
            throw TuningError(error, metaIteration: item)
        }
        let train = measure(weights: finalWeights, on: trainingRows)
        let held = measure(weights: finalWeights, on: partition.validation)
        let test = partition.test.map { measure(weights: finalWeights, on: $0) }
        guard train.loss.isFinite, held.loss.isFinite, test?.loss.isFinite ?? true else {
            throw .diverged(metaIteration: item, detail: "the loss at the final weights is not finite")
        }
        return SeedRun(
            trainingLoss: train.loss, validationLoss: held.loss, validationError: held.error,
            testLoss: test?.loss, testError: test?.error, gradient: gradient, curve: losses,
            filters: item == spec.meta.iterations ? firstConvFilters(finalWeights) : nil)
    }

    /// The first conv2d layer's filters in `weights`; nil for a network without convolutions.
    func firstConvFilters(_ weights: [Double]) -> HistoryItem.ConvFilters? {
        for layer in architecture.summary {
            guard case .conv2d(let filters, let kernel, _, _) = layer.layer, let blocks = layer.blocks else { continue }
            return HistoryItem.ConvFilters(
                weights: weights[architecture.blocks[blocks[0]].range], filters: filters, kernel: kernel,
                channels: layer.inputShape[2])
        }
        return nil
    }

    /// One Adam run: forward only, or forward and exactly reversed with the hypergradient over u.
    /// Hyperparameters the exact dynamics cannot apply (a decoupled decay factor 1 − α·λ outside
    /// (0, 1)) count as divergence, which the guard handles like any other.
    private func trainAdam(
        problem: TrainingProblem, u: [Double], noise: [Double], withGradient: Bool,
        observe: (TrainingPhase) -> Bool
    ) throws(TrainingError) -> (weights: [Double], losses: [Double], gradient: [Double]?) {
        let schedule = space.adamSchedule(u)
        let largestDecay = schedule.largestWeightDecay(blocks: architecture.blocks.map(\.range))
        for (t, row) in schedule.learningRates.enumerated() {
            for (k, alpha) in row.enumerated() where k < largestDecay.count {
                let shrink = alpha * largestDecay[k]
                guard shrink < 1 - 1e-9 else {
                    throw .diverged(
                        step: t,
                        detail:
                            "learning_rate × weight_decay = \(shrink) at block \(k): the decay factor 1 − α·λ is not positive"
                    )
                }
            }
        }
        let trainer = ReversibleAdamTrainer(problem: problem, threads: trainerThreads)
        guard withGradient else {
            let (weights, losses) = try trainer.trainRecordingLosses(schedule: schedule, noise: noise, observe: observe)
            return (weights, losses, nil)
        }
        let run = try trainer.hypergradient(schedule: schedule, noise: noise, observe: observe)
        return (run.finalWeights, run.trainingLosses, space.pullback(run.hypergradient, at: u))
    }

    /// Mean cross-entropy and error rate of the model with `weights` on `rows`.
    func measure(weights: [Double], on rows: LabelledRows) -> (loss: Double, error: Double) {
        let workspace = NetworkWorkspace(
            architecture: architecture, batchCapacity: architecture.evaluationChunk(rows: rows.rows))
        let (loss, errors) = weights.withUnsafeBufferPointer { w in
            rows.inputs.withUnsafeBufferPointer { x in
                rows.labels.withUnsafeBufferPointer { y in
                    model.evaluate(parameters: w, inputs: x, labels: y, rows: rows.rows, workspace: workspace)
                }
            }
        }
        return (loss, Double(errors) / Double(rows.rows))
    }

    /// Means in seed order (a sum from zero, then one division: a single run's numbers come back
    /// unchanged) and, for more than one run, sample standard deviations of the losses.
    static func average(_ runs: [SeedRun]) -> SeedAverage {
        let n = Double(runs.count)
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / n }
        func std(_ values: [Double]) -> Double {
            let m = mean(values)
            return (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)).squareRoot()
        }
        func meanVector(_ vectors: [[Double]]) -> [Double] {
            var sum = [Double](repeating: 0, count: vectors[0].count)
            for vector in vectors {
                for i in sum.indices { sum[i] += vector[i] }
            }
            return sum.map { $0 / n }
        }
        let training = runs.map(\.trainingLoss), validation = runs.map(\.validationLoss)
        let test = runs.compactMap(\.testLoss)
        let hasTest = test.count == runs.count && !test.isEmpty
        return SeedAverage(
            trainingLoss: mean(training), validationLoss: mean(validation),
            validationError: mean(runs.map(\.validationError)),
            testLoss: hasTest ? mean(test) : nil, testError: hasTest ? mean(runs.compactMap(\.testError)) : nil,
            spread: runs.count > 1
                ? HistoryItem.Spread(
                    trainingLoss: std(training), validationLoss: std(validation), testLoss: hasTest ? std(test) : nil)
                : nil,
            gradient: runs[0].gradient == nil ? nil : meanVector(runs.map { $0.gradient! }),
            curve: meanVector(runs.map(\.curve)), filters: runs[0].filters)
    }

    /// Maps the inner steps done by all runs of item `item` to the job's overall fraction: each
    /// hypergradient item counts 2T units per run (forward and reverse), the final evaluation T.
    func progressFraction(item: Int, withGradient: Bool) -> (Int) -> Double {
        let t = Double(spec.training.iterations)
        let total = Double(spec.meta.iterations) * 2 * t + t
        let before = Double(min(item, spec.meta.iterations)) * 2 * t
        let units = withGradient ? 2 * t : t
        let runs = Double(spec.meta.seeds)
        return { steps in min(1, (before + min(units, Double(steps) / runs)) / total) }
    }
}
