import Learning
import RewindTestSupport
import Testing

/// Every hypergradient against central differences of whole training runs (docs/method.md).
@Suite("Hypergradients match finite differences of whole training runs")
struct HypergradientFiniteDifferenceTests {
    static let tolerance = 1e-4

    static func check(
        _ label: String, _ result: (analytic: Double, numeric: Double, relative: Double),
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        DirectionalCheck.expect(label, result, tolerance: tolerance, sourceLocation: sourceLocation)
    }

    @Test("learning rates per iteration and block", arguments: Activation.allCases)
    func learningRates(activation: Activation) throws {
        let small = SmallProblem(hidden: [4], activation: activation)
        let run = try ReversibleTrainer(problem: small.problem()).hypergradient(
            schedule: small.schedule, noise: small.noise)
        let r = DirectionalCheck.direction(small.schedule.iterations * small.architecture.blocks.count, seed: 1)
        Self.check(
            "α",
            DirectionalCheck.compare(analytic: run.hypergradient.learningRates.flatMap { $0 }, direction: r, step: 1e-5)
            { h in
                small.objective(DirectionalCheck.moved(small.schedule, \.learningRates, by: r, h))
            })
    }

    @Test("momenta per iteration and block", arguments: Activation.allCases)
    func momenta(activation: Activation) throws {
        let small = SmallProblem(hidden: [4], activation: activation)
        let run = try ReversibleTrainer(problem: small.problem()).hypergradient(
            schedule: small.schedule, noise: small.noise)
        let r = DirectionalCheck.direction(small.schedule.iterations * small.architecture.blocks.count, seed: 2)
        // A larger step: γ is applied as n/2^32, so a step must span many units of 2^-32.
        Self.check(
            "γ",
            DirectionalCheck.compare(analytic: run.hypergradient.momenta.flatMap { $0 }, direction: r, step: 1e-4) {
                h in
                small.objective(DirectionalCheck.moved(small.schedule, \.momenta, by: r, h))
            })
    }

    @Test("L2 strength of every weight, and of a single weight", arguments: Activation.allCases)
    func l2(activation: Activation) throws {
        let small = SmallProblem(hidden: [4], activation: activation)
        let run = try ReversibleTrainer(problem: small.problem()).hypergradient(
            schedule: small.schedule, noise: small.noise)
        let weights = small.architecture.blocks.filter { $0.kind == .weight }.flatMap { Array($0.range) }
        var r = [Double](repeating: 0, count: small.architecture.parameterCount)
        let draws = DirectionalCheck.direction(weights.count, seed: 3)
        for (j, i) in weights.enumerated() { r[i] = draws[j] }
        Self.check(
            "λ",
            DirectionalCheck.compare(analytic: run.hypergradient.l2, direction: r, step: 1e-4) { h in
                var schedule = small.schedule
                schedule.l2 = zip(schedule.l2, r).map { $0 + h * $1 }
                return small.objective(schedule)
            })
        let one = weights[weights.count / 2]
        var unit = [Double](repeating: 0, count: small.architecture.parameterCount)
        unit[one] = 1
        Self.check(
            "λ[\(one)]",
            DirectionalCheck.compare(analytic: run.hypergradient.l2, direction: unit, step: 1e-3) { h in
                var schedule = small.schedule
                schedule.l2[one] += h
                return small.objective(schedule)
            })
    }

    @Test("initial scale of every block, with two hidden layers")
    func initScales() throws {
        let small = SmallProblem(hidden: [4, 3])
        let run = try ReversibleTrainer(problem: small.problem()).hypergradient(
            schedule: small.schedule, noise: small.noise)
        let r = DirectionalCheck.direction(small.architecture.blocks.count, seed: 4)
        Self.check(
            "s",
            DirectionalCheck.compare(analytic: run.hypergradient.initScales, direction: r, step: 1e-5) { h in
                var schedule = small.schedule
                schedule.initScales = zip(schedule.initScales, r).map { $0 + h * $1 }
                return small.objective(schedule)
            })
    }

    @Test("training inputs, with the validation and with the training loss as objective", arguments: [false, true])
    func trainingInputs(onTraining: Bool) throws {
        let small = SmallProblem(hidden: [4])
        let problem = small.problem(objective: onTraining ? .training : nil)
        let run = try ReversibleTrainer(problem: problem).hypergradient(
            schedule: small.schedule, noise: small.noise, differentiateInputs: true)
        let analytic = try #require(run.hypergradient.trainingInputs)
        let r = DirectionalCheck.direction(analytic.count, seed: 5)
        Self.check(
            "X",
            DirectionalCheck.compare(analytic: analytic, direction: r, step: 1e-5) { h in
                small.objective(
                    small.schedule, inputs: zip(small.training.inputs, r).map { $0 + h * $1 }, onTraining: onTraining)
            })
    }

    @Test("multinomial logistic regression (no hidden layer), cyclic batches")
    func logisticRegression() throws {
        let small = SmallProblem(hidden: [])
        let problem = TrainingProblem(
            model: MLP(architecture: small.architecture), training: small.training,
            batches: BatchPlan(rows: small.training.rows, batchSize: 6, order: .cyclic),
            objective: .validation(small.validation))
        let run = try ReversibleTrainer(problem: problem).hypergradient(schedule: small.schedule, noise: small.noise)
        let r = DirectionalCheck.direction(small.schedule.iterations * small.architecture.blocks.count, seed: 6)
        func objective(_ schedule: TrainingSchedule) -> Double {
            let w = try! ReversibleTrainer(problem: problem).train(schedule: schedule, noise: small.noise)
            let workspace = MLPWorkspace(architecture: small.architecture, batchCapacity: 16)
            return w.withUnsafeBufferPointer { w in
                small.validation.inputs.withUnsafeBufferPointer { x in
                    small.validation.labels.withUnsafeBufferPointer { y in
                        problem.model.evaluate(parameters: w, inputs: x, labels: y, rows: 16, workspace: workspace).loss
                    }
                }
            }
        }
        Self.check(
            "α (logistic)",
            DirectionalCheck.compare(analytic: run.hypergradient.learningRates.flatMap { $0 }, direction: r, step: 1e-5)
            { h in
                objective(DirectionalCheck.moved(small.schedule, \.learningRates, by: r, h))
            })
    }
}
