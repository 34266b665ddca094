import Learning

/// The settings of a weight-sharing run on the Omniglot tasks (the paper's Figures 8–9): learn the
/// transforms T_l by plain gradient descent on their exact hypergradient.
public struct WeightSharingSettings: Sendable, Equatable {
    /// The job's name.
    public var name = WeightSharingSettings.defaultName
    /// Alphabets used (the first `alphabets` of `OmniglotTasks.alphabets`), 1...5.
    public var alphabets = 5
    /// Whether each alphabet is also a task rotated by 90°.
    public var rotations = true
    /// Hidden layer widths of every task's network (tanh).
    public var hidden = [400, 200]
    /// The layers (0-based) whose T_l are learned; the others keep their initial value. Nil: all.
    public var learned: [Int]? = nil
    /// Inner training iterations T (full batch).
    public var iterations = 50
    /// Inner step size α and momentum γ, every block and step.
    public var learningRate = 1.0
    public var momentum = 0.9
    /// Initial scale of the z's and biases (w_1 = s·ε).
    public var initScale = 0.1353352832366127  // e^−2
    /// L2 strength on the z's (not the biases).
    public var l2 = 0.01831563888873418  // e^−4
    /// Meta-iterations of plain gradient descent on the T_l, and its step.
    public var metaIterations = 20
    public var metaStep = 0.2
    /// Validation drawings per character (of 12), re-drawn every meta-iteration.
    public var validationDrawings = 2
    /// Seed of the splits and the initial noise (meta-iteration m uses seed + m).
    public var seed: UInt64 = 0

    public init() {}

    /// The name of a job that gives none.
    public static let defaultName = "omniglot weight sharing"

    /// Number of tasks.
    public var tasks: Int { rotations ? 2 * alphabets : alphabets }

    /// Number of layers with weights, each with its T_l.
    public var layers: Int { hidden.count + 1 }

    /// Whether T_l of layer `l` (0-based) is learned.
    public func learns(layer l: Int) -> Bool { learned?.contains(l) ?? true }

    /// T_l at the start: 0.5·I + 0.05·11ᵀ.
    public var initialTransforms: [[Double]] {
        let n = tasks
        return (0..<(hidden.count + 1)).map { _ in
            (0..<(n * n)).map { i in (i / n == i % n ? 0.5 : 0) + 0.05 }
        }
    }
}

/// What a weight-sharing run found.
public struct WeightSharingResult: Sendable, Equatable {
    /// Task names, in the order of the rows and columns of every T_l.
    public var tasks: [String]
    /// The learned T_l, task-major, one per layer.  // (L, tasks²)
    public var transforms: [[Double]]
    /// Per meta-iteration: the meta-objective (Σ over tasks of the mean validation cross-entropy)
    /// and the final full-batch training loss.
    public var objectives: [Double]
    public var trainingLosses: [Double]
    /// Per task, test error rate (3 drawings per character) of a network trained with the initial
    /// and with the learned transforms.
    public var initialTestErrors: [Double]
    public var learnedTestErrors: [Double]
}

/// Runs the meta-loop: every meta-iteration a fresh split of the 12 drawings per character, a
/// reversible training run of all tasks at once, ∂f/∂T_l exactly, and T_l −= step·∂f/∂T_l.
public struct WeightSharingRun: Sendable {
    public let settings: WeightSharingSettings

    public init(settings: WeightSharingSettings) {
        self.settings = settings
    }

    var network: NetworkArchitecture {
        MLPArchitecture(
            inputs: OmniglotTasks.features, hidden: settings.hidden, classes: OmniglotTasks.classes, activation: .tanh)
    }

    /// One inner problem: the model with `transforms` on the split of `seed`.
    func problem(transforms: [[Double]], seed: UInt64) -> SharedWeightProblem {
        let split = OmniglotTasks.split(
            alphabets: settings.alphabets, rotations: settings.rotations, validation: settings.validationDrawings,
            seed: seed)
        return SharedWeightProblem(
            model: SharedWeightModel(network: network, tasks: settings.tasks, transforms: transforms),
            training: split.training, validation: split.validation)
    }

