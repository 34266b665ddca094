import Foundation
import JSON
import Learning
import RewindTestSupport
import Testing

@testable import Tuning

/// The small conv net of issue 19 on digits as 8×8×1 images: conv 3×3×4 → tanh → avgpool 2 →
/// dense 10. `extra` adds members to the spec's top level.
func convSpec(_ hyperparameters: String = "{}", iterations: Int = 20, meta: Int = 3) -> JobSpec {
    let text = """
        { "dataset": { "name": "digits" }, "split": { "train": 120, "validation": 80 },
          "model": { "layers": [
            { "type": "conv2d", "filters": 4, "kernel": 3, "stride": 1, "padding": "same" },
            { "type": "tanh" }, { "type": "avgpool", "size": 2 } ] },
          "training": { "iterations": \(iterations), "batch_size": 20, "seed": 3 },
          "hyperparameters": \(hyperparameters),
          "meta": { "iterations": \(meta), "step_size": 0.05 } }
        """
    switch JobSpec.parse(try! JSONValue.parse(text)) {
    case .success(let spec): return spec
    case .failure(let errors): fatalError("test spec invalid: \(errors)")
    }
}

/// The errors `JobSpec.parse` reports for a spec whose model is `model`.
func modelErrors(_ model: String) -> [SpecError] {
    let text = #"{ "dataset": { "name": "digits" }, "model": "# + model + "}"
    switch JobSpec.parse(try! JSONValue.parse(text)) {
    case .success: return []
    case .failure(let errors): return errors.errors
    }
}

