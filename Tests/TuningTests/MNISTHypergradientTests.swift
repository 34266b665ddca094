import Foundation
import Learning
import RewindTestSupport
import Testing

@testable import Tuning

/// The full-size MNIST examples' families at a reduced size, on mnist's own 784-pixel rows: every
/// hypergradient they learn from (schedules, init scales, per-weight L2, learned images, and the
/// learning rate against the training loss of the chaos sweep) against central differences of
/// whole training runs, with the directions and steps of every such check (`WholeRunChecks`).
@Suite("MNIST examples at a reduced size: hypergradients against finite differences")
struct MNISTHypergradientTests {
    static let tolerance = 1e-4

    let architecture: MLPArchitecture
    let training: LabelledRows
    let validation: LabelledRows
    let noise: [Double]
    let schedule: TrainingSchedule

    init() throws {
        let mnist = try #require(BuiltinDatasets.mnist)
        architecture = MLPArchitecture(inputs: 784, hidden: [6, 6], classes: 10, activation: .tanh)
        training = mnist.labelledRows(0..<40)
        validation = mnist.labelledRows(40..<80)
        var random = SplitMix64(seed: 23)
        noise = (0..<architecture.parameterCount).map { _ in random.nextGaussian() }
        schedule = .random(
            iterations: 12, blocks: architecture.blocks, learningRates: (0.2, 0.3), momenta: (0.6, 0.3),
            l2: (1e-3, 1e-3), initScales: (0.1, 0.1), using: &random)
    }

    func trainer(inputs: [Double]? = nil, objective: MetaObjective? = nil) -> ReversibleTrainer {
        var rows = training
        if let inputs { rows.inputs = inputs }
        return ReversibleTrainer(
            problem: TrainingProblem(
                model: MLP(architecture: architecture), training: rows,
                batches: BatchPlan(rows: rows.rows, batchSize: 10, order: .random(seed: 7)),
                objective: objective ?? .validation(validation)))
    }

    func objective(_ schedule: TrainingSchedule, inputs: [Double]? = nil, objective: MetaObjective? = nil) -> Double {
        try! trainer(inputs: inputs, objective: objective).hypergradient(schedule: schedule, noise: noise).objective
    }

    @Test("schedules and init scales (Figs. 2–5), per-weight L2 (Fig. 6), learned images (Fig. 7)")
    func validationFamilies() throws {
        let run = try trainer().hypergradient(schedule: schedule, noise: noise, differentiateInputs: true)
        try WholeRunChecks(
            schedule: schedule, hypergradient: run.hypergradient, blocks: architecture.blocks,
            tolerance: Self.tolerance, objective: { objective($0) },
            inputs: (training.inputs, { objective(schedule, inputs: $0) })
        ).expectEveryGroup(perBlockL2: false)
    }

    @Test("the learning rate against the final training loss (the chaos sweep, Fig. 10)")
    func trainingLossAgainstTheLearningRate() throws {
        let run = try trainer(objective: .training).hypergradient(schedule: schedule, noise: noise)
        // One global log α, as the sweep moves it: d f / d log α = Σ_tk α_tk ∂f/∂α_tk.
        let analytic = zip(schedule.learningRates.flatMap { $0 }, run.hypergradient.learningRates.flatMap { $0 })
            .reduce(0) { $0 + $1.0 * $1.1 }
        DirectionalCheck.expect(
            "log α", analytic: [analytic], direction: [1], step: 1e-5, tolerance: Self.tolerance
        ) { h in
            var moved = schedule
            moved.learningRates = schedule.learningRates.map { $0.map { $0 * exp(h) } }
            return objective(moved, objective: .training)
        }
    }
}