    /// The inner schedule (constant α, γ; L2 on the z's) and the initial noise of `seed`.
    func schedule(for model: SharedWeightModel, seed: UInt64) -> (TrainingSchedule, [Double]) {
        let blocks = model.blocks.count, t = settings.iterations
        let schedule = TrainingSchedule(
            iterations: t,
            learningRates: Array(repeating: Array(repeating: settings.learningRate, count: blocks), count: t),
            momenta: Array(repeating: Array(repeating: settings.momentum, count: blocks), count: t),
            l2: model.blocks.flatMap { Array(repeating: $0.kind == .weight ? settings.l2 : 0, count: $0.range.count) },
            initScales: Array(repeating: settings.initScale, count: blocks))
        var random = SplitMix64(seed: seed ^ 0x5EED_0F_5A4E)
        return (schedule, (0..<model.parameterCount).map { _ in random.nextGaussian() })
    }

    /// The seed of meta-iteration (or history item) `m`: its split and its initial noise.
    func seed(item m: Int) -> UInt64 { settings.seed &+ UInt64(m) }

    /// Meta-iteration `m` at `transforms`: a fresh split, training forward and exactly back, ∂f/∂T_l.
    func metaGradient(
        transforms: [[Double]], item m: Int, observe: (TrainingPhase) -> Bool = { _ in true }
    ) throws(TrainingError) -> (problem: SharedWeightProblem, run: SharedWeightRun) {
        let problem = problem(transforms: transforms, seed: seed(item: m))
        let (schedule, noise) = schedule(for: problem.model, seed: seed(item: m))
        let run = try SharedWeightTrainer(problem: problem).hypergradient(
            schedule: schedule, noise: noise, observe: observe)
        return (problem, run)
    }

    /// One step of plain gradient descent on the learned T_l: T_l −= step · ∂f/∂T_l.
    func descend(_ transforms: [[Double]], gradient: [[Double]]) -> [[Double]] {
        var moved = transforms
        for l in moved.indices where settings.learns(layer: l) {
            for i in moved[l].indices { moved[l][i] -= settings.metaStep * gradient[l][i] }
        }
        return moved
    }

    /// The task names, in the order of the rows and columns of every T_l.
    public var taskNames: [String] {
        (0..<settings.tasks).map { OmniglotTasks.taskName($0, alphabets: settings.alphabets) }
    }

    /// Runs every meta-iteration; `progress(m, objective)` after each (return false to stop early).
    public func run(progress: (Int, Double) -> Bool = { _, _ in true }) throws(TrainingError) -> WeightSharingResult {
        var transforms = settings.initialTransforms
        var objectives: [Double] = [], losses: [Double] = []
        for m in 0..<settings.metaIterations {
            let (_, run) = try metaGradient(transforms: transforms, item: m)
            objectives.append(run.objective)
            losses.append(run.trainingLosses.last ?? .nan)
            transforms = descend(transforms, gradient: run.transforms)
            guard progress(m, run.objective) else { break }
        }
        return WeightSharingResult(
            tasks: taskNames, transforms: transforms, objectives: objectives, trainingLosses: losses,
            initialTestErrors: try testErrors(transforms: settings.initialTransforms),
            learnedTestErrors: try testErrors(transforms: transforms))
    }

    /// Trains on all 12 drawings per character with `transforms` and returns each task's test error.
    public func testErrors(transforms: [[Double]]) throws(TrainingError) -> [Double] {
        try testEvaluation(transforms: transforms).map(\.error)
    }

    /// Trains on all 12 drawings per character with `transforms` and returns each task's mean
    /// cross-entropy and error rate on its test drawings.
    func testEvaluation(
        transforms: [[Double]], observe: (TrainingPhase) -> Bool = { _ in true }
    ) throws(TrainingError) -> [(loss: Double, error: Double)] {
        let training = OmniglotTasks.rows(alphabets: settings.alphabets, rotations: settings.rotations) { _ in
            Array(0..<OmniglotTasks.trainingDrawings)
        }
        let test = OmniglotTasks.test(alphabets: settings.alphabets, rotations: settings.rotations)
        let model = SharedWeightModel(network: network, tasks: settings.tasks, transforms: transforms)
        let (schedule, noise) = schedule(for: model, seed: settings.seed)
        let problem = SharedWeightProblem(model: model, training: training, validation: test)
        let trained = try SharedWeightTrainer(problem: problem).train(
            schedule: schedule, noise: noise, observe: observe)
        return model.evaluate(parameters: trained.finalParameters, rows: test).enumerated().map {
            ($1.loss, Double($1.errors) / Double(test[$0].rows))
        }
    }
}
