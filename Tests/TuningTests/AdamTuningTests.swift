import Foundation
import JSON
import Learning
import Testing

@testable import Tuning

/// `training.optimizer: "adam"`: the spec's groups, the map to Adam's schedule and back, and whole
/// tuning runs (resume, seeds, guard) through `TuningRun`.
@Suite("Adam jobs")
struct AdamTuningTests {
    static let adam = #"{"training": {"optimizer": "adam"}}"#

    func errors(_ text: String) -> [SpecError] {
        switch JobSpec.parse(try! JSONValue.parse(text)) {
        case .success: []
        case .failure(let errors): errors.errors
        }
    }

    @Test("another optimiser's group is a 422 naming it; so are Adam's unsupported options")
    func foreignGroups() {
        let momentum = errors(
            #"{"dataset": {"name": "digits"}, "training": {"optimizer": "adam"}, "hyperparameters": {"momentum": {"init": 0.5}}}"#
        )
        #expect(momentum.map(\.field) == ["/hyperparameters/momentum"])
        #expect(momentum.first?.message.contains("\"sgd\"") == true)
        let betas = errors(
            #"{"dataset": {"name": "digits"}, "hyperparameters": {"beta1": {"init": 0.5}, "epsilon": {"init": 1e-6}, "weight_decay": {"init": 0.1}}}"#
        )
        #expect(
            Set(betas.map(\.field))
                == ["/hyperparameters/beta1", "/hyperparameters/epsilon", "/hyperparameters/weight_decay"])
        #expect(
            errors(#"{"dataset": {"name": "digits"}, "training": {"optimizer": "rmsprop"}}"#).map(\.field) == [
                "/training/optimizer"
            ])
        let bad = errors(
            #"""
            {"dataset": {"name": "digits"}, "training": {"optimizer": "adam"},
             "hyperparameters": {"beta2": {"init": 1}, "epsilon": {"init": 0}, "weight_decay": {"init": [0.1, 0.2, 0], "per": "block"},
                                 "training_data": {"learn": true}}}
            """#)
        #expect(
            Set(bad.map(\.field)) == [
                "/hyperparameters/beta2/init", "/hyperparameters/epsilon/init", "/hyperparameters/weight_decay/init/2",
                "/hyperparameters/training_data/learn",
            ])
        #expect(
            errors(
                #"{"dataset": {"name": "digits"}, "training": {"optimizer": "adam"}, "hyperparameters": {"weight_decay": {"init": 0.1, "per": "neuron"}}}"#
            ).map(\.field) == ["/hyperparameters/weight_decay/per"])
    }

    @Test("an Adam spec fills in Adam's defaults, shows the optimiser and round-trips; SGD's is unchanged")
    func defaultsAndRoundTrip() throws {
        let spec = smallSpec(Self.adam)
        #expect(spec.training.optimizer == .adam)
        #expect(spec.hyperparameters.learningRate.initial == .uniform(0.001))
        #expect(spec.hyperparameters.beta1.initial == .uniform(0.9))
        #expect(spec.hyperparameters.beta2.initial == .uniform(0.999))
        #expect(spec.hyperparameters.epsilon == JobSpec.EpsilonGroup(initial: 1e-8, learn: true))
        #expect(!spec.hyperparameters.weightDecay.isOn)
        let json = spec.json()
        #expect(json["training"]?["optimizer"] == .string("adam"))
        let groups = json["hyperparameters"]?.objectValue?.keys ?? []
        #expect(
            Array(groups) == [
                "learning_rate", "beta1", "beta2", "epsilon", "weight_decay", "l2", "init_scale", "training_data",
            ])
        #expect(try JobSpec.parse(json).get() == spec)
        #expect(smallSpec().json()["training"]?["optimizer"] == nil)
        #expect(smallSpec().json()["hyperparameters"]?["beta1"] == nil)
    }

    @Test("u lays Adam's groups out after SGD's; values and schedules come back in natural units")
    func space() throws {
        let spec = smallSpec(
            #"{"training": {"optimizer": "adam"}, "hyperparameters": {"beta1": {"schedule": {"segments": 3}, "per_block": false}, "weight_decay": {"init": [0.01, 0.02], "per": "block"}}}"#
        )
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let space = run.space
        #expect(space.momentumRange.isEmpty)
        #expect(space.beta1Range.count == 3 && space.beta2Range.count == 12 * 4)
        #expect(space.epsilonRange.count == 1 && space.weightDecayRange.count == 2)
        let u = space.initialVector(trainingInputs: run.training.inputs)
        let values = space.values(u)
        #expect(values.momentum.isEmpty && values.beta1?.count == 3 && values.beta1?[0].count == 1)
        #expect(abs(values.epsilon! - 1e-8) < 1e-20)
        let schedule = space.adamSchedule(u)
        #expect(schedule.beta1.count == 12 && schedule.beta1[11].allSatisfy { abs($0 - 0.9) < 1e-12 })
        // Decay on the weight blocks W1, W2 only; biases off.
        #expect(schedule.weightDecay.count == 4 && schedule.weightDecay[1] == 0 && schedule.weightDecay[3] == 0)
        #expect(abs(schedule.weightDecay[2] - 0.02) < 1e-15)
        let json = values.json()
        #expect(json["momentum"] == nil && json["beta2"] != nil)
        #expect(HyperparameterValues(json: json) == values)
    }

    @Test("the pulled-back hypergradient matches central differences of whole runs in u")
    func pullbackMatchesFiniteDifferences() throws {
        let spec = smallSpec(
            #"{"training": {"optimizer": "adam"}, "hyperparameters": {"learning_rate": {"init": 0.01, "schedule": "constant"}, "beta1": {"schedule": {"segments": 2}}, "beta2": {"init": 0.99, "schedule": "constant", "per_block": false}, "epsilon": {"init": 1e-3}, "weight_decay": {"init": 0.5}}}"#
        )
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let u = run.space.initialVector(trainingInputs: run.training.inputs)
        let (exact, f) = try AdamTuningTests.pulledBackHypergradient(run, at: u)
        let space = run.space
        Self.checkCentralDifferences(
            exact, at: u,
            indices: [
                space.learningRateRange.lowerBound, space.beta1Range.lowerBound + 1, space.beta1Range.upperBound - 1,
                space.beta2Range.lowerBound, space.epsilonRange.lowerBound, space.weightDecayRange.lowerBound,
                space.l2Range.lowerBound,
            ], step: 1e-4, floor: 1e-3, f: f)
    }

    /// The exact hypergradient of `run`'s first meta-iteration (seeds of item 0, batches of 20,
    /// validation objective) pulled back to u, and the objective as a function of u.
    static func pulledBackHypergradient(
        _ run: TuningRun, at u: [Double]
    ) throws -> (exact: [Double], f: ([Double]) -> Double) {
        let draws = run.seeds(for: 0)
        let problem = TrainingProblem(
            model: run.model, training: run.training,
            batches: BatchPlan(rows: run.training.rows, batchSize: 20, order: run.batchOrder(seed: draws.batches)),
            objective: .validation(run.validation))
        let trainer = ReversibleAdamTrainer(problem: problem)
        let noise = TuningRun.gaussianNoise(count: run.architecture.parameterCount, seed: draws.weights)
        let exact = run.space.pullback(
            try trainer.hypergradient(schedule: run.space.adamSchedule(u), noise: noise).hypergradient, at: u)
        let space = run.space
        return (exact, { v in try! trainer.objective(schedule: space.adamSchedule(v), noise: noise) })
    }

    /// `exact[index]` against (f(u + h·e) − f(u − h·e)) / 2h for each index, to 1e-4 relative
    /// (of max(|numeric|, floor)).
    static func checkCentralDifferences(
        _ exact: [Double], at u: [Double], indices: [Int], step h: Double, floor: Double, f: ([Double]) -> Double
    ) {
        for index in indices {
            var plus = u, minus = u
            plus[index] += h
            minus[index] -= h
            let numeric = (f(plus) - f(minus)) / (2 * h)
            #expect(
                abs(numeric - exact[index]) <= 1e-4 * max(abs(numeric), floor),
                "u[\(index)]: exact \(exact[index]), central difference \(numeric)")
        }
    }

    @Test("an Adam job runs with the guard and a test split, and resumes from an encoded checkpoint bit for bit")
    func resume() throws {
        let spec = smallSpec(
            #"{"training": {"optimizer": "adam"}, "split": {"test": 100}, "hyperparameters": {"learning_rate": {"init": 0.01}, "weight_decay": {"init": 0.01}}, "meta": {"iterations": 4}}"#
        )
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let uninterrupted = try runToCompletion(run)
        #expect(uninterrupted.count == 5)
        #expect(uninterrupted.dropLast().allSatisfy { $0.hypergradient?.beta1 != nil })
        #expect(uninterrupted.allSatisfy { $0.testLoss?.isFinite == true })
        #expect(try resumedHistory(spec, after: 2) == uninterrupted)
    }

    @Test("S seeds average S one-seed Adam runs exactly")
    func seeds() throws {
        let overrides = { (extra: String) in
            #"{"training": {"optimizer": "adam"\#(extra)}, "hyperparameters": {"learning_rate": {"init": 0.01}}, "meta": {"iterations": 1, "seeds": "#
        }
        let run = try TuningRun(spec: smallSpec(overrides("") + "2}}"), dataset: BuiltinDatasets.digits)
        let averaged = try run.step(run.initialCheckpoint()).item
        let singles = try (3...4).map { seed in
            let single = try TuningRun(
                spec: smallSpec(overrides(#", "seed": \#(seed)"#) + "1}}"), dataset: BuiltinDatasets.digits)
            return try single.step(single.initialCheckpoint()).item
        }
        #expect(averaged.validationLoss == (singles[0].validationLoss + singles[1].validationLoss) / 2)
        let b2 = singles.map { $0.hypergradient!.beta2!.flatMap { $0 } }
        #expect(averaged.hypergradient!.beta2!.flatMap { $0 } == b2[0].indices.map { (b2[0][$0] + b2[1][$0]) / 2 })
    }

    @Test("a decay factor 1 − α·λ that is not positive is a diverged item the guard rejects")
    func decayTooStrong() throws {
        let spec = smallSpec(
            #"{"training": {"optimizer": "adam"}, "hyperparameters": {"learning_rate": {"init": 0.5}, "weight_decay": {"init": 5}}, "meta": {"iterations": 1}}"#
        )
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        #expect(throws: TuningError.self) { try run.step(run.initialCheckpoint()) }
    }

    @Test("the memory estimate counts m, v and Adam's buffers")
    func memory() throws {
        let sgd = try TuningRun(spec: smallSpec(), dataset: BuiltinDatasets.digits).initialMemoryEstimate
        let adam = try TuningRun(spec: smallSpec(Self.adam), dataset: BuiltinDatasets.digits).initialMemoryEstimate
        #expect(adam.modelBytes > sgd.modelBytes)
        #expect(adam.bufferBytes + adam.allocationBytes > sgd.bufferBytes + sgd.allocationBytes)
        // Adam's buffers are sized by β2 (v's decay) rather than momentum.
        #expect(adam.decayField == "/hyperparameters/beta2" && sgd.decayField == "/hyperparameters/momentum")
    }
}
