import Learning
import RewindTestSupport
import Testing

/// A small, fully random problem: big enough to exercise every block and every code path, small
/// enough to run dozens of whole trainings for finite differences in well under a second.
struct SmallProblem {
    let architecture: MLPArchitecture
    let training: LabelledRows
    let validation: LabelledRows
    let noise: [Double]
    var schedule: TrainingSchedule

    init(
        hidden: [Int] = [4], activation: Activation = .tanh, iterations: Int = 15,
        rows: Int = 24, features: Int = 5, classes: Int = 3, seed: UInt64 = 7
    ) {
        self.init(
            architecture: MLPArchitecture(inputs: features, hidden: hidden, classes: classes, activation: activation),
            iterations: iterations, rows: rows, seed: seed)
    }

    /// Random rows (Gaussian inputs) for any network, e.g. a layered one on small images.
    init(architecture: NetworkArchitecture, iterations: Int = 15, rows: Int = 24, seed: UInt64 = 7) {
        var random = SplitMix64(seed: seed)
        let features = architecture.inputCount, classes = architecture.classCount
        self.architecture = architecture
        func rowsOf(_ count: Int) -> LabelledRows {
            LabelledRows(
                inputs: (0..<(count * features)).map { _ in random.nextGaussian() },
                labels: (0..<count).map { _ in Int32(random.nextIndex(below: classes)) }, features: features)
        }
        training = rowsOf(rows)
        validation = rowsOf(16)
        noise = (0..<architecture.parameterCount).map { _ in random.nextGaussian() }
        schedule = .random(
            iterations: iterations, blocks: architecture.blocks, learningRates: (0.05, 0.25), momenta: (0.5, 0.45),
            l2: (0.001, 0.01), initScales: (0.2, 0.6), using: &random)
    }

    func problem(objective: MetaObjective? = nil, inputs: [Double]? = nil, batch: Int = 6) -> TrainingProblem {
        var rows = training
        if let inputs { rows.inputs = inputs }
        return TrainingProblem(
            model: MLP(architecture: architecture), training: rows,
            batches: BatchPlan(rows: rows.rows, batchSize: batch, order: .random(seed: 11)),
            objective: objective ?? .validation(validation))
    }

    /// f(w_final) for a whole training run, the function the hypergradient differentiates.
    func objective(_ schedule: TrainingSchedule, inputs: [Double]? = nil, onTraining: Bool = false) -> Double {
        let problem = problem(objective: onTraining ? .training : nil, inputs: inputs)
        let weights = try! ReversibleTrainer(problem: problem).train(schedule: schedule, noise: noise)
        let rows = onTraining ? problem.training : validation
        let workspace = MLPWorkspace(architecture: architecture, batchCapacity: rows.rows)
        return weights.withUnsafeBufferPointer { w in
            rows.inputs.withUnsafeBufferPointer { x in
                rows.labels.withUnsafeBufferPointer { y in
                    MLP(architecture: architecture).evaluate(
                        parameters: w, inputs: x, labels: y, rows: rows.rows, workspace: workspace
                    ).loss
                }
            }
        }
    }
}

@Suite("Reversible training")
struct ReversibleTrainerTests {
    @Test("the reverse pass lands on the initial weights bit for bit after 1000 iterations")
    func exactReversalOverLongRuns() throws {
        var small = SmallProblem(hidden: [8], iterations: 1000, rows: 40, features: 6, classes: 4)
        small.schedule.momenta = small.schedule.momenta.map { $0.map { _ in 0.9 } }
        small.schedule.learningRates = small.schedule.learningRates.map { $0.map { _ in 0.2 } }
        // hypergradient() compares the reconstructed w_1 with the real one in every bit, checks
        // v_1 = 0 and an empty buffer, and throws .notReversible otherwise.
        let run = try ReversibleTrainer(problem: small.problem(batch: 8)).hypergradient(
            schedule: small.schedule, noise: small.noise)
        #expect(run.objective.isFinite)
        let n = Double(small.architecture.parameterCount)
        let storedPerParameter = Double(run.bufferPeakBits) / n
        let theoryPerParameter = run.theoreticalBits / n
        // About 0.152 bits per parameter per step at γ = 0.9, plus a constant number of limbs.
        #expect(abs(theoryPerParameter / 1000 - 0.152) < 0.001)
        #expect(storedPerParameter >= theoryPerParameter - 32)
        #expect(storedPerParameter <= theoryPerParameter + 64)
    }

    @Test("fixed-point training follows plain floating-point SGD with momentum")
    func fixedPointMatchesPlainTraining() throws {
        let small = SmallProblem()
        let trainer = ReversibleTrainer(problem: small.problem())
        let exact = try trainer.train(schedule: small.schedule, noise: small.noise)
        let plain = trainer.trainPlain(schedule: small.schedule, noise: small.noise)
        let gap = zip(exact, plain).map { abs($0 - $1) }.max()!
        // The only differences: truncation to 2^-52 and γ rounded to n/2^32.
        #expect(gap < 1e-8)
        #expect(gap > 0)
    }

    @Test("two runs give bit-identical hypergradients")
    func determinism() throws {
        let small = SmallProblem()
        let trainer = ReversibleTrainer(problem: small.problem())
        let first = try trainer.hypergradient(schedule: small.schedule, noise: small.noise, differentiateInputs: true)
        let second = try trainer.hypergradient(schedule: small.schedule, noise: small.noise, differentiateInputs: true)
        #expect(first.hypergradient == second.hypergradient)
        #expect(first.finalWeights == second.finalWeights)
    }

    @Test("a learning rate that blows the weights up fails with diverged, never wraps")
    func divergence() {
        var small = SmallProblem()
        small.schedule.learningRates = small.schedule.learningRates.map { $0.map { _ in 5e4 } }
        #expect {
            try ReversibleTrainer(problem: small.problem()).hypergradient(schedule: small.schedule, noise: small.noise)
        } throws: { error in
            if case .diverged = error as? TrainingError { return true }
            return false
        }
    }

    @Test("an observer that says stop cancels in the forward and in the reverse pass")
    func cancellation() {
        let small = SmallProblem()
        let trainer = ReversibleTrainer(problem: small.problem())
        for stopAt in [TrainingPhase.forward(step: 3), .reverse(step: 10)] {
            #expect(throws: TrainingError.cancelled) {
                try trainer.hypergradient(schedule: small.schedule, noise: small.noise) { $0 != stopAt }
            }
        }
    }
}
