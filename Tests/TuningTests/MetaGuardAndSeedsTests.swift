import Foundation
import JSON
import Learning
import Testing

@testable import Tuning

/// The objective a spec's `meta.objective` names, of one item.
private func objective(_ item: HistoryItem, _ spec: JobSpec) -> Double {
    spec.meta.objective == .trainingLoss ? item.trainingLoss : item.validationLoss
}

@Suite("Seeds per meta-iteration, the guard, early stopping")
struct MetaGuardAndSeedsTests {
    @Test("the guard tolerates a rise of one example's share of the loss near zero, and is relative above it")
    func guardIsScaleAware() {
        // 53 validation rows of a 3-class problem: one row moves the mean loss by ln 3 / 53 ≈ 0.0207.
        let guardian = MetaGuard(
            settings: JobSpec.Guard(), objectiveName: "validation_loss", floor: MetaGuard.floor(classes: 3, rows: 53))
        func rejects(_ objective: Double, after reference: Double) -> Bool {
            guardian.reason(objective: objective, gradientNorm: nil, reference: (reference, 0, "the last"), anchor: nil)
                != nil
        }
        #expect(!rejects(0.028, after: 0.019))  // +0.009: under one row's worth, though +47 %
        #expect(!rejects(0.015, after: 3e-4))  // at 3e-4 a relative 25 % would allow only 7.5e-5
        #expect(rejects(0.045, after: 0.019))  // +0.026: more than one row's worth
        #expect(!rejects(1.2, after: 1.0) && rejects(1.3, after: 1.0))  // above the floor: 25 % as before
        // Without rows to speak of (floor 0) the rule is the relative one everywhere.
        let relative = MetaGuard(settings: JobSpec.Guard(), objectiveName: "validation_loss")
        #expect(
            relative.reason(objective: 0.028, gradientNorm: nil, reference: (0.019, 0, "the last"), anchor: nil) != nil)
    }

    @Test("S seeds give exactly the mean of S one-seed runs with seeds seed, seed + 1, ...")
    func seedsAverageOneSeedRuns() throws {
        let spec = smallSpec(#"{"split": {"test": 100}, "meta": {"seeds": 3, "iterations": 1}}"#)
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let averaged = try run.step(run.initialCheckpoint()).item
        var singles: [HistoryItem] = []
        for seed in 3...5 {
            let single = try TuningRun(
                spec: smallSpec(
                    #"{"split": {"test": 100}, "training": {"seed": \#(seed)}, "meta": {"iterations": 1}}"#),
                dataset: BuiltinDatasets.digits)
            singles.append(try single.step(single.initialCheckpoint()).item)
        }
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / 3 }
        #expect(averaged.trainingLoss == mean(singles.map(\.trainingLoss)))
        #expect(averaged.validationLoss == mean(singles.map(\.validationLoss)))
        #expect(averaged.validationError == mean(singles.map(\.validationError)))
        #expect(averaged.testLoss == mean(singles.map { $0.testLoss! }))
        let gradients = singles.map { $0.hypergradient!.learningRate.flatMap { $0 } }
        let expected = gradients[0].indices.map { i in mean(gradients.map { $0[i] }) }
        #expect(averaged.hypergradient!.learningRate.flatMap { $0 } == expected)
        // The spread is the sample standard deviation over the runs.
        let losses = singles.map(\.validationLoss)
        let m = mean(losses)
        let std = (losses.reduce(0) { $0 + ($1 - m) * ($1 - m) } / 2).squareRoot()
        #expect(averaged.spread?.validationLoss == std)
        #expect(averaged.json()["validation_loss_std"]?.doubleValue == std)
        #expect(singles[0].spread == nil && singles[0].json()["validation_loss_std"] == nil)
    }

    @Test("the history is the same bit for bit whatever the number of threads")
    func threadsDoNotChangeTheHistory() throws {
        let spec = smallSpec(#"{"meta": {"seeds": 4, "iterations": 3}}"#)
        let one = try runToCompletion(TuningRun(spec: spec, dataset: BuiltinDatasets.digits, threads: 1))
        let three = try runToCompletion(TuningRun(spec: spec, dataset: BuiltinDatasets.digits, threads: 3))
        let eight = try runToCompletion(TuningRun(spec: spec, dataset: BuiltinDatasets.digits, threads: 8))
        #expect(one == three)
        #expect(one == eight)
        #expect(one.allSatisfy { $0.spread != nil })
    }

    @Test("a single-seed run with two threads splits each training step and keeps every bit")
    func oneSeedOnTwoThreadsIsTheSameRun() throws {
        let spec = smallSpec(#"{"meta": {"iterations": 3}}"#)
        let twoThreads = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits, threads: 2)
        #expect(twoThreads.trainerThreads == 2)
        let one = try runToCompletion(TuningRun(spec: spec, dataset: BuiltinDatasets.digits, threads: 1))
        #expect(one == (try runToCompletion(twoThreads)))
        #expect(one.count == 4)
    }

    @Test("progress stays monotone and cancelling stops the run with parallel seeds")
    func parallelProgressAndCancel() throws {
        let run = try TuningRun(
            spec: smallSpec(#"{"meta": {"seeds": 3}}"#), dataset: BuiltinDatasets.digits, threads: 2)
        var seen: [Double] = []
        var state = run.initialCheckpoint()
        while !run.isComplete(state) {
            state = try run.step(state) {
                seen.append($0); return true
            }.next
        }
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(seen.last! > 0.99 && seen.last! <= 1)
        #expect(throws: TuningError.cancelled) {
            _ = try run.step(run.initialCheckpoint()) { $0 < 0.05 }
        }
    }

    /// Meta-steps of 1.5 in log α: the learning rates grow fourfold per step until training turns
    /// chaotic or diverges.
    static let chaoticSpec = """
        {"training": {"iterations": 30},
         "hyperparameters": {"learning_rate": {"init": 0.5, "schedule": "constant", "per_block": false},
                             "momentum": {"learn": false}, "l2": {"learn": false}, "init_scale": {"learn": false}},
         "meta": {"iterations": 12, "step_size": 1.5, "objective": "training_loss", "reseed": false, "guard": GUARD}}
        """

    @Test("a chaos-inducing spec gets rejected steps and ends within the tolerance of its best")
    func guardRejectsChaoticSteps() throws {
        let guarded = smallSpec(Self.chaoticSpec.replacing("GUARD", with: #"{"tolerance": 0.1}"#))
        let run = try TuningRun(spec: guarded, dataset: BuiltinDatasets.digits)
        var state = run.initialCheckpoint()
        var items: [HistoryItem] = []
        while !run.isComplete(state) {
            let (item, next) = try run.step(state)
            items.append(item)
            state = next
        }
        let rejected = items.filter { $0.step == .rejected }
        #expect(!rejected.isEmpty)
        #expect(rejected.allSatisfy { ($0.stepReason ?? "").isEmpty == false })
        #expect(items.filter { $0.step == .accepted }.count + rejected.count == items.count)
        let best = try #require(state.best)
        let final = try #require(items.last)
        #expect(objective(final, guarded) <= best.rankingValue * 1.1)
        #expect(best.rankingValue == items.filter { $0.step == .accepted }.map { objective($0, guarded) }.min())
        // The step shrank once per rejection.
        #expect(state.stepScale == pow(0.5, Double(rejected.count)))

        // The control: unguarded, the same spec walks into chaos and either diverges outright or
        // ends far above the best it passed through (the guard's tolerance is 10 %).
        let unguarded = smallSpec(Self.chaoticSpec.replacing("GUARD", with: "false"))
        do {
            let free = try runToCompletion(TuningRun(spec: unguarded, dataset: BuiltinDatasets.digits))
            let values = free.map { objective($0, unguarded) }
            let bestSeen = try #require(values.min())
            let last = try #require(values.last)
            #expect(last > bestSeen * 1.1, "unguarded, the run ended at \(last), its best was \(bestSeen)")
        } catch let error as TuningError {
            #expect(error.code == "diverged")
        }
    }

    @Test("a guarded run resumes from an encoded checkpoint bit for bit")
    func guardedResume() throws {
        let spec = smallSpec(Self.chaoticSpec.replacing("GUARD", with: "true"))
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let uninterrupted = try runToCompletion(run)
        var state = run.initialCheckpoint()
        var items: [HistoryItem] = []
        for _ in 0..<7 {
            let (item, next) = try run.step(state)
            items.append(item)
            state = next
        }
        let restored = try JSONDecoder().decode(TuningCheckpoint.self, from: JSONEncoder().encode(state))
        #expect(restored == state)
        items += try runToCompletion(run, from: restored)
        #expect(items == uninterrupted)
    }

    @Test("meta.patience ends the run when the objective stops improving")
    func earlyStopping() throws {
        // Nothing learned and the same draws every item: the objective never improves on item 0.
        let spec = smallSpec(
            """
            {"hyperparameters": {"learning_rate": {"learn": false}, "momentum": {"learn": false},
                                 "l2": {"learn": false}, "init_scale": {"learn": false}},
             "meta": {"iterations": 10, "reseed": false, "patience": 3}}
            """)
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        var state = run.initialCheckpoint()
        var count = 0
        while !run.isComplete(state) {
            state = try run.step(state).next
            count += 1
        }
        #expect(count == 4)
        #expect(state.stoppedEarly == true)
        #expect(state.best?.metaIteration == 0)
        // Without patience the same spec runs all 11 items.
        let full = try runToCompletion(
            TuningRun(
                spec: smallSpec(#"{"meta": {"iterations": 10, "reseed": false}}"#), dataset: BuiltinDatasets.digits))
        #expect(full.count == 11)
    }

    @Test("best is ranked by the job's own objective")
    func bestByObjective() throws {
        let spec = smallSpec(#"{"meta": {"iterations": 6, "objective": "training_loss", "guard": false}}"#)
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        var state = run.initialCheckpoint()
        var items: [HistoryItem] = []
        while !run.isComplete(state) {
            let (item, next) = try run.step(state)
            items.append(item)
            state = next
        }
        let best = try #require(state.best)
        let lowest = items.min { $0.trainingLoss < $1.trainingLoss }!
        #expect(best.metaIteration == lowest.metaIteration)
        #expect(best.objective == lowest.trainingLoss)
        #expect(best.trainingLoss == lowest.trainingLoss)
    }
}
