import API
import ArgumentParser
import Foundation
import JSON
import Learning
import LinearAlgebra
import RewindBench
import Tuning

/// `rewind export`: one training problem exactly as Rewind runs it, with Rewind's hypergradient,
/// for an independent implementation (bench/jax_reference.py) to recompute and compare.
///
/// Everything the other side needs to replay the same dynamics is written out rather than
/// re-derived: the batch indices of every step, the initial weights after the fixed-point
/// conversion, and the momenta as the dynamics apply them (n/2^32), next to the requested ones.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a problem, its exact schedule and Rewind's hypergradient as JSON (for the JAX comparison).",
        discussion: """
            logistic: multinomial logistic regression on digits 1000/797, full batch, init scale 1e-20 \
            (w_1 = 0 exactly in fixed point). mlp: the canonical benchmark problem (64-50-50-10 tanh, \
            batch 100, the noise and batches of `rewind bench`). mnist: the paper's size, 784-50-50-50-10 \
            tanh on the built-in mnist's first 10,000 rows, validated on the next 10,000, batch 200 drawn \
            with replacement, init scale 0.1. All use non-constant per-iteration, per-block step sizes \
            and momenta so that every step's hypergradient is really compared. \
            conv, conv-small: conv nets on digits as 8×8×1 images (every layer type, both paddings, \
            strides 1 and 2); lenet: the LeNet-like net on synthetic 28×28×1 images (10,000 training, \
            10,000 validation), batch 100. Every problem also times plain SGD training for comparison.
            With --spec instead: a job spec's training problem for one history item (--item, default \
            0) — the split's rows, the blocks, the minibatch rows of every step and the noise of the \
            initial weights — to replay a learned schedule elsewhere (docs/using-learned-schedules.md).
            """)

    enum Problem: String, ExpressibleByArgument, CaseIterable {
        case logistic, mlp, mnist, conv
        case convSmall = "conv-small"
        case lenet

        /// A network given as layers (`LayeredComparison`).
        var isLayered: Bool { self == .conv || self == .convSmall || self == .lenet }
    }

    @Option(name: .long, help: "Which problem: logistic, mlp, mnist, conv, conv-small or lenet.")
    var problem: Problem?

    @Option(name: .long, help: "Number of inner training iterations T.")
    var iterations: Int?

    @Option(
        name: .long,
        help:
            "A job spec whose training problem to export instead: a built-in data set, a local CSV file, or an upload (with --url)."
    )
    var spec: String?

    @Option(
        help:
            "With --spec naming an uploaded data set (by name or id): the service that holds it, whose rows are read (REWIND_URL)."
    )
    var url: String?

    /// `--url`, else `REWIND_URL`: the service to read uploads from, if any.
    private var serviceURL: String? { url ?? Environment.string("REWIND_URL") }

    @Option(
        name: .customLong("api-key"), help: "With --url: bearer key when the service requires one (REWIND_API_KEY).")
    var apiKey: String = Environment.string("REWIND_API_KEY") ?? ""

    @Option(name: .long, help: "With --spec: the history item (0-based) whose batches and noise to export.")
    var item = 0

    @Option(name: .long, help: "Timed hypergradient runs; the median is reported.")
    var repeats = 5

    @Option(name: .long, help: "Threads sharing each training step, 1 or 2 (the hypergradient is identical).")
    var threads = 1

    @Option(name: .long, help: "Where to write the JSON ('-' for standard output).")
    var output = "-"

    func validate() throws {
        if let serviceURL { _ = try ServiceOptions.parse(["--url", serviceURL]) }
        guard spec == nil else { return }
        guard problem != nil, let iterations else {
            throw ValidationError("give --problem and --iterations, or --spec")
        }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard threads == 1 || threads == 2 else { throw ValidationError("--threads must be 1 or 2") }
    }

    func run() throws {
        BLAS.setThreadCount(1)
        let document: JSONValue
        if let spec {
            guard let specData = FileManager.default.contents(atPath: spec) else {
                Console.error("rewind: cannot read \(spec)")
                throw ExitCode(3)
            }
            let directory = URL(fileURLWithPath: spec).deletingLastPathComponent().path
            let local = LocalDatasetResolver(baseDirectory: directory)
            let datasets: any DatasetResolver =
                if let url = serviceURL {
                    ServiceDatasetResolver(
                        local: local, service: try ServiceOptions.parse(["--url", url, "--api-key", apiKey]))
                } else {
                    local
                }
            switch ReplayExport.prepare(specBytes: [UInt8](specData), item: item, datasets: datasets) {
            case .success(let replay): document = replay.document()
            case .failure(let error):
                let problem = ProblemDetails(error)
                ServiceOptions.printProblem(problem.json(), status: problem.status)
                throw ExitCode(2)
            }
        } else if let problem, let iterations {
            let setup = ComparisonProblem(problem, iterations: iterations, threads: threads)
            document = setup.document(try setup.measure(repeats: repeats))
        } else {
            throw ValidationError("give --problem and --iterations, or --spec")
        }
        let bytes = document.serialized() + [UInt8(ascii: "\n")]
        if output == "-" {
            FileHandle.standardOutput.write(Data(bytes))
        } else {
            try Data(bytes).write(to: URL(fileURLWithPath: output))
        }
    }
}

