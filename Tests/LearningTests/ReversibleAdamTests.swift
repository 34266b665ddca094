import Foundation
import Learning
import RewindTestSupport
import Testing

/// A small Adam problem: `SmallProblem`'s data and model with an Adam schedule.
struct SmallAdamProblem {
    let small: SmallProblem
    var schedule: AdamSchedule

    init(
        hidden: [Int] = [4], activation: Activation = .tanh, iterations: Int = 15, epsilon: Double = 1e-3,
        seed: UInt64 = 7
    ) {
        self.init(
            SmallProblem(hidden: hidden, activation: activation, iterations: iterations, seed: seed), epsilon: epsilon,
            seed: seed)
    }

    /// Adam on any small problem, e.g. a layered network's.
    init(_ small: SmallProblem, epsilon: Double = 1e-3, seed: UInt64 = 7) {
        self.small = small
        let iterations = small.schedule.iterations
        var random = SplitMix64(seed: seed &+ 100)
        let k = small.architecture.blocks.count
        schedule = AdamSchedule(
            iterations: iterations,
            learningRates: (0..<iterations).map { _ in (0..<k).map { _ in 0.01 + 0.04 * random.nextUnit() } },
            beta1: (0..<iterations).map { _ in (0..<k).map { _ in 0.8 + 0.15 * random.nextUnit() } },
            beta2: (0..<iterations).map { _ in (0..<k).map { _ in 0.95 + 0.049 * random.nextUnit() } },
            epsilon: epsilon, l2: small.schedule.l2, initScales: small.schedule.initScales)
    }

    /// Decoupled weight decay on the weight blocks, none on the biases.
    func withWeightDecay() -> SmallAdamProblem {
        var decayed = self
        decayed.schedule.weightDecay = small.architecture.blocks.map { $0.kind == .weight ? 0.5 : 0 }
        return decayed
    }

    var trainer: ReversibleAdamTrainer { ReversibleAdamTrainer(problem: small.problem()) }

    func objective(_ schedule: AdamSchedule) -> Double {
        try! trainer.objective(schedule: schedule, noise: small.noise)
    }
}

/// A model-free gradient for the optimiser core alone: g = scale·(tanh(A·w) + b), deterministic.
struct SyntheticGradient {
    let n: Int
    let matrix: [Double]
    let offset: [Double]
    let scale: Double

    init(n: Int, scale: Double, seed: UInt64) {
        var random = SplitMix64(seed: seed)
        self.n = n
        self.scale = scale
        matrix = (0..<(n * n)).map { _ in random.nextGaussian() / Double(n).squareRoot() }
        offset = (0..<n).map { _ in random.nextGaussian() }
    }

    func callAsFunction(_ w: UnsafeMutableBufferPointer<Double>, into g: inout [Double]) {
        for i in 0..<n {
            var sum = offset[i]
            for j in 0..<n { sum += matrix[i * n + j] * w[j] }
            g[i] = scale * tanh(sum)
        }
    }
}

@Suite("Adam reversed exactly")
struct ReversibleAdamTests {
    struct Spec: CustomStringConvertible, Sendable {
        var label: String
        var beta1: Double
        var beta2: Double
        var epsilon: Double
        var gradientScale: Double
        var description: String { label }
    }

    static let specs = [
        Spec(label: "defaults", beta1: 0.9, beta2: 0.999, epsilon: 1e-8, gradientScale: 0.1),
        Spec(label: "beta2 close to 1", beta1: 0.9, beta2: 0.99999, epsilon: 1e-8, gradientScale: 0.5),
        Spec(label: "tiny gradients", beta1: 0.95, beta2: 0.9999, epsilon: 1e-12, gradientScale: 1e-9),
        Spec(label: "large gradients, low betas", beta1: 0.5, beta2: 0.6, epsilon: 1e-4, gradientScale: 30),
    ]

    @Test("the optimiser core lands on (w_1, 0, 0) bit for bit after 300 steps", arguments: specs)
    func coreRoundTrip(spec: Spec) throws {
        try Self.coreRoundTrip(spec: spec) { schedule, _ in schedule.weightDecay = [0.5, 0, 3] }
    }

