import JSON
import Testing

@testable import Tuning

@Suite("Job spec validation against a dataset")
struct JobSpecValidationTests {
    let digits = DatasetInfo(rows: 1797, features: 64, classes: 10)

    @Test func acceptsTheDefaultSpecOnDigits() throws {
        let spec = try parseSpec(#"{"dataset": {"name": "digits"}}"#).get()
        #expect(spec.validate(dataset: digits) == [])
        #expect(spec.architecture(for: digits).parameterCount == 64 * 50 + 50 + 50 * 50 + 50 + 50 * 10 + 10)
    }

    @Test func checksTheSplitAndBatchSizeAgainstTheRows() throws {
        let spec = try parseSpec(#"{"dataset": {"name": "digits"}, "split": {"train": 50, "validation": 1748}}"#).get()
        #expect(
            spec.validate(dataset: digits) == [
                SpecError(
                    field: "/split", message: "train + validation (50 + 1748) must be at most the dataset's 1797 rows")
            ])
        // The default batch size is min(100, training rows); one given explicitly must fit.
        #expect(spec.resolved(for: digits).training.batchSize == 50)
        let explicit = try parseSpec(
            #"{"dataset": {"name": "digits"}, "split": {"train": 50}, "training": {"batch_size": 100}}"#
        ).get()
        #expect(
            explicit.validate(dataset: digits) == [
                SpecError(field: "/training/batch_size", message: "must be at most split.train (50)")
            ])
    }

    @Test func limitsParametersAndTotalWork() throws {
        var spec = try parseSpec(
            #"{"dataset": {"name": "digits"}, "model": {"hidden": [4096, 4096]}, "meta": {"iterations": 100}}"#
        ).get()
        var fields = spec.validate(dataset: digits).map(\.field)
        #expect(fields == ["/model/hidden", "/training/iterations"])

        spec = try parseSpec(
            #"{"dataset": {"name": "digits"}, "training": {"iterations": 100000, "batch_size": 1000}, "meta": {"iterations": 100}}"#
        ).get()
        let errors = spec.validate(dataset: digits)
        fields = errors.map(\.field)
        #expect(fields == ["/training/iterations"])
        #expect(errors.first?.message.contains("at most 1e13") == true)
    }

    @Test func checksPerWeightL2AgainstTheArchitecture() throws {
        let tiny = DatasetInfo(rows: 10, features: 3, classes: 2)
        let base =
            #""dataset": {"id": "t"}, "split": {"train": 5, "validation": 5}, "training": {"batch_size": 5}, "model": {"hidden": [2]}"#
        let good = try parseSpec(
            "{\(base), \"hyperparameters\": {\"l2\": {\"per\": \"weight\", \"init\": [1,1,1,1,1,1,1,1,1,1]}}}"
        ).get()
        #expect(good.validate(dataset: tiny) == [])
        let bad = try parseSpec("{\(base), \"hyperparameters\": {\"l2\": {\"per\": \"weight\", \"init\": [1,1,1]}}}")
            .get()
        #expect(
            bad.validate(dataset: tiny) == [
                SpecError(
                    field: "/hyperparameters/l2/init",
                    message: "must have 10 values (one per weight, biases excluded, in block order), not 3")
            ])
    }

    @Test func limitsLearnedTrainingData() throws {
        let wide = DatasetInfo(rows: 5000, features: 1001, classes: 2)
        let spec = try parseSpec(
            #"{"dataset": {"id": "w"}, "model": {"hidden": []}, "hyperparameters": {"training_data": {"learn": true}}}"#
        ).get()
        #expect(spec.validate(dataset: wide).map(\.field) == ["/hyperparameters/training_data/learn"])
        #expect(spec.validate(dataset: DatasetInfo(rows: 5000, features: 1000, classes: 2)) == [])
    }
}
