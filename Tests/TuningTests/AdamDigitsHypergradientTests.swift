import Foundation
import Learning
import RewindTestSupport
import Testing
import Tuning

/// Adam's hypergradients on the digits MLP against central differences of whole training runs.
@Suite("Adam hypergradients on the digits MLP match finite differences")
struct AdamDigitsHypergradientTests {
    static let tolerance = 1e-4
    static let iterations = 25

    let trainer: ReversibleAdamTrainer
    let noise: [Double]
    let schedule: AdamSchedule
    let blocks: [ParameterBlock]

    init() {
        let digits = BuiltinDatasets.digits
        let architecture = MLPArchitecture(
            inputs: digits.features, hidden: [16], classes: digits.classes, activation: .tanh)
        blocks = architecture.blocks
        trainer = ReversibleAdamTrainer(
            problem: TrainingProblem(
                model: MLP(architecture: architecture), training: digits.labelledRows(0..<300),
                batches: BatchPlan(rows: 300, batchSize: 50, order: .random(seed: 3)),
                objective: .validation(digits.labelledRows(1000..<1200))))
        noise = TuningRun.gaussianNoise(count: architecture.parameterCount, seed: 1)
        let row = { (value: Double) in
            Array(repeating: Array(repeating: value, count: architecture.blocks.count), count: Self.iterations)
        }
        schedule = AdamSchedule(
            iterations: Self.iterations, learningRates: row(0.01), beta1: row(0.9), beta2: row(0.999), epsilon: 1e-8,
            l2: architecture.blocks.flatMap { Array(repeating: $0.kind == .weight ? 1e-3 : 0, count: $0.range.count) },
            initScales: Array(repeating: 0.1, count: architecture.blocks.count))
    }

    func objective(_ schedule: AdamSchedule) -> Double {
        try! trainer.objective(schedule: schedule, noise: noise)
    }

    /// (analytic, numeric) of the derivative along `direction` by central differences with step h.
    func compare(_ label: String, analytic: [Double], direction: [Double], step: Double, move: (Double) -> AdamSchedule)
    {
        DirectionalCheck.expect(label, analytic: analytic, direction: direction, step: step, tolerance: Self.tolerance)
        {
            objective(move($0))
        }
    }

    static func direction(_ count: Int, seed: UInt64) -> [Double] {
        DirectionalCheck.direction(count, seed: seed)
    }

    @Test("α, β1 and β2 per iteration and block, ε in log space, L2, initial scales")
    func everyGroup() throws {
        let run = try trainer.hypergradient(schedule: schedule, noise: noise)
        let g = run.hypergradient
        for (label, path, analytic, step, seed) in [
            ("α", \AdamSchedule.learningRates, g.learningRates, 1e-6, UInt64(11)),
            ("β1", \AdamSchedule.beta1, g.beta1, 1e-4, 12),
            ("β2", \AdamSchedule.beta2, g.beta2, 2e-6, 13),
        ] {
            let r = Self.direction(Self.iterations * blocks.count, seed: seed)
            compare(label, analytic: analytic.flatMap { $0 }, direction: r, step: step) { h in
                var moved = schedule
                moved[keyPath: path] = schedule[keyPath: path].enumerated().map { t, row in
                    row.enumerated().map { k, value in value + h * r[t * row.count + k] }
                }
                return moved
            }
        }
        // ∂f/∂log ε = ε·∂f/∂ε.
        compare("log ε", analytic: [g.epsilon * schedule.epsilon], direction: [1], step: 1e-2) { h in
            var moved = schedule
            moved.epsilon *= exp(h)
            return moved
        }
        let r = Self.direction(g.l2.count, seed: 14).enumerated().map { i, x in schedule.l2[i] > 0 ? x : 0 }
        compare("λ", analytic: g.l2, direction: r, step: 1e-6) { h in
            var moved = schedule
            moved.l2 = zip(schedule.l2, r).map { $0 + h * $1 }
            return moved
        }
        let s = Self.direction(blocks.count, seed: 15)
        compare("s", analytic: g.initScales, direction: s, step: 1e-5) { h in
            var moved = schedule
            moved.initScales = zip(schedule.initScales, s).map { $0 + h * $1 }
            return moved
        }
    }
}