@Suite("Specs with model.layers")
struct LayeredSpecTests {
    @Test("model.layers parses, names its blocks after the layers and round-trips through the normalised spec")
    func parseAndRoundTrip() throws {
        let spec = convSpec()
        #expect(
            spec.model.layers == [
                .conv2d(filters: 4, kernel: 3, stride: 1, padding: .same), .activation(.tanh), .avgpool(size: 2),
            ])
        #expect(spec.model.blockCount == 4)
        guard case .success(let again) = JobSpec.parse(spec.json()) else {
            Issue.record("the normalised spec does not parse"); return
        }
        #expect(again == spec)
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        #expect(
            run.architecture.blocks.map(\.name) == [
                "conv2d_1.weights", "conv2d_1.biases", "dense_1.weights", "dense_1.biases",
            ])
        #expect(run.architecture.parameterCount == 3 * 3 * 4 + 4 + 4 * 4 * 4 * 10 + 10)
        // Defaults: stride 1 and padding "same".
        let short = modelErrors(
            #"{"layers": [{"type": "conv2d", "filters": 2, "kernel": 3}, {"type": "relu"}, {"type": "maxpool", "size": 2}, {"type": "flatten"}, {"type": "dense", "units": 5}, {"type": "sigmoid"}]}"#
        )
        #expect(short.isEmpty)
    }

    @Test("bad layers are 422s naming /model/layers/N")
    func badLayers() throws {
        #expect(
            modelErrors(#"{"layers": [{"type": "conv2d", "filters": 2}]}"#).map(\.field) == ["/model/layers/0/kernel"])
        #expect(
            modelErrors(#"{"layers": [{"type": "tanh"}, {"type": "pool"}]}"#).map(\.field) == ["/model/layers/1/type"])
        #expect(modelErrors(#"{"layers": [{"units": 3}]}"#).map(\.field) == ["/model/layers/0/type"])
        #expect(
            modelErrors(#"{"layers": [{"type": "dense", "units": 3, "size": 2}]}"#).map(\.field) == [
                "/model/layers/0/size"
            ])
        #expect(
            modelErrors(#"{"layers": [{"type": "conv2d", "filters": 2, "kernel": 3, "padding": "full"}]}"#).map(\.field)
                == ["/model/layers/0/padding"])
        #expect(modelErrors(#"{"layers": [], "hidden": [5]}"#).map(\.field) == ["/model/layers"])
        #expect(modelErrors(#"{"layers": 3}"#).map(\.field) == ["/model/layers"])

        // Against the data: a conv layer on a table, a pool after a dense layer, a kernel too large.
        let digits = BuiltinDatasets.digits
        let table = Dataset(name: "table", features: 64, classes: 10, inputs: digits.inputs, labels: digits.labels)
        #expect(throws: SpecErrors.self) { try TuningRun(spec: convSpec(), dataset: table) }
        #expect(convSpec().validate(dataset: table.info).map(\.field) == ["/model/layers/0"])
        var spec = convSpec()
        spec.model.layers = [.dense(units: 5), .maxpool(size: 2)]
        #expect(spec.validate(dataset: digits.info, image: digits.shape).map(\.field) == ["/model/layers/1"])
        spec.model.layers = [.conv2d(filters: 2, kernel: 9, stride: 1, padding: .valid)]
        #expect(spec.validate(dataset: digits.info, image: digits.shape).map(\.field) == ["/model/layers/0"])
        // Through the submission path: a 422 naming the layer.
        struct TableResolver: DatasetResolver {
            let table: Dataset
            func dataset(_ reference: DatasetReference) -> Dataset? { table }
        }
        guard
            case .failure(let problem) = JobRequest.prepare(
                specJSON: convSpec().json(), datasets: TableResolver(table: table))
        else {
            Issue.record("a conv layer on a table was accepted"); return
        }
        #expect(problem.code == "invalid-spec")
        #expect(problem.errors.map(\.field) == ["/model/layers/0"])
    }

    @Test("a conv job runs per-block schedules, per-weight L2 and learned inputs, and resumes bit for bit")
    func runAndResume() throws {
        let spec = convSpec(
            #"""
            { "learning_rate": { "init": 0.3, "schedule": "per_iteration", "per_block": true },
              "momentum": { "init": 0.8, "schedule": "per_iteration", "per_block": true },
              "l2": { "init": 1e-4, "per": "weight", "learn": true },
              "init_scale": { "init": 0.3, "per": "block", "learn": true },
              "training_data": { "learn": true } }
            """#)
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let uninterrupted = try runToCompletion(run)
        #expect(uninterrupted.count == 4)
        #expect(uninterrupted[0].hyperparameters.learningRate[0].count == 4)
        #expect(uninterrupted.allSatisfy { $0.validationLoss.isFinite })
        var state = run.initialCheckpoint()
        var items: [HistoryItem] = []
        let (item, next) = try run.step(state)
        items.append(item)
        state = next
        let restored = try JSONDecoder().decode(TuningCheckpoint.self, from: try JSONEncoder().encode(state))
        items += try runToCompletion(try TuningRun(spec: spec, dataset: BuiltinDatasets.digits), from: restored)
        #expect(items == uninterrupted)
    }

    @Test("the schedule export of a conv job names its blocks after the layers and is the schedule it trained with")
    func scheduleExport() throws {
        let spec = convSpec(#"{ "learning_rate": { "schedule": { "segments": 4 } } }"#, iterations: 8, meta: 2)
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let state = try run.step(run.initialCheckpoint()).next
        let (item, _) = try run.step(state)
        let stored = try JSONValue.parse(item.json().serializedString())
        let values = try #require(stored["hyperparameters"].flatMap(HyperparameterValues.init(json:)))
        let table = try #require(LearnedSchedule(run: run, values: values))
        #expect(table.schedule == run.space.schedule(state.unconstrained))
        #expect(
            table.blocks.map(\.name) == ["conv2d_1.weights", "conv2d_1.biases", "dense_1.weights", "dense_1.biases"])
        #expect(table.csv().split(separator: "\n").count == 1 + 8 * 4)
        #expect(table.csv().contains("conv2d_1.weights"))
    }

    @Test("memory admission counts the conv layers' workspace and names model.layers")
    func memory() throws {
        var spec = convSpec()
        spec.model.layers = [
            .conv2d(filters: 256, kernel: 5, stride: 1, padding: .same), .activation(.relu),
            .conv2d(filters: 256, kernel: 5, stride: 1, padding: .same), .activation(.relu),
        ]
        let run = try TuningRun(spec: spec, dataset: BuiltinDatasets.digits)
        let estimate = run.initialMemoryEstimate
        // The workspace a batch of 20 and an evaluation chunk really allocate.
        let rows = spec.training.batchSize + run.architecture.evaluationChunk(rows: 120)
        #expect(estimate.workspaceBytes >= 8 * rows * run.architecture.workspaceValuesPerRow)
        let problem = try #require(run.memoryProblem(budget: estimate.totalBytes - 1))
        #expect(problem.code == "over-memory-budget")
        #expect(problem.errors.contains { $0.field == "/model/layers" })
    }
}

/// Whole training runs of the conv net on digits against central differences, through the
/// trainer directly (TuningRun maps these to the spec's groups).
@Suite("Conv net on digits: hypergradients against finite differences of whole runs")
struct ConvDigitsHypergradientTests {
    static let tolerance = 1e-4

    let architecture: NetworkArchitecture
    let training: LabelledRows
    let validation: LabelledRows
    let noise: [Double]
    let schedule: TrainingSchedule

    init() {
        let digits = BuiltinDatasets.digits
        architecture = try! NetworkArchitecture(
            inputs: 64, image: digits.shape,
            layers: [.conv2d(filters: 4, kernel: 3, stride: 1, padding: .same), .activation(.tanh), .avgpool(size: 2)],
            classes: 10)
        training = LabelledRows(
            inputs: Array(digits.inputs[0..<(60 * 64)]), labels: Array(digits.labels[0..<60]), features: 64)
        validation = LabelledRows(
            inputs: Array(digits.inputs[(60 * 64)..<(100 * 64)]), labels: Array(digits.labels[60..<100]), features: 64)
        var random = SplitMix64(seed: 19)
        noise = (0..<architecture.parameterCount).map { _ in random.nextGaussian() }
        schedule = .random(
            iterations: 25, blocks: architecture.blocks, learningRates: (0.2, 0.3), momenta: (0.6, 0.3),
            l2: (1e-3, 1e-3), initScales: (0.2, 0.3), using: &random)
    }

    func problem(inputs: [Double]? = nil) -> TrainingProblem {
        var rows = training
        if let inputs { rows.inputs = inputs }
        return TrainingProblem(
            model: Network(architecture: architecture), training: rows,
            batches: BatchPlan(rows: rows.rows, batchSize: 10, order: .random(seed: 5)),
            objective: .validation(validation))
    }

    func objective(_ schedule: TrainingSchedule, inputs: [Double]? = nil) -> Double {
        let weights = try! ReversibleTrainer(problem: problem(inputs: inputs)).train(schedule: schedule, noise: noise)
        let workspace = NetworkWorkspace(architecture: architecture, batchCapacity: validation.rows)
        return weights.withUnsafeBufferPointer { w in
            validation.inputs.withUnsafeBufferPointer { x in
                validation.labels.withUnsafeBufferPointer { y in
                    Network(architecture: architecture).evaluate(
                        parameters: w, inputs: x, labels: y, rows: validation.rows, workspace: workspace
                    ).loss
                }
            }
        }
    }

    @Test("per-block learning-rate and momentum schedules, L2 per block and per weight, init scales, training images")
    func everyHyperparameter() throws {
        let run = try ReversibleTrainer(problem: problem()).hypergradient(
            schedule: schedule, noise: noise, differentiateInputs: true)
        try WholeRunChecks(
            schedule: schedule, hypergradient: run.hypergradient, blocks: architecture.blocks,
            tolerance: Self.tolerance, objective: { objective($0) },
            inputs: (training.inputs, { objective(schedule, inputs: $0) })
        ).expectEveryGroup(perBlockL2: true)
    }
}