    /// 300 steps of the optimiser alone on 300 parameters in blocks of 100, 30 and 170, and back;
    /// `decay` sets the schedule's weight decay (it gets the random draws too).
    static func coreRoundTrip(spec: Spec, decay: (inout AdamSchedule, inout SplitMix64) -> Void) throws {
        let n = 300, iterations = 300
        let blocks = [0..<100, 100..<130, 130..<300]
        var random = SplitMix64(seed: 5)
        let initial = (0..<n).map { _ in 0.3 * random.nextGaussian() }
        var schedule = AdamSchedule(
            iterations: iterations,
            learningRates: (0..<iterations).map { _ in blocks.map { _ in 1e-3 * (1 + random.nextUnit()) } },
            beta1: (0..<iterations).map { _ in blocks.map { _ in spec.beta1 } },
            beta2: (0..<iterations).map { _ in blocks.map { _ in spec.beta2 } },
            epsilon: spec.epsilon, l2: Array(repeating: 0, count: n), initScales: [1, 1, 1])
        decay(&schedule, &random)
        let gradient = SyntheticGradient(n: n, scale: spec.gradientScale, seed: 9)
        let adam = try ReversibleAdam(schedule: schedule, blocks: blocks, initialWeights: initial)
        var g = [Double](repeating: 0, count: n)
        for t in 0..<iterations {
            gradient(adam.weights, into: &g)
            try g.withUnsafeBufferPointer { buffer throws(TrainingError) in try adam.forward(step: t, gradient: buffer)
            }
        }
        let trained = adam.rawState
        #expect(zip(trained.w, initial).contains { FixedPoint.value($0) != $1 }, "training moved the weights")
        #expect(trained.v.contains { $0 != 0 }, "the second moment registered the gradients")
        for t in stride(from: iterations - 1, through: 0, by: -1) {
            adam.undoPosition(step: t)
            gradient(adam.weights, into: &g)
            g.withUnsafeBufferPointer { adam.undoMoments(step: t, gradient: $0) }
        }
        #expect(adam.isAtInitialState)
        #expect(adam.rawState.w == initial.map { FixedPoint.raw($0)! })
    }

    @Test("plain Double Adam run backwards by algebra does not land on w_1")
    func doubleControlFails() {
        let n = 300, iterations = 300, alpha = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
        var random = SplitMix64(seed: 5)
        let initial = (0..<n).map { _ in 0.3 * random.nextGaussian() }
        let gradient = SyntheticGradient(n: n, scale: 0.1, seed: 9)
        let w = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
        defer { w.deallocate() }
        _ = w.initialize(from: initial)
        var m = [Double](repeating: 0, count: n), v = m, g = m
        func update(_ i: Int, _ t: Int) -> Double {
            let mHat = m[i] / (1 - pow(beta1, Double(t + 1)))
            let vHat = v[i] / (1 - pow(beta2, Double(t + 1)))
            return alpha * mHat / (vHat.squareRoot() + epsilon)
        }
        for t in 0..<iterations {
            gradient(w, into: &g)
            for i in 0..<n {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                w[i] -= update(i, t)
            }
        }
        for t in stride(from: iterations - 1, through: 0, by: -1) {
            for i in 0..<n { w[i] += update(i, t) }
            gradient(w, into: &g)
            for i in 0..<n {
                m[i] = (m[i] - (1 - beta1) * g[i]) / beta1
                v[i] = (v[i] - (1 - beta2) * g[i] * g[i]) / beta2
            }
        }
        let missed = (0..<n).filter { w[$0] != initial[$0] }.count
        #expect(missed > n / 2, "only \(missed) of \(n) weights missed w_1")
    }

    @Test("whole MLP runs reverse exactly and the buffers stay near log2(1/β1) + log2(1/β2)")
    func trainerRoundTripAndRate() throws {
        let adam = SmallAdamProblem(hidden: [8], iterations: 200)
        let run = try adam.trainer.hypergradient(schedule: adam.schedule, noise: adam.small.noise)
        let n = Double(adam.small.architecture.parameterCount)
        // At most one 32-bit digit per parameter per buffer above the information-theoretic rate.
        #expect(Double(run.bufferPeakBits) >= run.theoreticalBits)
        #expect(Double(run.bufferPeakBits) <= run.theoreticalBits + 2 * 33 * n)
        #expect(run.finalWeights == (try adam.trainer.train(schedule: adam.schedule, noise: adam.small.noise)))
    }
}

/// Every Adam hypergradient against central differences of whole training runs.
@Suite("Adam hypergradients match finite differences of whole training runs")
struct AdamHypergradientFiniteDifferenceTests {
    static func check(_ label: String, _ result: (analytic: Double, numeric: Double, relative: Double)) {
        DirectionalCheck.expect(label, result, tolerance: HypergradientFiniteDifferenceTests.tolerance)
    }

    static func table(_ adam: SmallAdamProblem, seed: UInt64) -> [Double] {
        DirectionalCheck.direction(
            adam.schedule.iterations * adam.small.architecture.blocks.count, seed: seed)
    }

    @Test("learning rates, β1, β2 per iteration and block", arguments: Activation.allCases)
    func schedules(activation: Activation) throws {
        let adam = SmallAdamProblem(activation: activation)
        try Self.checkSchedules(adam, seeds: 1)
    }

