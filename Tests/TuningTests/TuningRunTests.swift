import Foundation
import JSON
import Learning
import Testing

@testable import Tuning

/// A spec small enough for tests: a tiny MLP on the first digits rows. `overrides` is a JSON
/// object merged into it key by key (nested objects merge recursively).
func smallSpec(_ overrides: String = "{}") -> JobSpec {
    let base = """
        { "dataset": { "name": "digits" }, "split": { "train": 120, "validation": 80 },
          "model": { "hidden": [6], "activation": "tanh" },
          "training": { "iterations": 12, "batch_size": 20, "seed": 3 },
          "meta": { "iterations": 4, "step_size": 0.05 } }
        """
    func merge(_ a: JSONValue, _ b: JSONValue) -> JSONValue {
        guard case .object(var left) = a, case .object(let right) = b else { return b }
        for key in right.keys {
            left[key] = left[key].map { merge($0, right[key]!) } ?? right[key]!
        }
        return .object(left)
    }
    let value = merge(try! JSONValue.parse(base), try! JSONValue.parse(overrides))
    switch JobSpec.parse(value) {
    case .success(let spec): return spec
    case .failure(let errors): fatalError("test spec invalid: \(errors)")
    }
}

func runToCompletion(_ run: TuningRun, from checkpoint: TuningCheckpoint? = nil) throws -> [HistoryItem] {
    var state = checkpoint ?? run.initialCheckpoint()
    var items: [HistoryItem] = []
    while state.nextItem < run.totalItems {
        let (item, next) = try run.step(state)
        items.append(item)
        state = next
    }
    return items
}

/// The history of `spec` run for `after` items, its checkpoint encoded and decoded (as the service
/// stores it), then finished by a fresh `TuningRun` (as after a restart).
func resumedHistory(_ spec: JobSpec, after: Int) throws -> [HistoryItem] {
    let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
    var state = run.initialCheckpoint()
    var items: [HistoryItem] = []
    for _ in 0..<after {
        let (item, next) = try run.step(state)
        items.append(item)
        state = next
    }
    let stored = try JSONEncoder().encode(state)
    let restored = try JSONDecoder().decode(TuningCheckpoint.self, from: stored)
    #expect(restored == state)
    return items + (try runToCompletion(try TuningRun(spec: spec, dataset: BuiltinDatasets.digits), from: restored))
}

@Suite("Tuning runs")
struct TuningRunTests {
    @Test("a run writes N + 1 items; only the last has no hypergradient")
    func historyShape() throws {
        let run = try TuningRun(spec: smallSpec(), dataset: BuiltinDatasets.digits)
        let items = try runToCompletion(run)
        #expect(items.map(\.metaIteration) == [0, 1, 2, 3, 4])
        #expect(items.dropLast().allSatisfy { $0.hypergradient != nil })
        #expect(items.last?.hypergradient == nil)
        // Per-iteration, per-block schedules: T rows of 4 blocks (W1, b1, W2, b2).
        #expect(items[0].hyperparameters.learningRate.count == 12)
        #expect(items[0].hyperparameters.learningRate[0].count == 4)
        #expect(items[0].hypergradient?.learningRate.count == 12)
    }

    @Test("meta-iterations lower the validation loss")
    func learningHelps() throws {
        let spec = smallSpec(
            #"{ "hyperparameters": { "learning_rate": { "init": 0.05 } }, "meta": { "iterations": 8, "step_size": 0.1, "reseed": false } }"#
        )
        let items = try runToCompletion(try TuningRun(spec: spec, dataset: BuiltinDatasets.digits))
        #expect(items.last!.validationLoss < items.first!.validationLoss)
    }

    @Test("the same spec gives the same history, bit for bit")
    func determinism() throws {
        let first = try runToCompletion(try TuningRun(spec: smallSpec(), dataset: BuiltinDatasets.digits))
        let second = try runToCompletion(try TuningRun(spec: smallSpec(), dataset: BuiltinDatasets.digits))
        #expect(first == second)
    }

