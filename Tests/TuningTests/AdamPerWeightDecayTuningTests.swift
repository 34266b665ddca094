import Foundation
import JSON
import Learning
import Testing

@testable import Tuning

/// `weight_decay: {"per": "weight"}` in Adam jobs: one decoupled decay per weight, learned in log
/// space like per-weight L2.
@Suite("Adam jobs with a weight decay per weight")
struct AdamPerWeightDecayTuningTests {
    static let spec =
        #"{"training": {"optimizer": "adam"}, "hyperparameters": {"learning_rate": {"init": 0.01, "schedule": "constant"}, "beta2": {"init": 0.99, "schedule": "constant", "per_block": false}, "epsilon": {"init": 1e-3}, "weight_decay": {"init": 0.5, "per": "weight"}}}"#

    /// The small spec's weights: 64·6 + 6·10.
    static let weights = 444

    @Test("the spec takes one λ per weight: a number for all, or an array checked against the dataset")
    func spec() throws {
        let spec = smallSpec(Self.spec)
        #expect(spec.hyperparameters.weightDecay.per == .weight && spec.hyperparameters.weightDecay.isOn)
        #expect(try JobSpec.parse(spec.json()).get() == spec)
        let info = DatasetInfo(rows: 1797, features: 64, classes: 10)
        #expect(spec.validate(dataset: info).isEmpty)
        let wrong = smallSpec(
            #"{"training": {"optimizer": "adam"}, "hyperparameters": {"weight_decay": {"init": [0.1, 0.2], "per": "weight"}}}"#
        )
        let errors = wrong.validate(dataset: info)
        #expect(errors.map(\.field) == ["/hyperparameters/weight_decay/init"])
        #expect(errors.first?.message.contains("\(Self.weights) values") == true)
        let zero = JobSpec.parse(
            try JSONValue.parse(
                #"{"dataset": {"name": "digits"}, "training": {"optimizer": "adam"}, "hyperparameters": {"weight_decay": {"init": [0.1, 0], "per": "weight"}}}"#
            ))
        guard case .failure(let zeroErrors) = zero else {
            Issue.record("a per-weight decay of 0 was accepted")
            return
        }
        #expect(zeroErrors.errors.map(\.field) == ["/hyperparameters/weight_decay/init/1"])
    }

    @Test("u holds one log λ per weight; the schedule gets them per parameter, biases off")
    func space() throws {
        let run = try TuningRun(spec: smallSpec(Self.spec), dataset: BuiltinDatasets.digits)
        let space = run.space
        #expect(space.weightDecayRange.count == Self.weights)
        let u = space.initialVector(trainingInputs: run.training.inputs)
        let schedule = space.adamSchedule(u)
        #expect(schedule.weightDecay.isEmpty)
        #expect(schedule.parameterWeightDecay.count == run.architecture.parameterCount)
        for block in run.architecture.blocks {
            let expected = block.kind == .weight ? 0.5 : 0
            #expect(block.range.allSatisfy { abs(schedule.parameterWeightDecay[$0] - expected) < 1e-15 })
        }
        #expect(space.values(u).weightDecay?.count == Self.weights)
    }

    @Test("the pulled-back per-weight hypergradient matches central differences of whole runs in u")
    func pullbackMatchesFiniteDifferences() throws {
        let run = try TuningRun(spec: smallSpec(Self.spec), dataset: BuiltinDatasets.digits)
        var u = run.space.initialVector(trainingInputs: run.training.inputs)
        // Different λ per weight, so that a mix-up of slots would show.
        for (offset, index) in run.space.weightDecayRange.enumerated() { u[index] += 0.5 * sin(Double(offset)) }
        let (exact, f) = try AdamTuningTests.pulledBackHypergradient(run, at: u)
        // The largest entries (weights the decay moves most) and the first and last weight.
        let range = run.space.weightDecayRange
        let largest = range.sorted { abs(exact[$0]) > abs(exact[$1]) }.prefix(3)
        AdamTuningTests.checkCentralDifferences(
            exact, at: u, indices: Array(largest) + [range.lowerBound, range.upperBound - 1], step: 1e-3, floor: 1e-7,
            f: f)
    }

    @Test("a per-weight Adam job runs and resumes from an encoded checkpoint bit for bit")
    func resume() throws {
        let spec = smallSpec(
            #"{"training": {"optimizer": "adam"}, "hyperparameters": {"learning_rate": {"init": 0.01}, "weight_decay": {"init": 0.01, "per": "weight"}}, "meta": {"iterations": 3}}"#
        )
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let uninterrupted = try runToCompletion(run)
        #expect(uninterrupted.count == 4)
        let decays = uninterrupted.map { $0.hyperparameters.weightDecay ?? [] }
        #expect(decays.allSatisfy { $0.count == Self.weights })
        #expect(Set(decays[1]).count > 1, "the weights' decays moved apart")
        #expect(try resumedHistory(spec, after: 1) == uninterrupted)
    }
}