    /// α, β1 and β2 per iteration and block along random directions (seeds `first`, +1, +2).
    static func checkSchedules(_ adam: SmallAdamProblem, seeds first: UInt64) throws {
        let g = try adam.trainer.hypergradient(schedule: adam.schedule, noise: adam.small.noise).hypergradient
        for (offset, (label, path, analytic, step)) in [
            ("α", \AdamSchedule.learningRates, g.learningRates, 1e-6),
            ("β1", \AdamSchedule.beta1, g.beta1, 1e-4),
            ("β2", \AdamSchedule.beta2, g.beta2, 1e-4),
        ].enumerated() {
            let r = Self.table(adam, seed: first + UInt64(offset))
            Self.check(
                label,
                DirectionalCheck.compare(analytic: analytic.flatMap { $0 }, direction: r, step: step) { h in
                    adam.objective(DirectionalCheck.moved(adam.schedule, path, by: r, h))
                })
        }
    }

    @Test("β1 and β2 with decoupled weight decay on")
    func schedulesWithWeightDecay() throws {
        try Self.checkSchedules(SmallAdamProblem(hidden: [4, 3]).withWeightDecay(), seeds: 31)
    }

    @Test("the initial weights w_1, through the noise they are scaled from", arguments: [false, true])
    func initialWeights(weightDecay: Bool) throws {
        let plain = SmallAdamProblem(hidden: [4, 3])
        let adam = weightDecay ? plain.withWeightDecay() : plain
        let g = try adam.trainer.hypergradient(schedule: adam.schedule, noise: adam.small.noise).hypergradient
        // w_1 = s ⊙ ε: moving ε by h·r moves w_1 by h·(s ⊙ r), so ⟨∂f/∂w_1, s ⊙ r⟩ is the slope.
        let r = DirectionalCheck.direction(g.initialWeights.count, seed: 41)
        let blocks = adam.small.architecture.blocks
        var scaled = r
        for (k, block) in blocks.enumerated() {
            for i in block.range { scaled[i] *= adam.schedule.initScales[k] }
        }
        Self.check(
            "w_1",
            DirectionalCheck.compare(analytic: g.initialWeights, direction: scaled, step: 1e-5) { h in
                let noise = zip(adam.small.noise, r).map { $0 + h * $1 }
                return try! adam.trainer.objective(schedule: adam.schedule, noise: noise)
            })
    }

    @Test("a layered network (conv, pooling, dense) reverses exactly and its α, β1, β2 match")
    func layered() throws {
        let adam = SmallAdamProblem(SmallProblem(architecture: LayeredCases.architecture(4), iterations: 12, rows: 18))
        try Self.checkSchedules(adam, seeds: 21)
    }

    @Test("ε, L2, initial scales", arguments: [1e-3, 1e-6])
    func scalars(epsilon: Double) throws {
        let adam = SmallAdamProblem(hidden: [4, 3], epsilon: epsilon)
        let run = try adam.trainer.hypergradient(schedule: adam.schedule, noise: adam.small.noise)
        let g = run.hypergradient
        Self.check(
            "ε",
            DirectionalCheck.compare(analytic: [g.epsilon], direction: [epsilon], step: 1e-3) { h in
                var schedule = adam.schedule
                schedule.epsilon *= 1 + h
                return adam.objective(schedule)
            })
        let r = DirectionalCheck.direction(g.l2.count, seed: 4).enumerated().map { i, x in
            adam.schedule.l2[i] > 0 ? x : 0
        }
        let decayed = SmallAdamProblem(hidden: [4, 3], epsilon: epsilon).withWeightDecay()
        let decayRun = try decayed.trainer.hypergradient(schedule: decayed.schedule, noise: decayed.small.noise)
        let d = DirectionalCheck.direction(decayed.schedule.weightDecay.count, seed: 6).enumerated().map { k, x in
            decayed.schedule.weightDecay[k] > 0 ? x : 0
        }
        Self.check(
            "weight decay",
            DirectionalCheck.compare(analytic: decayRun.hypergradient.weightDecay, direction: d, step: 1e-3) { h in
                var schedule = decayed.schedule
                schedule.weightDecay = zip(schedule.weightDecay, d).map { $0 + h * $1 }
                return decayed.objective(schedule)
            })
        let r1 = Self.table(decayed, seed: 7)
        Self.check(
            "α with weight decay",
            DirectionalCheck.compare(
                analytic: decayRun.hypergradient.learningRates.flatMap { $0 }, direction: r1, step: 1e-6
            ) { h in
                decayed.objective(DirectionalCheck.moved(decayed.schedule, \.learningRates, by: r1, h))
            })
        Self.check(
            "λ",
            DirectionalCheck.compare(analytic: g.l2, direction: r, step: 1e-4) { h in
                var schedule = adam.schedule
                schedule.l2 = zip(schedule.l2, r).map { $0 + h * $1 }
                return adam.objective(schedule)
            })
        let s = DirectionalCheck.direction(g.initScales.count, seed: 5)
        Self.check(
            "s",
            DirectionalCheck.compare(analytic: g.initScales, direction: s, step: 1e-5) { h in
                var schedule = adam.schedule
                schedule.initScales = zip(schedule.initScales, s).map { $0 + h * $1 }
                return adam.objective(schedule)
            })
    }
}
