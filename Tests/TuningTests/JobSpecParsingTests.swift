import Foundation
import JSON
import Testing

@testable import Learning
@testable import Tuning

/// Parses a spec document from JSON text, failing the test on unparseable JSON.
func parseSpec(_ text: String) throws -> Result<JobSpec, SpecErrors> {
    JobSpec.parse(try JSONValue.parse(text))
}

/// The errors of a spec that must be invalid.
func specErrors(_ text: String) throws -> [SpecError] {
    switch try parseSpec(text) {
    case .success: Issue.record("spec unexpectedly valid: \(text)"); return []
    case .failure(let errors): return errors.errors
    }
}

@Suite("Job spec parsing")
struct JobSpecParsingTests {
    @Test func fillsInEveryDocumentedDefault() throws {
        // Split defaults depend on the data set's size: resolved against the digits, the contract's.
        let spec = try parseSpec(#"{"dataset": {"name": "digits"}}"#).get().resolved(for: BuiltinDatasets.digits.info)
        let expected = try JSONValue.parse(
            """
            { "name": "digits schedules", "dataset": { "name": "digits" },
              "split": { "train": 1000, "validation": 797, "test": 0, "shuffle": false, "seed": 0 },
              "preprocess": { "standardize": false, "mean": null, "std": null },
              "model": { "hidden": [50, 50], "activation": "tanh" },
              "training": { "iterations": 100, "batch_size": 100, "seed": 0, "batches": "random" },
              "hyperparameters": {
                "learning_rate": { "init": 0.5,  "schedule": "per_iteration", "per_block": true, "learn": true },
                "momentum":      { "init": 0.9,  "schedule": "per_iteration", "per_block": true, "learn": true },
                "l2":            { "init": 1e-4, "per": "block", "learn": true },
                "init_scale":    { "init": 0.1,  "per": "block", "learn": true },
                "training_data": { "learn": false } },
              "meta": { "iterations": 50, "optimizer": "adam", "step_size": 0.04,
                        "objective": "validation_loss", "reseed": true, "seeds": 1,
                        "guard": { "enabled": true, "tolerance": 0.25, "gradient_jump": 100, "shrink": 0.5 },
                        "patience": null } }
            """)
        // Same members in the same order: serialisations are byte-identical.
        #expect(spec.json().serializedString() == expected.serializedString())
        #expect(spec == JobSpec(dataset: .builtin("digits")))
    }

    @Test func readsEveryFieldAndRoundTripsThroughJSON() throws {
        let text = """
            { "name": "mine", "dataset": {"id": "ds_42"}, "split": {"train": 500, "validation": 100},
              "model": {"hidden": [], "activation": "relu"},
              "training": {"iterations": 10, "batch_size": 50, "seed": 9007199254740992, "batches": "cyclic"},
              "hyperparameters": {
                "learning_rate": {"init": [[0.1], [0.2]], "schedule": {"segments": 2}, "per_block": false, "learn": false},
                "momentum": {"init": 0.5, "schedule": "constant", "per_block": true},
                "l2": {"init": 1e-12, "per": "weight", "learn": false},
                "init_scale": {"init": [0.5], "per": "global"},
                "training_data": {"learn": true} },
              "meta": {"iterations": 0, "optimizer": "sgd", "step_size": 100, "objective": "training_loss", "reseed": false} }
            """
        let spec = try parseSpec(text).get()
        #expect(spec.name == "mine")
        #expect(spec.dataset == .uploaded(id: "ds_42"))
        #expect(spec.model == JobSpec.Model(hidden: [], activation: .relu))
        #expect(spec.training == JobSpec.Training(iterations: 10, batchSize: 50, seed: 1 << 53, batches: .cyclic))
        #expect(
            spec.hyperparameters.learningRate
                == JobSpec.ScheduleGroup(
                    initial: .table([[0.1], [0.2]]), schedule: .segments(2), perBlock: false, learn: false))
        #expect(spec.hyperparameters.momentum.schedule == .constant)
        #expect(spec.hyperparameters.l2 == JobSpec.L2Group(initial: .uniform(1e-12), per: .weight, learn: false))
        #expect(
            spec.hyperparameters.initScale == JobSpec.InitScaleGroup(initial: .values([0.5]), per: .global, learn: true)
        )
        #expect(spec.hyperparameters.trainingData.learn)
        #expect(
            spec.meta
                == JobSpec.Meta(iterations: 0, optimizer: .sgd, stepSize: 100, objective: .trainingLoss, reseed: false))
        #expect(try JobSpec.parse(spec.json()).get() == spec)
        #expect(try JobSpec.parse(JSONValue.parse(spec.json().serialized())).get() == spec)
    }

    @Test func codableGoesThroughTheNormalisedDocument() throws {
        let spec = try parseSpec(#"{"dataset": {"name": "digits"}, "model": {"hidden": [7]}}"#).get()
        let data = try JSONEncoder().encode(spec)
        #expect(try JSONDecoder().decode(JobSpec.self, from: data) == spec)
        let invalid = Data(#"{"dataset": {"name": "nope"}}"#.utf8)
        #expect(throws: DecodingError.self) { _ = try JSONDecoder().decode(JobSpec.self, from: invalid) }
    }

    @Test func collectsEveryProblemWithItsPointer() throws {
        let errors = try specErrors(
            """
            { "split": {"train": 0, "validation": "x"},
              "model": {"hidden": [50, 0, 5000, 2.5], "activation": "gelu"},
              "training": {"iterations": 100001, "batch_size": 1e9, "seed": -1, "batches": "shuffled", "epochs": 3},
              "meta": {"iterations": 10001, "optimizer": "rmsprop", "step_size": 0, "objective": "accuracy", "reseed": 1},
              "extra": true }
            """)
        let byField = Dictionary(errors.map { ($0.field, $0.message) }, uniquingKeysWith: { $0 + " | " + $1 })
        #expect(byField["/dataset"]?.contains("is required") == true)
        #expect(
            byField["/split/train"]
                == "must be a whole number of rows between 1 and 1000000, or a fraction of the data set's rows strictly between 0 and 1"
        )
        #expect(
            byField["/split/validation"]
                == "must be a number of rows or a fraction of the data set's rows, not a string")
        #expect(byField["/model/hidden/1"] == "must be between 1 and 4096")
        #expect(byField["/model/hidden/2"] == "must be between 1 and 4096")
        #expect(byField["/model/hidden/3"] == "must be an integer")
        #expect(byField["/model/activation"] == #"must be one of "tanh", "relu", "sigmoid""#)
        #expect(byField["/training/iterations"] == "must be between 1 and 100000")
        #expect(byField["/training/batch_size"] == "must be between 1 and 100000")
        #expect(byField["/training/seed"] == "must be between 0 and 9007199254740992")
        #expect(byField["/training/batches"] == #"must be one of "random", "cyclic""#)
        #expect(byField["/training/epochs"]?.hasPrefix("unknown field") == true)
        #expect(byField["/meta/iterations"] == "must be between 0 and 10000")
        #expect(byField["/meta/optimizer"] == #"must be one of "adam", "sgd""#)
        #expect(byField["/meta/step_size"] == "must be greater than 0 and at most 100")
        #expect(byField["/meta/objective"] == #"must be one of "validation_loss", "training_loss""#)
        #expect(byField["/meta/reseed"] == "must be true or false, not a number")
        #expect(byField["/extra"]?.hasPrefix("unknown field") == true)
        #expect(errors.count == 18)
    }

    @Test func checksHyperparameterRangesAndExplainsZeroL2() throws {
        let errors = try specErrors(
            """
            { "dataset": {"name": "digits"}, "hyperparameters": {
                "learning_rate": {"init": 1001}, "momentum": {"init": 1}, "l2": {"init": 0},
                "init_scale": {"init": -0.1, "per": "layer"}, "training_data": {"learn": "yes"} } }
            """)
        let byField = Dictionary(errors.map { ($0.field, $0.message) }, uniquingKeysWith: { $0 + " | " + $1 })
        #expect(byField["/hyperparameters/learning_rate/init"] == "must be greater than 0 and at most 1000")
        #expect(byField["/hyperparameters/momentum/init"] == "must be strictly between 0 and 1")
        #expect(byField["/hyperparameters/l2/init"]?.contains("use 1e-12 to switch L2 off") == true)
        #expect(byField["/hyperparameters/l2/init"]?.hasPrefix("must be greater than 0 and at most 1000000") == true)
        #expect(byField["/hyperparameters/init_scale/per"] == #"must be one of "global", "block""#)
        #expect(byField["/hyperparameters/training_data/learn"] == "must be true or false, not a string")
        #expect(byField["/hyperparameters/init_scale/init"] == "must be greater than 0 and at most 100")
    }

    @Test func checksScheduleShapesAgainstIterationsAndBlocks() throws {
        let base = #""dataset": {"name": "digits"}, "training": {"iterations": 4}, "model": {"hidden": [3]}"#
        // Two layers: four blocks. A per-iteration per-block table is (4, 4).
        let good = "[" + Array(repeating: "[0.1, 0.1, 0.1, 0.1]", count: 4).joined(separator: ",") + "]"
        #expect(throws: Never.self) {
            try parseSpec("{\(base), \"hyperparameters\": {\"learning_rate\": {\"init\": \(good)}}}").get()
        }

        var errors = try specErrors(
            "{\(base), \"hyperparameters\": {\"learning_rate\": {\"init\": [[0.1, 0.1, 0.1, 0.1]]}}}")
        #expect(
            errors == [
                SpecError(
                    field: "/hyperparameters/learning_rate/init",
                    message: "must have 4 rows (one per segment of the schedule), not 1")
            ])

        errors = try specErrors(
            "{\(base), \"hyperparameters\": {\"momentum\": {\"init\": [[0.5, 0.5]], \"schedule\": \"constant\"}}}")
        #expect(
            errors == [
                SpecError(
                    field: "/hyperparameters/momentum/init/0",
                    message: "must have 4 values (one per parameter block), not 2")
            ])

        errors = try specErrors(
            "{\(base), \"hyperparameters\": {\"momentum\": {\"init\": [[0.5], [1.5]], \"schedule\": {\"segments\": 2}, \"per_block\": false}}}"
        )
        #expect(
            errors == [
                SpecError(field: "/hyperparameters/momentum/init/1/0", message: "must be strictly between 0 and 1")
            ])

        errors = try specErrors(
            "{\(base), \"hyperparameters\": {\"learning_rate\": {\"schedule\": {\"segments\": 5}}}}")
        #expect(
            errors == [
                SpecError(
                    field: "/hyperparameters/learning_rate/schedule/segments",
                    message: "must be between 1 and training.iterations (4)")
            ])

        errors = try specErrors("{\(base), \"hyperparameters\": {\"learning_rate\": {\"schedule\": \"daily\"}}}")
        #expect(errors.map(\.field) == ["/hyperparameters/learning_rate/schedule"])

        errors = try specErrors(
            "{\(base), \"hyperparameters\": {\"l2\": {\"init\": [1e-4, 1e-4, 1e-4]}, \"init_scale\": {\"init\": [1, 1]}}}"
        )
        #expect(
            errors == [
                SpecError(
                    field: "/hyperparameters/l2/init", message: "must have 2 values (one per weight block), not 3"),
                SpecError(
                    field: "/hyperparameters/init_scale/init",
                    message: "must have 4 values (one per parameter block, biases included), not 2"),
            ])
    }

    @Test func refusesScheduleTablesOverAMillionValues() throws {
        let errors = try specErrors(
            #"{"dataset": {"name": "digits"}, "training": {"iterations": 100000}, "model": {"hidden": [5, 5, 5, 5, 5, 5, 5, 5]}}"#
        )
        #expect(
            errors.map(\.field) == ["/hyperparameters/learning_rate/schedule", "/hyperparameters/momentum/schedule"])
        #expect(errors.first?.message.contains("1800000 values (100000 segments × 18 blocks)") == true)
    }

    @Test func summarisesLongRunsOfBadValues() throws {
        let values = Array(repeating: "-1", count: 12).joined(separator: ",")
        let errors = try specErrors(
            "{\"dataset\": {\"name\": \"digits\"}, \"hyperparameters\": {\"l2\": {\"per\": \"weight\", \"init\": [\(values)]}}}"
        )
        #expect(errors.count == 6)
        #expect(errors.last?.field == "/hyperparameters/l2/init")
        #expect(errors.last?.message.hasPrefix("7 more values are invalid") == true)
    }

    @Test func requiresExactlyOneDatasetKeyAndAKnownBuiltin() throws {
        #expect(try specErrors(#"{"dataset": {"name": "digits", "id": "x"}}"#).map(\.field) == ["/dataset"])
        #expect(try specErrors(#"{"dataset": {}}"#).map(\.field) == ["/dataset"])
        #expect(
            try specErrors(#"{"dataset": {"name": "fashion-mnist"}}"#) == [
                SpecError(field: "/dataset/name", message: #"must be one of "digits", "mnist""#)
            ])
        #expect(try specErrors(#"{"dataset": {"id": ""}}"#).map(\.field) == ["/dataset/id"])
        #expect(
            try specErrors(#"{"dataset": "digits"}"#) == [
                SpecError(field: "/dataset", message: "must be an object, not a string")
            ])
        #expect(try specErrors("[]") == [SpecError(field: "", message: "must be an object, not an array")])
    }

    @Test func limitsTheNameAndEscapesPointers() throws {
        let long = String(repeating: "é", count: 201)
        #expect(
            try specErrors("{\"dataset\": {\"name\": \"digits\"}, \"name\": \"\(long)\"}") == [
                SpecError(field: "/name", message: "must be between 1 and 200 characters long")
            ])
        #expect(throws: Never.self) {
            try parseSpec("{\"dataset\": {\"name\": \"digits\"}, \"name\": \"\(String(long.dropFirst()))\"}").get()
        }
        let errors = try specErrors(#"{"dataset": {"name": "digits"}, "model": {"a/b~c": 1}}"#)
        #expect(errors.map(\.field) == ["/model/a~1b~0c"])
    }

    @Test func refusesNullWhereAValueIsExpected() throws {
        let errors = try specErrors(#"{"dataset": {"name": "digits"}, "training": {"seed": null}, "meta": null}"#)
        #expect(
            errors == [
                SpecError(field: "/training/seed", message: "must be an integer, not null"),
                SpecError(field: "/meta", message: "must be an object, not null"),
            ])
    }
}
