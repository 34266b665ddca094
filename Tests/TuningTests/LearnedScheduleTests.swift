import Foundation
import JSON
import Learning
import Testing

@testable import Tuning

/// The exported table of an item is exactly the schedule its training ran with, for every way a
/// spec can shape its groups.
@Suite("Learned schedule tables")
struct LearnedScheduleTests {
    static let shapes = [
        "{}",
        #"{"hyperparameters": {"learning_rate": {"schedule": {"segments": 5}}, "momentum": {"schedule": "constant", "per_block": false}}}"#,
        #"{"hyperparameters": {"learning_rate": {"schedule": "constant"}, "l2": {"per": "weight"}, "init_scale": {"per": "global"}}}"#,
        #"{"hyperparameters": {"l2": {"per": "global"}, "momentum": {"schedule": {"segments": 7}}}}"#,
    ]

    @Test(arguments: shapes)
    func theTableOfAnItemIsTheScheduleItsTrainingUsed(_ overrides: String) throws {
        let run = try TuningRun(spec: smallSpec(overrides), dataset: BuiltinDatasets.digits)
        // Take the hyperparameters after two meta-steps, so that no group is uniform any more.
        var state = run.initialCheckpoint()
        for _ in 0..<2 { state = try run.step(state).next }
        let u = state.unconstrained
        let (item, _) = try run.step(state)
        // Through JSON, as the service stores and reads an item.
        let stored = try JSONValue.parse(item.json().serializedString())
        let values = try #require(stored["hyperparameters"].flatMap(HyperparameterValues.init(json:)))
        let table = try #require(LearnedSchedule(run: run, values: values))
        #expect(table.schedule == run.space.schedule(u))
        #expect(table.momentumApplied.joined().allSatisfy { abs($0 * 0x1p32 - ($0 * 0x1p32).rounded()) == 0 })
        let perWeight = run.spec.hyperparameters.l2.per == .weight
        #expect((table.l2PerBlock == nil) == perWeight)
        let lines = table.csv().split(separator: "\n")
        #expect(lines.count == 1 + run.spec.training.iterations * run.architecture.blocks.count)
    }

    @Test func valuesOfAnotherShapeAreRefused() throws {
        let run = try TuningRun(spec: smallSpec(), dataset: BuiltinDatasets.digits)
        let wrong = HyperparameterValues(learningRate: [[0.5]], momentum: [[0.9]], l2: [1e-4], initScale: [0.1])
        #expect(LearnedSchedule(run: run, values: wrong) == nil)
    }
}
