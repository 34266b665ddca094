import Foundation
import Testing

@testable import Learning

/// The fused C kernels of `ReversibleAdam` against the Swift loops that specify them: the same
/// states, buffers and hypergradients bit for bit, step by step.
@Suite("Adam's fused kernels")
struct ReversibleAdamKernelTests {
    struct Spec: CustomStringConvertible, Sendable {
        var label: String
        var beta1: ClosedRange<Double>
        var beta2: ClosedRange<Double>
        var epsilon: Double
        /// log10 of the gradients' scale, drawn per parameter and step.
        var scales: ClosedRange<Double>
        var description: String { label }
    }

    static let specs = [
        Spec(label: "defaults", beta1: 0.85...0.95, beta2: 0.99...0.9999, epsilon: 1e-8, scales: -4...0),
        Spec(label: "beta2 close to 1", beta1: 0.9...0.99, beta2: 0.99999...0.9999999, epsilon: 1e-8, scales: -3...1),
        Spec(label: "tiny gradients", beta1: 0.5...0.99, beta2: 0.9...0.99999, epsilon: 1e-12, scales: -15...(-8)),
        Spec(label: "large gradients, low betas", beta1: 0.1...0.6, beta2: 0.2...0.7, epsilon: 1e-4, scales: 0...1.5),
    ]

    /// Blocks with ragged tails: one parameter, exactly one tile, a tile and a bit, several tiles.
    static let blocks = [0..<1, 1..<129, 129..<300, 300..<700]

