import Foundation
import JSON
import RewindTestSupport
import Testing

/// An Adam job's learned schedule leaves Rewind: `rewind export-schedule` gives β1, β2, ε and the
/// weight decays per iteration and block, and the NumPy recipe replays it to Rewind's loss.
@Suite("Adam schedules leave Rewind")
struct AdamScheduleExportTests {
    static let spec = #"""
        {"name": "adam replay", "dataset": {"name": "digits"}, "split": {"train": 1000, "validation": 797},
         "model": {"hidden": [50, 50], "activation": "tanh"},
         "training": {"iterations": 40, "batch_size": 100, "seed": 3, "optimizer": "adam"},
         "hyperparameters": {"learning_rate": {"init": 0.01}, "beta2": {"init": 0.99},
                             "epsilon": {"init": 1e-6}, "weight_decay": {"init": 0.01, "per": "block"}},
         "meta": {"iterations": 2, "step_size": 0.05}}
        """#

    @Test func theNumPyReplayOfAnAdamScheduleReachesRewindsValidationLossToOneMillionth() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let (scratch, specPath, url, id) = try LearnedScheduleTests.submitThroughCLI(Self.spec, to: service)

        let (schedulePath, schedule) = try LearnedScheduleTests.exportSchedule(url: url, id: id, in: scratch)
        #expect(schedule["optimizer"]?.stringValue == "adam")
        #expect(schedule["momentum"] == nil)
        let beta1 = try #require(schedule["beta1"]?.arrayValue)
        #expect(beta1.count == 40 && beta1.allSatisfy { $0.arrayValue?.count == 6 })
        #expect(Set(beta1.compactMap { $0[0]?.doubleValue }).count > 1, "the learned β1 vary over iterations")
        #expect(schedule["beta2_applied"]?.arrayValue?.count == 40)
        #expect(schedule["epsilon"]?.doubleValue != nil)
        let decayValues = schedule["weight_decay"]?.arrayValue ?? []
        let decay = decayValues.compactMap { $0.doubleValue }
        #expect(decay.count == 6 && decay[1] == 0 && decay[0] > 0 && decay[0] != 0.01)
        let history = try session.history(id)
        #expect(schedule["validation_loss"] == history[1]["validation_loss"])
        let csv = try session.get("/v1/jobs/\(id)/schedule?item=1&format=csv")
        #expect(csv.text.hasPrefix("iteration,block,name,learning_rate,beta1,beta1_applied,beta2,"))

        let replayPath = try LearnedScheduleTests.replayWithNumPy(
            specPath: specPath, schedulePath: schedulePath, in: scratch)

        // The PyTorch (torch.optim.Adam) and optax (inject_hyperparams(adamw)) Adam recipes of
        // docs/using-learned-schedules.md, where the interpreter named by PYTHON has them.
        try LearnedScheduleTests.replayWithLibraries(replayPath, schedulePath)
    }

    @Test func aScheduleWithAWeightDecayPerWeightExportsOnePerParameterAndReplaysToOneMillionth() throws {
        let service = try TestService()
        defer { service.stop() }
        let perWeight = Self.spec.replacingOccurrences(of: #""per": "block""#, with: #""per": "weight""#)
        let (scratch, specPath, url, id) = try LearnedScheduleTests.submitThroughCLI(perWeight, to: service)
        let (schedulePath, schedule) = try LearnedScheduleTests.exportSchedule(url: url, id: id, in: scratch)
        #expect(schedule["weight_decay"] == .null)
        let decay = (schedule["weight_decay_per_parameter"]?.arrayValue ?? []).compactMap(\.doubleValue)
        // digits 64-50-50-10: 6,310 parameters, of which 6,200 weights.
        #expect(decay.count == 6310 && decay.filter { $0 > 0 }.count == 6200)
        #expect(Set(decay.filter { $0 > 0 }).count > 1, "the weights' decays were learned apart")
        _ = try LearnedScheduleTests.replayWithNumPy(specPath: specPath, schedulePath: schedulePath, in: scratch)
    }
}
