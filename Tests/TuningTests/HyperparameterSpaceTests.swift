import Foundation
import JSON
import RewindTestSupport
import Testing

@testable import Learning
@testable import Tuning

@Suite("Hyperparameter space")
struct HyperparameterSpaceTests {
    /// 3 inputs, one hidden layer of 2, 2 classes: W1 (6), b1 (2), W2 (4), b2 (2): 14 parameters.
    let architecture = MLPArchitecture(inputs: 3, hidden: [2], classes: 2, activation: .tanh)

    func spec(_ hyperparameters: String, iterations: Int = 7) throws -> JobSpec {
        try parseSpec(
            """
            {"dataset": {"id": "t"}, "model": {"hidden": [2]}, "training": {"iterations": \(iterations)},
             "hyperparameters": \(hyperparameters)}
            """
        ).get()
    }

    @Test func reportsTheDocumentedShapesForTheDefaultDigitsSpec() throws {
        let spec = try parseSpec(#"{"dataset": {"name": "digits"}}"#).get()
        let digits = DatasetInfo(rows: 1797, features: 64, classes: 10)
        let space = HyperparameterSpace(spec: spec, architecture: spec.architecture(for: digits), trainingRows: 1000)
        #expect(space.count == 100 * 6 * 2 + 3 + 6)
        let u = space.initialVector(trainingInputs: [])
        let values = space.values(u)
        #expect(values.learningRate.count == 100 && values.learningRate.allSatisfy { $0.count == 6 })
        #expect(values.momentum.count == 100 && values.momentum.allSatisfy { $0.count == 6 })
        #expect(values.l2.count == 3 && values.initScale.count == 6 && values.trainingData == nil)
        #expect(values.learningRate.joined().allSatisfy { abs($0 - 0.5) < 1e-15 })
        #expect(values.momentum.joined().allSatisfy { abs($0 - 0.9) < 1e-15 })
        #expect(values.l2.allSatisfy { abs($0 - 1e-4) < 1e-19 })
        #expect(values.initScale.allSatisfy { abs($0 - 0.1) < 1e-16 })
        #expect(space.learnMask.allSatisfy { $0 })
        let json = values.json()
        #expect(json.objectValue?.keys == ["learning_rate", "momentum", "l2", "init_scale"])
    }

    @Test(arguments: [
        (
            #"{"learning_rate": {"schedule": "constant", "per_block": false}, "momentum": {"schedule": "constant"}, "l2": {"per": "global"}, "init_scale": {"per": "global"}}"#,
            [1, 1], [1, 4], 1, 1, 1 + 4 + 1 + 1
        ),
        (
            #"{"learning_rate": {"schedule": {"segments": 3}}, "momentum": {"per_block": false}, "l2": {"per": "weight"}}"#,
            [3, 4], [7, 1], 10, 4, 12 + 7 + 10 + 4
        ),
        (
            #"{"l2": {"per": "block"}, "training_data": {"learn": true}}"#,
            [7, 4], [7, 4], 2, 4, 28 + 28 + 2 + 4 + 5 * 3
        ),
    ])
    func everyGroupHasTheShapeItsSpecAsksFor(
        hyperparameters: String, learningRate: [Int], momentum: [Int], l2: Int, initScale: Int, count: Int
    ) throws {
        let space = HyperparameterSpace(spec: try spec(hyperparameters), architecture: architecture, trainingRows: 5)
        #expect(space.count == count)
        let u = space.initialVector(trainingInputs: (0..<15).map(Double.init))
        let values = space.values(u)
        #expect([values.learningRate.count, values.learningRate[0].count] == learningRate)
        #expect([values.momentum.count, values.momentum[0].count] == momentum)
        #expect(values.l2.count == l2 && values.initScale.count == initScale)
        let report = space.unconstrained(u)
        #expect(report.l2.count == l2 && report.momentum.count == momentum[0])
        if let rows = values.trainingData {
            #expect(rows.count == 5 && rows.allSatisfy { $0.count == 3 })
            #expect(rows[1] == [3, 4, 5])
            #expect(space.trainingInputs(u) == (0..<15).map(Double.init))
        } else {
            #expect(space.trainingInputs(u) == nil)
        }
    }

    @Test func expandsSegmentsBlocksAndL2IntoTheTrainingSchedule() throws {
        let space = HyperparameterSpace(
            spec: try spec(
                #"{"learning_rate": {"init": [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], "schedule": {"segments": 3}}, "momentum": {"init": 0.5, "schedule": "constant", "per_block": false}, "l2": {"init": [0.1, 0.2], "per": "block"}, "init_scale": {"init": 0.25, "per": "global"}}"#
            ),
            architecture: architecture, trainingRows: 5)
        let schedule = space.schedule(space.initialVector(trainingInputs: []))
        #expect(schedule.iterations == 7)
        // T = 7, K = 3: iteration t is in segment ⌊3t/7⌋ = 0,0,0,1,1,2,2.
        let segmentOfIteration = schedule.learningRates.map { Int(($0[0] - 1) / 4 + 0.5) }
        #expect(segmentOfIteration == [0, 0, 0, 1, 1, 2, 2])
        #expect(schedule.learningRates[4].map { ($0 * 1e9).rounded() / 1e9 } == [5, 6, 7, 8])
        #expect(schedule.momenta.joined().allSatisfy { abs($0 - 0.5) < 1e-15 })
        let l2 = schedule.l2.map { ($0 * 1e12).rounded() / 1e12 }
        #expect(l2 == Array(repeating: 0.1, count: 6) + [0, 0] + Array(repeating: 0.2, count: 4) + [0, 0])
        #expect(schedule.initScales.count == 4 && schedule.initScales.allSatisfy { abs($0 - 0.25) < 1e-16 })
    }

    @Test func learnMaskFreezesGroupsWithLearnFalse() throws {
        let space = HyperparameterSpace(
            spec: try spec(
                #"{"learning_rate": {"schedule": "constant", "learn": false}, "momentum": {"schedule": "constant", "per_block": false}, "l2": {"per": "global", "learn": false}, "init_scale": {"per": "global"}}"#
            ),
            architecture: architecture, trainingRows: 5)
        #expect(space.learnMask == [false, false, false, false, true, false, true])
    }

    @Test func keepsMomentumStrictlyInsideTheUnitInterval() throws {
        let space = HyperparameterSpace(
            spec: try spec(#"{"momentum": {"schedule": "constant", "per_block": false}}"#), architecture: architecture,
            trainingRows: 5)
        var u = space.initialVector(trainingInputs: [])
        let index = 7 * 4  // the one momentum value follows the (7, 4) learning rates
        for extreme in [-1000.0, 1000.0] {
            u[index] = extreme
            let gamma = space.values(u).momentum[0][0]
            #expect(gamma >= 1e-6 && gamma <= 1 - 1e-9)
            #expect(gamma > 0 && gamma < 1)
        }
    }

    /// f = Σ cα·α + Σ cγ·γ + Σ cλ·λ + Σ cs·s + Σ cx·x: its natural-unit gradient is the coefficients,
    /// so the pullback must match central differences of f(schedule(u)) in u.
    @Test(arguments: [
        #"{"learning_rate": {"schedule": "constant", "per_block": false}, "momentum": {"schedule": "constant"}, "l2": {"per": "global"}, "init_scale": {"per": "global"}}"#,
        #"{"learning_rate": {"schedule": {"segments": 3}}, "momentum": {"schedule": {"segments": 2}, "per_block": false}, "l2": {"per": "weight"}, "init_scale": {"per": "block"}}"#,
        #"{"l2": {"per": "block"}, "training_data": {"learn": true}}"#,
    ])
    func pullbackMatchesFiniteDifferences(hyperparameters: String) throws {
        let space = HyperparameterSpace(spec: try spec(hyperparameters), architecture: architecture, trainingRows: 5)
        var random = SeededGenerator(seed: 11)
        let coefficients = TrainingHypergradient(
            learningRates: (0..<7).map { _ in (0..<4).map { _ in random.uniform(-1, 1) } },
            momenta: (0..<7).map { _ in (0..<4).map { _ in random.uniform(-1, 1) } },
            l2: (0..<14).map { _ in random.uniform(-1, 1) },
            initScales: (0..<4).map { _ in random.uniform(-1, 1) },
            initialWeights: Array(repeating: 0, count: 14),
            trainingInputs: hyperparameters.contains("training_data")
                ? (0..<15).map { _ in random.uniform(-1, 1) } : nil)
        func f(_ u: [Double]) -> Double {
            let s = space.schedule(u)
            var total = 0.0
            for t in 0..<7 {
                for k in 0..<4 {
                    total +=
                        coefficients.learningRates[t][k] * s.learningRates[t][k] + coefficients.momenta[t][k]
                        * s.momenta[t][k]
                }
            }
            total += zip(coefficients.l2, s.l2).reduce(0) { $0 + $1.0 * $1.1 }
            total += zip(coefficients.initScales, s.initScales).reduce(0) { $0 + $1.0 * $1.1 }
            if let x = space.trainingInputs(u), let c = coefficients.trainingInputs {
                total += zip(c, x).reduce(0) { $0 + $1.0 * $1.1 }
            }
            return total
        }
        var u = space.initialVector(trainingInputs: (0..<15).map { _ in random.uniform(-1, 1) })
        for index in u.indices { u[index] += random.uniform(-0.5, 0.5) }  // away from the uniform start
        let analytic = space.pullback(coefficients, at: u)
        let h = 1e-5
        for index in u.indices {
            var plus = u, minus = u
            plus[index] += h
            minus[index] -= h
            let numeric = (f(plus) - f(minus)) / (2 * h)
            #expect(
                abs(analytic[index] - numeric) <= 1e-7 * max(1, abs(numeric)),
                "entry \(index): \(analytic[index]) vs \(numeric)")
        }
        // The report has the value shapes and carries the same numbers.
        let report = space.unconstrained(analytic)
        #expect(
            report.learningRate.joined().count + report.momentum.joined().count + report.l2.count
                + report.initScale.count
                + (report.trainingData?.joined().count ?? 0) == space.count)
    }
}
