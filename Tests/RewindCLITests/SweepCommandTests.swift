import Foundation
import Testing

@testable import RewindCLI

/// A small network on a slice of the digits, so that a point costs milliseconds.
private let smallSpec = """
    {"dataset": {"name": "digits"}, "split": {"train": 100, "validation": 50},
     "model": {"hidden": [8]}, "training": {"iterations": 10, "batch_size": 20, "seed": 3},
     "hyperparameters": {"momentum": {"init": 0.9, "learn": false}, "l2": {"init": 1e-12, "learn": false},
                         "init_scale": {"init": 0.1, "learn": false}},
     "meta": {"objective": "training_loss", "reseed": false}}
    """

private func prepareSmallSweep() throws -> LearningRateSweep {
    try LearningRateSweep.prepare(specBytes: Array(smallSpec.utf8)).get()
}

@Suite struct LearningRateSweepTests {
    @Test func theHypergradientAtACalmLearningRateMatchesTheSlopeOfWholeTrainingRuns() throws {
        let sweep = try prepareSmallSweep()
        let x = -0.5, h = 1e-3
        let point = sweep.point(logAlpha: x)
        let slope = (sweep.point(logAlpha: x + h).loss - sweep.point(logAlpha: x - h).loss) / (2 * h)
        #expect(point.loss.isFinite && point.hypergradient != 0)
        #expect(abs(point.hypergradient - slope) <= 1e-3 * abs(slope))
    }

    @Test func theObjectiveIsTheOneTheSpecNames() throws {
        let sweep = try prepareSmallSweep()
        #expect(sweep.objectiveName == "training_loss")
        let spec = sweep.spec(logAlpha: log(2))
        #expect(spec.meta.iterations == 1)
        #expect(spec.hyperparameters.learningRate.initial == .uniform(2))
        #expect(spec.hyperparameters.learningRate.schedule == .constant && !spec.hyperparameters.learningRate.perBlock)
    }

    @Test func aLearningRateOutsideTheSpecBoundsGivesAnEmptyPointInsteadOfStoppingTheSweep() throws {
        let point = try prepareSmallSweep().point(logAlpha: log(5000))
        #expect(point.loss.isNaN && point.hypergradient.isNaN)
    }

    @Test func differencesAreCentralInsideAndOneSidedAtTheEnds() {
        let slopes = LearningRateSweep.centralDifferences(x: [0, 1, 2], y: [0, 1, 4])
        #expect(slopes == [1, 2, 3])
    }

    @Test func theSymmetricLogKeepsTheSignAndIsLinearNearZero() {
        #expect(LearningRateSweep.symmetricLog(0) == 0)
        #expect(LearningRateSweep.symmetricLog(-250) == -LearningRateSweep.symmetricLog(250))
        #expect(abs(LearningRateSweep.symmetricLog(LearningRateSweep.linearThreshold) - log10(2)) < 1e-15)
        #expect(LearningRateSweep.symmetricLog(1e20) > LearningRateSweep.symmetricLog(1e3))
    }

    @Test func anInvalidSpecIsRefusedWithTheOffendingField() {
        let result = LearningRateSweep.prepare(
            specBytes: Array(#"{"dataset": {"name": "digits"}, "training": {"iterations": 0}}"#.utf8))
        guard case .failure(let problem) = result else {
            Issue.record("an invalid spec was accepted")
            return
        }
        #expect(problem.json().serializedString().contains("/training/iterations"))
    }
}
