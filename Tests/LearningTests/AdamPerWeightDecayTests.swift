import Foundation
import Learning
import RewindTestSupport
import Testing

/// AdamW's decoupled weight decay with one λ per weight (`AdamSchedule.parameterWeightDecay`).
@Suite("Adam with a weight decay per weight")
struct AdamPerWeightDecayTests {
    /// λ_i in [0.2, 0.8] on every weight, 0 on the biases.
    static func perWeight(_ adam: SmallAdamProblem, seed: UInt64) -> SmallAdamProblem {
        var random = SplitMix64(seed: seed)
        var decayed = adam
        var lambda = [Double](repeating: 0, count: adam.small.architecture.parameterCount)
        for block in adam.small.architecture.blocks where block.kind == .weight {
            for i in block.range { lambda[i] = 0.2 + 0.6 * random.nextUnit() }
        }
        decayed.schedule.parameterWeightDecay = lambda
        return decayed
    }

    @Test(
        "the optimiser core with a decay per weight lands on (w_1, 0, 0) bit for bit after 300 steps",
        arguments: ReversibleAdamTests.specs)
    func coreRoundTrip(spec: ReversibleAdamTests.Spec) throws {
        // λ_i in (0, 3] on the first and last blocks, off on the middle one.
        try ReversibleAdamTests.coreRoundTrip(spec: spec) { schedule, random in
            schedule.parameterWeightDecay = (0..<300).map { i in
                (100..<130).contains(i) ? 0 : 3 * random.nextUnit() + 1e-3
            }
        }
    }

    @Test("a decay per weight equal within each block trains the same bits as the decay per block")
    func sameBitsAsPerBlock() throws {
        let blockwise = SmallAdamProblem(hidden: [4, 3], iterations: 30).withWeightDecay()
        var each = blockwise
        each.schedule.weightDecay = []
        each.schedule.parameterWeightDecay = blockwise.small.architecture.blocks.enumerated().flatMap { k, block in
            block.range.map { _ in blockwise.schedule.weightDecay[k] }
        }
        let a = try blockwise.trainer.hypergradient(schedule: blockwise.schedule, noise: blockwise.small.noise)
        let b = try each.trainer.hypergradient(schedule: each.schedule, noise: each.small.noise)
        #expect(a.finalWeights == b.finalWeights)
        #expect(a.bufferPeakBits == b.bufferPeakBits)
        // The per-block derivative is the sum of the per-weight ones over the block.
        for (k, block) in blockwise.small.architecture.blocks.enumerated() {
            let sum = block.range.reduce(0.0) { $0 + b.hypergradient.parameterWeightDecay[$1] }
            #expect(abs(sum - a.hypergradient.weightDecay[k]) <= 1e-9 * max(abs(sum), 1e-12))
        }
        #expect(b.hypergradient.weightDecay.isEmpty && a.hypergradient.parameterWeightDecay.isEmpty)
    }

    @Test("∂f/∂λ_i of every weight, α and β1 with it, match central differences of whole runs")
    func finiteDifferences() throws {
        let adam = Self.perWeight(SmallAdamProblem(hidden: [4, 3]), seed: 11)
        let run = try adam.trainer.hypergradient(schedule: adam.schedule, noise: adam.small.noise)
        let g = run.hypergradient
        #expect(g.parameterWeightDecay.count == adam.small.architecture.parameterCount)
        let lambda = adam.schedule.parameterWeightDecay
        let d = DirectionalCheck.direction(lambda.count, seed: 12).enumerated().map { i, x in
            lambda[i] > 0 ? x : 0
        }
        AdamHypergradientFiniteDifferenceTests.check(
            "λ per weight",
            DirectionalCheck.compare(analytic: g.parameterWeightDecay, direction: d, step: 1e-3) { h in
                var schedule = adam.schedule
                schedule.parameterWeightDecay = zip(lambda, d).map { $0 + h * $1 }
                return adam.objective(schedule)
            })
        for i in lambda.indices where lambda[i] == 0 { #expect(g.parameterWeightDecay[i] == 0) }
        let r = AdamHypergradientFiniteDifferenceTests.table(adam, seed: 13)
        AdamHypergradientFiniteDifferenceTests.check(
            "α with a decay per weight",
            DirectionalCheck.compare(analytic: g.learningRates.flatMap { $0 }, direction: r, step: 1e-6) { h in
                adam.objective(DirectionalCheck.moved(adam.schedule, \.learningRates, by: r, h))
            })
        let r1 = AdamHypergradientFiniteDifferenceTests.table(adam, seed: 14)
        AdamHypergradientFiniteDifferenceTests.check(
            "β1 with a decay per weight",
            DirectionalCheck.compare(analytic: g.beta1.flatMap { $0 }, direction: r1, step: 1e-4) { h in
                adam.objective(DirectionalCheck.moved(adam.schedule, \.beta1, by: r1, h))
            })
    }

    @Test("whole MLP runs with a decay per weight reverse exactly, and the buffers keep its bits too")
    func trainerRoundTrip() throws {
        let adam = Self.perWeight(SmallAdamProblem(hidden: [8], iterations: 200), seed: 21)
        let run = try adam.trainer.hypergradient(schedule: adam.schedule, noise: adam.small.noise)
        let n = Double(adam.small.architecture.parameterCount)
        #expect(Double(run.bufferPeakBits) >= run.theoreticalBits)
        #expect(Double(run.bufferPeakBits) <= run.theoreticalBits + 3 * 33 * n)
        #expect(run.finalWeights == (try adam.trainer.train(schedule: adam.schedule, noise: adam.small.noise)))
    }
}