    /// Two optimisers on the same schedule from the same random (w, m, v), one through the kernels
    /// and one through the Swift loops, stepped forward and back with the same random gradients
    /// (some exactly 0): after every step their states and the bits their buffers hold agree.
    @Test(
        "forward and back over random states, the kernels give the Swift loops' bits",
        arguments: specs, [false, true])
    func kernelsMatchTheSwiftLoops(spec: Spec, portable: Bool) throws {
        let n = Self.blocks.last!.upperBound, iterations = 40
        var random = SplitMix64(seed: 23)
        let blocks = Self.blocks
        func draw(_ range: ClosedRange<Double>) -> Double {
            range.lowerBound + (range.upperBound - range.lowerBound) * random.nextUnit()
        }
        let schedule = AdamSchedule(
            iterations: iterations,
            learningRates: (0..<iterations).map { _ in blocks.map { _ in 1e-3 * (1 + random.nextUnit()) } },
            beta1: (0..<iterations).map { _ in blocks.map { _ in draw(spec.beta1) } },
            beta2: (0..<iterations).map { _ in blocks.map { _ in draw(spec.beta2) } },
            epsilon: spec.epsilon, l2: Array(repeating: 0, count: n), initScales: blocks.map { _ in 1 },
            weightDecay: [0, 0.5, 0, 2])
        let initial = (0..<n).map { _ in 0.3 * random.nextGaussian() }
        let fused = try ReversibleAdam(schedule: schedule, blocks: blocks, initialWeights: initial)
        let reference = try ReversibleAdam(schedule: schedule, blocks: blocks, initialWeights: initial)
        reference.usesKernels = false
        fused.portableKernels = portable
        // Random moments of a random scale each, with random low words: |m| ≲ scale, v ≈ scale².
        for i in 0..<n {
            let scale = pow(10, draw(spec.scales))
            let m = AdamMoment.raw(scale * (2 * random.nextUnit() - 1))! &+ Int128(random.next() >> 32)
            let v = AdamVariance.raw(scale * scale * (0.5 + random.nextUnit()))! &+ UInt128(random.next() >> 32)
            for adam in [fused, reference] {
                adam.m[i] = m
                adam.v[i] = v
            }
        }
        let start = fused.rawState
        func expectSame(_ moment: String) {
            let a = fused.rawState, b = reference.rawState
            #expect(a.w == b.w && a.m == b.m && a.v == b.v, "states differ \(moment)")
            #expect(
                zip(fused.weights, reference.weights).allSatisfy { $0.bitPattern == $1.bitPattern },
                "weights differ \(moment)")
            #expect(
                fused.firstBuffer.storedBits == reference.firstBuffer.storedBits
                    && fused.secondBuffer.storedBits == reference.secondBuffer.storedBits,
                "buffers differ \(moment)")
        }
        var gradients: [[Double]] = []
        for t in 0..<iterations {
            let g = (0..<n).map { _ in
                random.nextUnit() < 0.05 ? 0 : pow(10, draw(spec.scales)) * random.nextGaussian()
            }
            gradients.append(g)
            for adam in [fused, reference] {
                try g.withUnsafeBufferPointer { g throws(TrainingError) in try adam.forward(step: t, gradient: g) }
            }
            expectSame("after forward step \(t)")
        }
        #expect(fused.rawState.m != start.m, "the steps moved m")
        #expect(fused.peakStoredBits == reference.peakStoredBits)
        for t in stride(from: iterations - 1, through: 0, by: -1) {
            for adam in [fused, reference] {
                adam.undoPosition(step: t)
                gradients[t].withUnsafeBufferPointer { adam.undoMoments(step: t, gradient: $0) }
            }
            expectSame("after undoing step \(t)")
        }
        let back = fused.rawState
        #expect(back.w == start.w && back.m == start.m && back.v == start.v, "the kernels land on the start")
        #expect(fused.firstBuffer.isEmpty && fused.secondBuffer.isEmpty && fused.decayBuffer.isEmpty)
    }

    /// A run the kernels cannot take fails as the Swift loops fail, naming the same parameter.
    @Test("a gradient out of range fails with the Swift loops' error")
    func divergenceIsReportedAlike() throws {
        let n = 300
        let blocks = [0..<200, 200..<300]
        let schedule = AdamSchedule(
            iterations: 1, learningRates: [[1e-3, 1e-3]], beta1: [[0.9, 0.9]], beta2: [[0.999, 0.999]],
            epsilon: 1e-8, l2: Array(repeating: 0, count: n), initScales: [1, 1])
        var g = [Double](repeating: 0.1, count: n)
        g[250] = .infinity
        var errors: [String] = []
        for kernels in [true, false] {
            let adam = try ReversibleAdam(
                schedule: schedule, blocks: blocks, initialWeights: Array(repeating: 0.1, count: n))
            adam.usesKernels = kernels
            do {
                try g.withUnsafeBufferPointer { g throws(TrainingError) in try adam.forward(step: 0, gradient: g) }
                Issue.record("an infinite gradient was accepted")
            } catch {
                errors.append("\(error)")
            }
        }
        #expect(errors.count == 2 && errors[0] == errors[1] && errors[0].contains("250"))
    }

    /// Whole hypergradients on an MLP whose blocks end in ragged tiles (200, 40, 120 and 3
    /// parameters), with per-weight L2 and decoupled weight decay: every group the same bits.
    @Test("whole hypergradients through the kernels are the Swift loops' bits", arguments: [false, true])
    func hypergradientsMatch(perWeightDecay: Bool) throws {
        var problem = SmallAdamProblem(hidden: [40], iterations: 20, epsilon: 1e-8).withWeightDecay()
        if perWeightDecay {
            let n = problem.small.architecture.parameterCount
            problem.schedule.parameterWeightDecay = problem.small.architecture.blocks.flatMap { block in
                block.range.map { i in block.kind == .weight ? 0.2 + 0.001 * Double(i % 7) : 0 }
            }
            problem.schedule.weightDecay = []
            #expect(problem.schedule.parameterWeightDecay.count == n)
        }
        var trainer = problem.trainer
        let fused = try trainer.hypergradient(schedule: problem.schedule, noise: problem.small.noise)
        trainer.usesKernels = false
        let reference = try trainer.hypergradient(schedule: problem.schedule, noise: problem.small.noise)
        func bits(_ values: [Double]) -> [UInt64] { values.map(\.bitPattern) }
        func bits(_ table: [[Double]]) -> [[UInt64]] { table.map(bits) }
        let (a, b) = (fused.hypergradient, reference.hypergradient)
        #expect(bits(a.learningRates) == bits(b.learningRates))
        #expect(bits(a.beta1) == bits(b.beta1))
        #expect(bits(a.beta2) == bits(b.beta2))
        #expect(a.epsilon.bitPattern == b.epsilon.bitPattern)
        #expect(bits(a.l2) == bits(b.l2))
        #expect(bits(a.initScales) == bits(b.initScales))
        #expect(bits(a.weightDecay) == bits(b.weightDecay))
        #expect(bits(a.parameterWeightDecay) == bits(b.parameterWeightDecay))
        #expect(bits(a.initialWeights) == bits(b.initialWeights))
        #expect(bits(fused.finalWeights) == bits(reference.finalWeights))
        #expect(fused.objective.bitPattern == reference.objective.bitPattern)
        #expect(bits(fused.trainingLosses) == bits(reference.trainingLosses))
        #expect(fused.bufferPeakBits == reference.bufferPeakBits)
    }
}