/// One of the two comparison problems: its data split, model, batches, noise and schedule.
struct ComparisonProblem {
    /// Rewind's run of it, timed.
    struct Measurement {
        var run: HypergradientRun
        var seconds: [Double]
        /// User + system CPU time of each run, all threads (robust to other load on the machine).
        var cpuSeconds: [Double]
        /// The calling thread's share of `cpuSeconds`; the rest is the trainer's helper thread.
        var mainThreadCPUSeconds: [Double]
        /// VmHWM after the runs, having been reset to the current RSS just before them.
        var peakBytes: Int
        /// RSS just before the runs (the process with its data, before any training).
        var baselineBytes: Int
        /// Layered problems: plain SGD training (`trainPlain`) and one validation evaluation, timed
        /// right after each hypergradient run (so that both see the same load on the machine).
        var trainingSeconds: [Double] = []
        var trainingCPUSeconds: [Double] = []
        /// Plain training of the same T steps (no buffer, no reverse pass), timed after the runs.
        var plainSeconds: [Double] = []
        var plainCPUSeconds: [Double] = []
    }

    static let trainRows = 1000
    static let validationRows = 797
    /// Training rows of the mnist problem, and as many validation rows after them.
    static let mnistRows = 10_000

    let kind: ExportCommand.Problem
    let architecture: MLPArchitecture
    let trainer: ReversibleTrainer
    let noise: [Double]
    let schedule: TrainingSchedule

    init(_ kind: ExportCommand.Problem, iterations: Int, threads: Int = 1) {
        self.kind = kind
        switch kind {
        case .mlp:
            // The canonical problem of `rewind bench`: same split, model, batches and noise.
            let benchmark = CoreBenchmark(threads: threads)
            architecture = benchmark.architecture
            trainer = benchmark.trainer
            noise = benchmark.noise
        case .conv, .convSmall, .lenet:
            (architecture, trainer, noise) = LayeredComparison.setup(kind, threads: threads)
        case .logistic:
            let digits = BuiltinDatasets.digits
            architecture = MLPArchitecture(
                inputs: digits.features, hidden: [], classes: digits.classes, activation: .tanh)
            trainer = ReversibleTrainer(
                problem: TrainingProblem(
                    model: MLP(architecture: architecture), training: digits.labelledRows(0..<Self.trainRows),
                    batches: BatchPlan(rows: Self.trainRows, batchSize: Self.trainRows, order: .cyclic),
                    objective: .validation(digits.labelledRows(Self.trainRows..<(Self.trainRows + Self.validationRows)))
                ),
                threads: threads)
            noise = TuningRun.gaussianNoise(count: architecture.parameterCount, seed: 0)
        case .mnist:
            guard let mnist = BuiltinDatasets.mnist else { preconditionFailure("the built-in mnist file is missing") }
            architecture = MLPArchitecture(
                inputs: mnist.features, hidden: [50, 50, 50], classes: mnist.classes, activation: .tanh)
            trainer = ReversibleTrainer(
                problem: TrainingProblem(
                    model: MLP(architecture: architecture), training: mnist.labelledRows(0..<Self.mnistRows),
                    batches: BatchPlan(rows: Self.mnistRows, batchSize: 200, order: .random(seed: 0)),
                    objective: .validation(mnist.labelledRows(Self.mnistRows..<(2 * Self.mnistRows)))),
                threads: threads)
            noise = TuningRun.gaussianNoise(count: architecture.parameterCount, seed: 0)
        }
        schedule = Self.schedule(kind, iterations: iterations, blocks: architecture.blocks)
    }

