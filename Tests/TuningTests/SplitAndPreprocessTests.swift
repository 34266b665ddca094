import Foundation
import JSON
import Learning
import Testing

@testable import Tuning

@Suite("Test split, shuffling and standardisation")
struct SplitAndPreprocessTests {
    @Test("fractions and left-out parts resolve against the data set's size")
    func resolvesFractionsAndDefaults() throws {
        let fractions = try parseSpec(
            #"{"dataset": {"name": "digits"}, "split": {"train": 0.6, "validation": 0.2, "test": 0.2}}"#
        ).get()
        let split = fractions.split.resolved(rows: 1797)
        #expect((split.train, split.validation, split.test) == (1078, 359, 359))
        #expect(split.unresolved.isEmpty)
        // Parsed but not resolved, the normalised document keeps the fractions.
        #expect(fractions.json()["split"]?["train"]?.doubleValue == 0.6)

        let omitted = try parseSpec(#"{"dataset": {"name": "digits"}}"#).get()
        let digits = omitted.split.resolved(rows: 1797)
        #expect((digits.train, digits.validation, digits.test) == (1000, 797, 0))
        let small = omitted.split.resolved(rows: 600)
        #expect((small.train, small.validation, small.test) == (360, 120, 120))

        // A given part comes first; left-out parts take only what it leaves.
        let withTest = try parseSpec(#"{"dataset": {"name": "digits"}, "split": {"test": 297}}"#).get().split.resolved(
            rows: 1797)
        #expect((withTest.train, withTest.validation, withTest.test) == (1000, 500, 297))
        #expect(
            try TuningRun(
                spec: smallSpec(#"{"split": {"train": 0.1, "validation": 0.05, "test": 0.05}}"#),
                dataset: BuiltinDatasets.digits
            )
            .spec.split == JobSpec.Split(train: 179, validation: 89, test: 89))
    }

    @Test("invalid split, preprocess and meta values are refused, naming the field")
    func refusesInvalidValues() throws {
        let errors = try specErrors(
            """
            { "dataset": {"name": "digits"}, "split": {"train": 1.5, "test": -1, "shuffle": "yes", "seed": -2},
              "preprocess": {"standardize": 1},
              "meta": {"seeds": 65, "patience": 0, "guard": {"tolerance": -1, "gradient_jump": 1, "shrink": 1, "x": 1}} }
            """)
        let fields = Set(errors.map(\.field))
        for field in [
            "/split/train", "/split/test", "/split/shuffle", "/split/seed", "/preprocess/standardize",
            "/meta/seeds", "/meta/patience", "/meta/guard/tolerance", "/meta/guard/gradient_jump",
            "/meta/guard/shrink", "/meta/guard/x",
        ] {
            #expect(fields.contains(field), "no error for \(field): \(errors)")
        }
        #expect(
            try specErrors(#"{"dataset": {"name": "digits"}, "meta": {"guard": "on"}}"#).map(\.field) == ["/meta/guard"]
        )
        #expect(
            try specErrors(#"{"dataset": {"name": "digits"}, "preprocess": {"mean": [0]}}"#).map(\.field) == [
                "/preprocess/mean"
            ])

        let tooMany = try parseSpec(
            #"{"dataset": {"name": "digits"}, "split": {"train": 1000, "validation": 700, "test": 200}}"#
        ).get()
        #expect(tooMany.validate(dataset: BuiltinDatasets.digits.info).map(\.field) == ["/split"])
        let wrongStatistics = try parseSpec(
            #"{"dataset": {"name": "digits"}, "preprocess": {"standardize": true, "mean": [0], "std": [1]}}"#
        ).get()
        #expect(
            Set(wrongStatistics.validate(dataset: BuiltinDatasets.digits.info).map(\.field)) == [
                "/preprocess/mean", "/preprocess/std",
            ])
    }

    @Test("shuffling is a seeded permutation of every row")
    func shuffleIsAPermutation() {
        let order = DatasetPartition.permutation(count: 1797, seed: 7)
        #expect(order.sorted() == Array(0..<1797))
        #expect(order != Array(0..<1797))
        #expect(order == DatasetPartition.permutation(count: 1797, seed: 7))
        #expect(order != DatasetPartition.permutation(count: 1797, seed: 8))
    }

    /// The spec of the test-split checks: shuffled, with a test split, item 0 only.
    static let heldOutSpec =
        #"{"split": {"train": 120, "validation": 80, "test": 100, "shuffle": true, "seed": 11}, "meta": {"iterations": 1}}"#

    @Test("test numbers are measured on the rows after validation, after the shuffle, and nothing else")
    func testSplitUsesTheRightRows() throws {
        let digits = BuiltinDatasets.digits
        let spec = smallSpec(Self.heldOutSpec)
        let run = try TuningRun(spec: spec, dataset: digits)
        let item = try run.step(run.initialCheckpoint()).item
        let testLoss = try #require(item.testLoss)

        // Rebuild the test rows independently and measure the same final weights on them.
        let order = DatasetPartition.permutation(count: digits.rows, seed: 11)
        let testIndices = Array(order[200..<300])
        let testRows = LabelledRows(
            inputs: testIndices.flatMap { digits.inputs[($0 * 64)..<(($0 + 1) * 64)] },
            labels: testIndices.map { digits.labels[$0] }, features: 64)
        let draws = run.seeds(for: 0)
        let problem = TrainingProblem(
            model: run.model, training: run.training,
            batches: BatchPlan(rows: 120, batchSize: 20, order: .random(seed: draws.batches)),
            objective: .validation(run.validation))
        let weights = try ReversibleTrainer(problem: problem).train(
            schedule: run.space.schedule(run.initialCheckpoint().unconstrained),
            noise: TuningRun.gaussianNoise(count: run.architecture.parameterCount, seed: draws.weights))
        let expected = run.measure(weights: weights, on: testRows)
        #expect(testLoss == expected.loss)
        #expect(item.testError == expected.error)

        // Scrambling the test rows changes only the test numbers; the tuning never saw them.
        var scrambled = digits
        for index in testIndices {
            for j in 0..<64 { scrambled.inputs[index * 64 + j] = 1 - scrambled.inputs[index * 64 + j] }
        }
        let other = try TuningRun(spec: spec, dataset: scrambled)
        let otherItem = try other.step(other.initialCheckpoint()).item
        #expect(otherItem.trainingLoss == item.trainingLoss)
        #expect(otherItem.validationLoss == item.validationLoss)
        #expect(otherItem.hypergradient == item.hypergradient)
        #expect(otherItem.testLoss != item.testLoss)
        // Without a test split there are no test numbers.
        #expect(try runToCompletion(TuningRun(spec: smallSpec(), dataset: digits)).allSatisfy { $0.testLoss == nil })
    }

    @Test("standardisation uses statistics of the training rows only and records them in the spec")
    func standardizesWithTrainingStatistics() throws {
        let spec = smallSpec(
            #"{"split": {"test": 100, "shuffle": true}, "preprocess": {"standardize": true}, "meta": {"iterations": 1}}"#
        )
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let mean = try #require(run.spec.preprocess.mean)
        let std = try #require(run.spec.preprocess.std)
        #expect(mean.count == 64 && std.count == 64)
        // The training columns are centred and (where not constant) of unit spread.
        let rows = run.training
        for j in [10, 20, 35] {
            let column = (0..<rows.rows).map { rows.inputs[$0 * 64 + j] }
            let m = column.reduce(0, +) / Double(rows.rows)
            let s = (column.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(rows.rows)).squareRoot()
            #expect(abs(m) < 1e-12)
            #expect(std[j] == 1 || abs(s - 1) < 1e-12)
        }
        // Changing a validation row changes no statistic.
        var changed = BuiltinDatasets.digits
        let validationRow = DatasetPartition.permutation(count: 1797, seed: 0)[150]
        for j in 0..<64 { changed.inputs[validationRow * 64 + j] = 16 }
        let other = try TuningRun(spec: spec, dataset: changed)
        #expect(other.spec.preprocess == run.spec.preprocess)

        // The recorded spec runs again to the same history (statistics given, not recomputed).
        let recorded = try JobSpec.parse(JSONValue.parse(run.spec.json().serialized())).get()
        #expect(recorded.preprocess == run.spec.preprocess)
        #expect(try runToCompletion(TuningRun(spec: recorded, dataset: BuiltinDatasets.digits)) == runToCompletion(run))
    }

    @Test("divergence errors say what usually causes them")
    func divergenceHint() {
        let error = TuningError.diverged(
            metaIteration: 0, detail: "at training iteration 3: gradient of W1 is not finite")
        #expect(error.message.contains("standardize"))
        #expect(error.message.contains("learning_rate"))
    }
}