    @Test(
        "resuming from an encoded checkpoint reproduces the uninterrupted run bit for bit", arguments: ["adam", "sgd"])
    func resume(optimizer: String) throws {
        let spec = smallSpec(#"{ "meta": { "optimizer": "\#(optimizer)" } }"#)
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let uninterrupted = try runToCompletion(run)
        #expect(try resumedHistory(spec, after: 2) == uninterrupted)
    }

    @Test("progress is monotone, starts near 0 and ends near 1")
    func progress() throws {
        let run = try TuningRun(spec: smallSpec(), dataset: BuiltinDatasets.digits)
        var state = run.initialCheckpoint()
        var seen: [Double] = []
        while state.nextItem < run.totalItems {
            state = try run.step(state) {
                seen.append($0); return true
            }.next
        }
        #expect(seen.first! < 0.01)
        #expect(seen.last! > 0.99 && seen.last! <= 1)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test("cancelling from the progress callback stops the run")
    func cancel() throws {
        let run = try TuningRun(spec: smallSpec(), dataset: BuiltinDatasets.digits)
        #expect(throws: TuningError.cancelled) {
            _ = try run.step(run.initialCheckpoint()) { $0 < 0.05 }
        }
    }

    @Test("a huge learning rate fails the run with diverged")
    func divergence() throws {
        let spec = smallSpec(
            #"{ "training": { "iterations": 100 }, "hyperparameters": { "learning_rate": { "init": 1000 }, "momentum": { "init": 0.000001 } } }"#
        )
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        #expect {
            _ = try run.step(run.initialCheckpoint())
        } throws: { error in
            (error as? TuningError)?.code == "diverged"
        }
    }

    @Test("learning the training data reports its hypergradient with the data's shape")
    func distillation() throws {
        let spec = smallSpec(
            #"{ "model": { "hidden": [] }, "split": { "train": 10, "validation": 100 }, "training": { "iterations": 5, "batch_size": 10, "batches": "cyclic" }, "hyperparameters": { "training_data": { "learn": true } }, "meta": { "iterations": 2, "optimizer": "sgd", "step_size": 0.5 } }"#
        )
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let items = try runToCompletion(run)
        let gradient = try #require(items[0].hypergradient?.trainingData)
        #expect(gradient.count == 10 && gradient[0].count == 64)
        #expect(items[1].hyperparameters.trainingData != items[0].hyperparameters.trainingData)
    }

    @Test("JobRequest tells bytes that are not JSON from a bad spec, and names the bad spec's field")
    func requestProblems() {
        guard
            case .failure(let malformed) = JobRequest.prepare(
                specBytes: Array("{\"dataset\": ".utf8), datasets: BuiltinDatasetResolver())
        else {
            Issue.record("accepted malformed JSON"); return
        }
        #expect(malformed.code == "malformed-json")
        let bad =
            #"{"dataset": {"name": "digits"}, "training": {"iterations": 0}, "split": {"train": 1797, "validation": 797}}"#
        guard
            case .failure(let invalid) = JobRequest.prepare(
                specBytes: Array(bad.utf8), datasets: BuiltinDatasetResolver())
        else {
            Issue.record("accepted an invalid spec"); return
        }
        #expect(invalid.code == "invalid-spec")
        #expect(invalid.errors.contains { $0.field == "/training/iterations" })
        let unknown = #"{"dataset": {"name": "fashion-mnist"}}"#
        guard
            case .failure(let missing) = JobRequest.prepare(
                specBytes: Array(unknown.utf8), datasets: BuiltinDatasetResolver())
        else {
            Issue.record("accepted an unknown data set"); return
        }
        #expect(missing.errors.contains { $0.field.hasPrefix("/dataset") })
    }
}

@Suite("Training curves")
struct TrainingCurveTests {
    @Test("each item records the minibatch loss of every training iteration")
    func everyIteration() throws {
        let run = try TuningRun(spec: smallSpec(), dataset: BuiltinDatasets.digits)
        let items = try runToCompletion(run)
        for item in items {
            #expect(item.trainingCurve.every == 1)
            #expect(item.trainingCurve.losses.count == 12)
            #expect(item.trainingCurve.losses.allSatisfy { $0.isFinite && $0 > 0 })
        }
        // Training from the same initial weights lowers the minibatch loss.
        #expect(items[0].trainingCurve.losses.last! < items[0].trainingCurve.losses.first!)
    }

    @Test("long runs are kept as window means of at most 1000 points")
    func windows() {
        let curve = TrainingCurve(losses: (0..<2500).map(Double.init))
        #expect(curve.every == 3)
        #expect(curve.losses.count == 834)
        #expect(curve.losses[0] == 1 && curve.losses[1] == 4 && curve.losses.last == 2499)
        #expect(TrainingCurve(losses: []).losses.isEmpty)
    }
}
