import Foundation
import JSON
import Learning
import Testing

@testable import Tuning

/// The memory estimate behind admission control: its buffer part against the bits a real run
/// stores, and the attack spec of a security review against the default budget.
@Suite("Tuning run memory estimates")
struct TuningRunMemoryTests {
    @Test("the buffer estimate bounds the bits a real run holds at its peak, and is close to them")
    func bufferEstimateMatchesARealRun() throws {
        let spec = smallSpec(#"{"training": {"iterations": 200}, "hyperparameters": {"momentum": {"init": 0.5}}}"#)
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let checkpoint = run.initialCheckpoint()
        let estimate = run.memoryEstimate(at: checkpoint.unconstrained)

        let problem = TrainingProblem(
            model: run.model, training: run.training,
            batches: BatchPlan(rows: run.training.rows, batchSize: spec.training.batchSize, order: .cyclic),
            objective: .validation(run.validation))
        let noise = TuningRun.gaussianNoise(count: run.architecture.parameterCount, seed: 1)
        let real = try ReversibleTrainer(problem: problem).hypergradient(
            schedule: run.space.schedule(checkpoint.unconstrained), noise: noise)
        let storedBytes = real.bufferPeakBits / 8
        #expect(estimate.bufferBytes >= storedBytes)
        // 1 bit per parameter per step at γ = 0.5: the estimate is the theory plus two limbs each.
        let n = run.architecture.parameterCount
        #expect(abs(Double(estimate.bufferBytes - 8 * n) - real.theoreticalBits / 8) < Double(n))
    }

    @Test("the spec of the attack needs hundreds of gigabytes and names momentum, T and the model")
    func attackSpecIsFarOverTheBudget() throws {
        let value = try JSONValue.parse(
            #"{"dataset":{"name":"digits"},"model":{"hidden":[4096,400]},"training":{"iterations":100000,"batch_size":1},"#
                + #""hyperparameters":{"momentum":{"init":1e-9,"schedule":"constant","per_block":false}},"meta":{"iterations":1}}"#
        )
        guard case .success(let spec) = JobSpec.parse(value) else { Issue.record("spec did not parse"); return }
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let estimate = run.initialMemoryEstimate
        // γ is kept ≥ 1e-6 by the space: about 20 bits × 100,000 steps × 1.9 M parameters ≈ 476 GB.
        #expect(estimate.bufferBytes > 400_000_000_000)
        #expect(estimate.drivingFields == ["/hyperparameters/momentum", "/training/iterations", "/model/hidden"])
        let problem = try #require(run.memoryProblem(budget: 1 << 30))
        #expect(problem.code == "over-memory-budget")
        #expect(run.memoryProblem(budget: Int.max) == nil)
    }

    @Test("the default spec fits the default budget with room to spare")
    func defaultSpecIsSmall() throws {
        let run = try TuningRun(spec: smallSpec(), dataset: BuiltinDatasets.digits)
        #expect(run.initialMemoryEstimate.totalBytes < 64 << 20)
    }
}