    /// Smooth but non-constant schedules: each (t, k) gets its own α and γ, and each weight its
    /// own λ, so a mismatch in any single step or parameter shows up in the comparison.
    static func schedule(_ kind: ExportCommand.Problem, iterations: Int, blocks: [ParameterBlock]) -> TrainingSchedule {
        let baseRate = kind == .logistic ? 0.3 : kind.isLayered ? 0.1 : kind == .mnist ? 0.2 : 0.5
        let baseL2 = kind == .logistic ? 1e-3 : 1e-4
        let rates = (0..<iterations).map { t in
            blocks.indices.map { k in baseRate + 0.2 * sin(Double(t) + 1.3 * Double(k)) }
        }
        let momenta = (0..<iterations).map { t in
            blocks.indices.map { k in 0.9 + 0.05 * cos(0.5 * Double(t) + Double(k)) }
        }
        let l2 = blocks.flatMap { block in
            block.range.map { i in block.kind == .weight ? baseL2 * (1 + 0.5 * sin(Double(i))) : 0 }
        }
        // 1e-20 is far below the fixed-point resolution 2^-52: the logistic run starts at w_1 = 0.
        let scale = kind == .logistic ? 1e-20 : 0.1
        return TrainingSchedule(
            iterations: iterations, learningRates: rates, momenta: momenta, l2: l2,
            initScales: Array(repeating: scale, count: blocks.count))
    }

    /// w_1 as the trainer holds it: s_k·ε_i truncated to the fixed-point grid, read back as Doubles.
    var initialWeights: [Double] {
        architecture.blocks.enumerated().flatMap { k, block in
            block.range.map { i in FixedPoint.value(FixedPoint.raw(schedule.initScales[k] * noise[i])!) }
        }
    }

    /// γ[t][k] as the dynamics apply it: the nearest n/2^32.
    var appliedMomenta: [[Double]] {
        schedule.momenta.map { row in row.map { RationalFactor(approximating: $0)!.value } }
    }

    func measure(repeats: Int) throws -> Measurement {
        let clock = ContinuousClock()
        PeakMemory.reset()
        let baseline = PeakMemory.current()
        var seconds: [Double] = [], cpuSeconds: [Double] = [], mainThreadCPUSeconds: [Double] = []
        var last: HypergradientRun?
        var training: [(seconds: Double, cpuSeconds: Double)] = []
        var peak = baseline
        for _ in 0..<repeats {
            let start = clock.now, cpuStart = processCPUSeconds(), mainStart = threadCPUSeconds()
            last = try trainer.hypergradient(schedule: schedule, noise: noise)
            seconds.append((clock.now - start).seconds)
            cpuSeconds.append(processCPUSeconds() - cpuStart)
            mainThreadCPUSeconds.append(threadCPUSeconds() - mainStart)
            peak = max(peak, PeakMemory.current())
            // Right after each hypergradient run, not once after all of them: a ratio of two
            // timings taken minutes apart on a shared machine measures the machine's load as much
            // as the code.
            if kind.isLayered {
                training.append(timePlainTrainingAndValidation())
                PeakMemory.reset()  // the peak is the hypergradient's
            }
        }
        var measurement = Measurement(
            run: last!, seconds: seconds, cpuSeconds: cpuSeconds, mainThreadCPUSeconds: mainThreadCPUSeconds,
            peakBytes: peak, baselineBytes: baseline, trainingSeconds: training.map(\.seconds),
            trainingCPUSeconds: training.map(\.cpuSeconds))
        // The dense problems time plain training of the same T steps (no buffer, no reverse pass) as
        // often as the hypergradient, after it; the layered ones timed it above.
        for _ in 0..<(kind.isLayered ? 0 : repeats) {
            let start = clock.now, cpuStart = processCPUSeconds()
            _ = trainer.trainPlain(schedule: schedule, noise: noise)
            measurement.plainSeconds.append((clock.now - start).seconds)
            measurement.plainCPUSeconds.append(processCPUSeconds() - cpuStart)
        }
        return measurement
    }

    /// Plain SGD training of the layered problems (`trainPlain`) and one evaluation of the
    /// validation loss at its weights: what one trial of a search without gradients costs.
    private func timePlainTrainingAndValidation() -> (seconds: Double, cpuSeconds: Double) {
        let clock = ContinuousClock()
        let start = clock.now, cpuStart = processCPUSeconds()
        let weights = trainer.trainPlain(schedule: schedule, noise: noise)
        guard case .validation(let validation) = trainer.problem.objective else {
            preconditionFailure("the layered comparison problems have a validation objective")
        }
        let model = trainer.problem.model
        let workspace = NetworkWorkspace(
            architecture: architecture, batchCapacity: architecture.evaluationChunk(rows: validation.rows))
        _ = weights.withUnsafeBufferPointer { w in
            validation.inputs.withUnsafeBufferPointer { x in
                validation.labels.withUnsafeBufferPointer { y in
                    model.evaluate(
                        parameters: w, inputs: x, labels: y, rows: validation.rows, workspace: workspace,
                        team: WorkerTeam(threads: trainer.threads))
                }
            }
        }
        return ((clock.now - start).seconds, processCPUSeconds() - cpuStart)
    }

