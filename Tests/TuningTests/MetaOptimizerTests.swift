import Foundation
import Testing

@testable import Tuning

@Suite("Meta-optimisers")
struct MetaOptimizerTests {
    /// f(u) = ½ Σ a_i (u_i − c_i)², a badly conditioned quadratic.
    let scales = [1.0, 10.0, 0.1, 3.0]
    let centre = [1.0, -2.0, 0.5, 3.0]
    func gradient(_ u: [Double]) -> [Double] { u.indices.map { scales[$0] * (u[$0] - centre[$0]) } }

    @Test(arguments: [(MetaOptimizer.Kind.adam, 0.05, 3000), (.sgd, 0.009, 3000)])
    func minimisesAQuadratic(kind: MetaOptimizer.Kind, stepSize: Double, steps: Int) {
        var optimizer = MetaOptimizer(kind: kind, stepSize: stepSize, count: 4)
        var u = [0.0, 0.0, 0.0, 0.0]
        let mask = [true, true, true, true]
        for _ in 0..<steps { optimizer.step(&u, gradient: gradient(u), mask: mask) }
        for index in u.indices { #expect(abs(u[index] - centre[index]) < 1e-2, "entry \(index): \(u[index])") }
        #expect(optimizer.steps == steps)
    }

    @Test func adamFirstStepMovesEachEntryByTheStepSize() {
        // With bias correction, the first Adam step is step·g/(|g| + ε): the step size, whatever |g|.
        var optimizer = MetaOptimizer(kind: .adam, stepSize: 0.04, count: 3)
        var u = [0.0, 0.0, 0.0]
        optimizer.step(&u, gradient: [1000, -0.001, 2], mask: [true, true, true])
        #expect(abs(u[0] + 0.04) < 1e-12 && abs(u[1] - 0.04) < 1e-6 && abs(u[2] + 0.04) < 1e-9)
    }

    @Test(arguments: MetaOptimizer.Kind.allCases)
    func maskedEntriesNeverMove(kind: MetaOptimizer.Kind) {
        var optimizer = MetaOptimizer(kind: kind, stepSize: 0.1, count: 4)
        var u = [0.25, 0.5, -0.75, 1.0]
        let mask = [true, false, true, false]
        for _ in 0..<50 { optimizer.step(&u, gradient: gradient(u), mask: mask) }
        #expect(u[1] == 0.5 && u[3] == 1.0)
        #expect(u[0] != 0.25 && u[2] != -0.75)
        #expect(optimizer.firstMoment[1] == 0 && optimizer.firstMoment[3] == 0)
    }

    @Test(arguments: MetaOptimizer.Kind.allCases)
    func resumesBitIdenticallyAfterEncodingAndDecoding(kind: MetaOptimizer.Kind) throws {
        let mask = [true, true, true, true]
        var straight = MetaOptimizer(kind: kind, stepSize: 0.03, count: 4)
        var u = [0.1, 0.2, 0.3, 0.4]
        for _ in 0..<17 { straight.step(&u, gradient: gradient(u), mask: mask) }

        let data = try JSONEncoder().encode(straight)
        var resumed = try JSONDecoder().decode(MetaOptimizer.self, from: data)
        #expect(resumed == straight)
        var uResumed = u
        for _ in 0..<23 {
            straight.step(&u, gradient: gradient(u), mask: mask)
            resumed.step(&uResumed, gradient: gradient(uResumed), mask: mask)
        }
        #expect(u.map(\.bitPattern) == uResumed.map(\.bitPattern))
        #expect(resumed == straight)
    }

    @Test func powerByRepeatedSquaringMatchesMultiplication() {
        var product = 1.0
        for exponent in 0..<40 {
            #expect(abs(MetaOptimizer.power(0.999, exponent) - product) <= 1e-15)
            product *= 0.999
        }
    }
}