    func document(_ measurement: Measurement) -> JSONValue {
        let problem = trainer.problem
        var top = JSONObject()
        top["format"] = "rewind-export/1"
        top["problem"] = .string(kind.rawValue)
        top["dataset"] = .object(datasetSection())
        if architecture.isDenseShorthand {
            top["architecture"] = ExportSections.architecture(architecture)
        } else {
            let image = architecture.imageShape!
            top["architecture"] = [
                "layers": LayeredComparison.json(architecture.layers),
                "image": Self.numbers([Double(image.height), Double(image.width), Double(image.channels)]),
                "classes": .number(Double(architecture.classCount)),
            ]
        }
        top["blocks"] = ExportSections.blocks(architecture)
        top["iterations"] = .number(Double(schedule.iterations))
        top["batch_size"] = .number(Double(problem.batches.batchSize))
        top["batches"] = ExportSections.batches(problem.batches, iterations: schedule.iterations)
        top["objective"] = "mean cross-entropy on the validation rows at w_{T+1}"
        top["schedule"] = [
            "learning_rates": Self.matrix(schedule.learningRates),
            "momenta_requested": Self.matrix(schedule.momenta),
            "momenta_applied": Self.matrix(appliedMomenta),
            "l2": Self.numbers(schedule.l2),
            "init_scales": Self.numbers(schedule.initScales),
        ]
        top["noise"] = Self.numbers(noise)
        top["initial_weights"] = Self.numbers(initialWeights)

        let run = measurement.run
        let gradient = run.hypergradient
        var rewind = JSONObject()
        rewind["objective"] = .number(run.objective)
        rewind["final_weights"] = Self.numbers(run.finalWeights)
        rewind["hypergradient"] = [
            "learning_rates": Self.matrix(gradient.learningRates),
            "momenta": Self.matrix(gradient.momenta),
            "l2": Self.numbers(gradient.l2),
            "init_scales": Self.numbers(gradient.initScales),
            "initial_weights": Self.numbers(gradient.initialWeights),
        ]
        rewind["seconds"] = Self.numbers(measurement.seconds)
        rewind["seconds_median"] = .number(measurement.seconds.median)
        rewind["cpu_seconds"] = Self.numbers(measurement.cpuSeconds)
        rewind["main_thread_cpu_seconds"] = Self.numbers(measurement.mainThreadCPUSeconds)
        rewind["plain_seconds"] = Self.numbers(measurement.plainSeconds)
        rewind["plain_cpu_seconds"] = Self.numbers(measurement.plainCPUSeconds)
        rewind["peak_rss_bytes"] = .number(Double(measurement.peakBytes))
        rewind["baseline_rss_bytes"] = .number(Double(measurement.baselineBytes))
        if !measurement.trainingSeconds.isEmpty {
            // Medians of the runs, each timed right after a hypergradient run; the runs themselves too.
            rewind["training_seconds"] = .number(measurement.trainingSeconds.median)
            rewind["training_cpu_seconds"] = .number(measurement.trainingCPUSeconds.median)
            rewind["training_runs_seconds"] = Self.numbers(measurement.trainingSeconds)
            rewind["training_runs_cpu_seconds"] = Self.numbers(measurement.trainingCPUSeconds)
        }
        rewind["buffer_peak_bits"] = .number(Double(run.bufferPeakBits))
        rewind["blas_threads"] = 1
        rewind["threads"] = .number(Double(trainer.threads))
        rewind["numeric_fingerprint"] = .string(NumericFingerprint.current)
        top["rewind"] = .object(rewind)
        return .object(top)
    }

    private static func numbers(_ values: [Double]) -> JSONValue { ExportSections.numbers(values) }

    /// Where the rows come from (the built-in digits or mnist, or the synthetic images' formula),
    /// their ranges and the sums that let the reader check it parsed the same numbers.
    private func datasetSection() -> JSONObject {
        switch kind {
        case .lenet:
            ExportSections.dataset(
                trainer.problem, source: ["name": "synthetic", "formula": .string(LayeredComparison.syntheticFormula)])
        case .mnist:
            ExportSections.dataset(
                trainer.problem,
                source: ["name": "mnist", "file": "data/mnist.bin.gz", "pixel_scale": .number(1.0 / 256)])
        case .logistic, .mlp, .conv, .convSmall:
            ExportSections.digits(trainer.problem)
        }
    }

    private static func matrix(_ rows: [[Double]]) -> JSONValue { ExportSections.matrix(rows) }
}

/// The calling thread's CPU time so far (user + system), in seconds: with `processCPUSeconds` it
/// splits a two-thread run's CPU between the caller and the trainer's helper.
private func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}
