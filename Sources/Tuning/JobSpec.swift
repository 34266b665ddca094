import JSON
import Learning

/// A tuning job as a client submits it (`docs/api.md`, "Job spec"), with every default filled in.
///
/// Build one with `JobSpec.parse(_:)`, which checks everything that does not need the dataset and
/// collects every problem; then `validate(dataset:)` checks the rest once the dataset is known.
/// `json()` gives the normalised document back in the documented field order, and `Codable` goes
/// through that same document so storage and the API never disagree about the wire form.
public struct JobSpec: Sendable, Equatable {
    public var name: String
    public var dataset: DatasetReference
    public var split: Split
    public var model: Model
    public var training: Training
    public var hyperparameters: Hyperparameters
    public var meta: Meta
    public var preprocess: Preprocess
    /// Settings the spec left out whose defaults depend on the data set (`resolved(for:)` fills them
    /// in): empty once resolved.
    public var automatic: Set<Automatic> = []

    /// A spec with the documented defaults for everything but the dataset.
    public init(
        dataset: DatasetReference, name: String? = nil, split: Split = Split(), model: Model = Model(),
        training: Training = Training(), hyperparameters: Hyperparameters = Hyperparameters(),
        meta: Meta = Meta(), preprocess: Preprocess = Preprocess()
    ) {
        self.name = name ?? Self.defaultName(for: dataset)
        self.dataset = dataset
        self.split = split
        self.model = model
        self.training = training
        self.hyperparameters = hyperparameters
        self.meta = meta
        self.preprocess = preprocess
    }

    /// "digits schedules" for the built-in digits; the id for an upload; the file name for a CSV.
    static func defaultName(for dataset: DatasetReference) -> String {
        switch dataset {
        case .builtin(let name): "\(name) schedules"
        case .uploaded(let id): "\(id) schedules"
        case .file(let path): "\(path.split(separator: "/").last.map(String.init) ?? path) schedules"
        }
    }
}

extension JobSpec {
    /// A setting left out of a spec whose default depends on the data set.
    public enum Automatic: String, Sendable, Equatable, Hashable, CaseIterable {
        /// `split.shuffle`: on for a user's own data (uploaded, or a local file), off for built-ins.
        case shuffle
        /// `preprocess.standardize`: on for a user's own data, off for built-ins.
        case standardize
        /// `training.batch_size`: min(100, training rows).
        case batchSize
    }

    /// The default `learning_rate` init with the optimizer "adam".
    public static let adamLearningRate = 0.001

    /// The default batch size: 100, or every training row when there are fewer.
    public static let defaultBatchSize = 100
}

/// Which data a job trains on: a built-in data set by name, an uploaded one by id, or (for
/// `rewind run` only) a local CSV file.
public enum DatasetReference: Sendable, Equatable, Hashable {
    case builtin(String)
    case uploaded(id: String)
    case file(path: String)

    /// Whether this is the user's own data (uploaded, or a local file) rather than a built-in,
    /// whose defaults are fixed so that its jobs and examples keep their histories.
    public var isOwnData: Bool {
        if case .builtin = self { return false }
        return true
    }
}

extension JobSpec {
    /// How the data set's rows are divided: `train` rows for training, the next `validation` for the
    /// meta-objective, the next `test` held out (never used for tuning), after an optional seeded
    /// shuffle of all rows.
    ///
    /// Parts the spec gave as a fraction of the rows, or left out, are listed in `unresolved` until
    /// `resolved(rows:)` turns them into row counts (see `JobSpec+Split.swift`).
    public struct Split: Sendable, Equatable {
        public var train: Int
        public var validation: Int
        public var test: Int
        public var shuffle: Bool
        public var seed: UInt64
        public var unresolved: [Part: Size]
        public init(
            train: Int = 1000, validation: Int = 797, test: Int = 0, shuffle: Bool = false, seed: UInt64 = 0,
            unresolved: [Part: Size] = [:]
        ) {
            self.train = train
            self.validation = validation
            self.test = test
            self.shuffle = shuffle
            self.seed = seed
            self.unresolved = unresolved
        }

        /// The three parts, in row order.
        public enum Part: String, Sendable, Equatable, Hashable, CaseIterable {
            case train, validation, test
        }

        /// A part's size that depends on the data set.
        public enum Size: Sendable, Equatable {
            /// A fraction of the rows, strictly between 0 and 1 (floored to whole rows).
            case fraction(Double)
            /// Not given: a default from the data set's size.
            case automatic
        }
    }

    /// Transformations of the features before training.
    public struct Preprocess: Sendable, Equatable {
        /// Centre and scale every feature by its mean and standard deviation over the training rows.
        public var standardize: Bool
        /// The statistics used, one per feature: given in the spec, or computed from the training
        /// rows when the job is prepared (and then recorded in the job's spec).
        public var mean: [Double]?
        public var std: [Double]?
        public init(standardize: Bool = false, mean: [Double]? = nil, std: [Double]? = nil) {
            self.standardize = standardize
            self.mean = mean
            self.std = std
        }
    }

    /// The network: either the dense shorthand (hidden layer widths, empty for multinomial logistic
    /// regression, and one activation) or `layers`, a list of layers; the output dense layer to
    /// the classes is appended either way.
    public struct Model: Sendable, Equatable {
        public var hidden: [Int]
        public var activation: Activation
        /// The network's body as layers; nil for the dense shorthand.
        public var layers: [Layer]?
        public init(hidden: [Int] = [50, 50], activation: Activation = .tanh, layers: [Layer]? = nil) {
            self.hidden = hidden
            self.activation = activation
            self.layers = layers
        }

        /// Number of layers with weights (with the softmax layer).
        public var layerCount: Int { (layers.map { $0.filter(\.hasParameters).count } ?? hidden.count) + 1 }
        /// Parameter blocks: a weight and a bias block per layer.
        public var blockCount: Int { 2 * layerCount }
    }

    /// The inner training run.
    public struct Training: Sendable, Equatable {
        public var iterations: Int
        public var batchSize: Int
        public var seed: UInt64
        public var batches: BatchOrder
        /// The inner optimiser: SGD with momentum (the default) or Adam.
        public var optimizer: Optimizer
        public init(
            iterations: Int = 100, batchSize: Int = 100, seed: UInt64 = 0, batches: BatchOrder = .random,
            optimizer: Optimizer = .sgd
        ) {
            self.iterations = iterations
            self.batchSize = batchSize
            self.seed = seed
            self.batches = batches
            self.optimizer = optimizer
        }
    }

    /// The inner training's optimiser.
    public enum Optimizer: String, Sendable, Equatable, CaseIterable {
        /// SGD with momentum: the groups `learning_rate` and `momentum`.
        case sgd
        /// Adam with bias correction: `learning_rate`, `beta1`, `beta2`, `epsilon`, `weight_decay`.
        case adam
    }

    /// How minibatches are drawn.
    public enum BatchOrder: String, Sendable, Equatable, CaseIterable {
        case random, cyclic
    }

    /// The hyperparameter groups, each with its initial value, granularity and whether it is learned.
    public struct Hyperparameters: Sendable, Equatable {
        public var learningRate: ScheduleGroup
        public var momentum: ScheduleGroup
        public var l2: L2Group
        public var initScale: InitScaleGroup
        public var trainingData: TrainingDataGroup
        /// Adam's groups; used only with `training.optimizer` "adam".
        public var beta1: ScheduleGroup
        public var beta2: ScheduleGroup
        public var epsilon: EpsilonGroup
        public var weightDecay: WeightDecayGroup
        public init(
            learningRate: ScheduleGroup = ScheduleGroup(initial: .uniform(0.5)),
            momentum: ScheduleGroup = ScheduleGroup(initial: .uniform(0.9)),
            l2: L2Group = L2Group(), initScale: InitScaleGroup = InitScaleGroup(),
            trainingData: TrainingDataGroup = TrainingDataGroup(),
            beta1: ScheduleGroup = ScheduleGroup(initial: .uniform(0.9)),
            beta2: ScheduleGroup = ScheduleGroup(initial: .uniform(0.999)),
            epsilon: EpsilonGroup = EpsilonGroup(), weightDecay: WeightDecayGroup = WeightDecayGroup()
        ) {
            self.learningRate = learningRate
            self.momentum = momentum
            self.l2 = l2
            self.initScale = initScale
            self.trainingData = trainingData
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }
    }

    /// Adam's ε in √v̂ + ε: one value, learned in log space.
    public struct EpsilonGroup: Sendable, Equatable {
        public var initial: Double
        public var learn: Bool
        public init(initial: Double = 1e-8, learn: Bool = true) {
            self.initial = initial
            self.learn = learn
        }
    }

    /// Adam's decoupled weight decay (AdamW) on the weight blocks, learned in log space; an `init`
    /// of 0 switches it off (and nothing is learned).
    public struct WeightDecayGroup: Sendable, Equatable {
        public var initial: VectorInitial
        public var per: L2Granularity
        public var learn: Bool
        public init(initial: VectorInitial = .uniform(0), per: L2Granularity = .global, learn: Bool = true) {
            self.initial = initial
            self.per = per
            self.learn = learn
        }

        /// False when the group is switched off (`init` 0).
        public var isOn: Bool { initial != .uniform(0) }
    }

    /// How a schedule divides the iterations.
    public enum Schedule: Sendable, Equatable {
        case constant
        case perIteration
        /// K equal runs of iterations; iteration t belongs to segment ⌊t·K/T⌋.
        case segments(Int)

        /// Number of distinct values over time for `iterations` training iterations.
        public func segmentCount(iterations: Int) -> Int {
            switch self {
            case .constant: 1
            case .perIteration: iterations
            case .segments(let count): count
            }
        }
    }

    /// A schedule group's initial value: one number everywhere, or the full (segments, blocks) table.
    public enum ScheduleInitial: Sendable, Equatable {
        case uniform(Double)
        case table([[Double]])
    }

    /// A vector group's initial value: one number everywhere, or one value per entry.
    public enum VectorInitial: Sendable, Equatable {
        case uniform(Double)
        case values([Double])
    }

    /// Step sizes or momenta over time and parameter blocks.
    public struct ScheduleGroup: Sendable, Equatable {
        public var initial: ScheduleInitial
        public var schedule: Schedule
        public var perBlock: Bool
        public var learn: Bool
        public init(
            initial: ScheduleInitial, schedule: Schedule = .perIteration, perBlock: Bool = true, learn: Bool = true
        ) {
            self.initial = initial
            self.schedule = schedule
            self.perBlock = perBlock
            self.learn = learn
        }
    }

    /// L2 granularity: one λ, one per weight block, or one per weight.
    public enum L2Granularity: String, Sendable, Equatable, CaseIterable {
        case global, block, weight
    }

    /// L2 penalty strengths on the weight blocks (biases are never penalised).
    public struct L2Group: Sendable, Equatable {
        public var initial: VectorInitial
        public var per: L2Granularity
        public var learn: Bool
        public init(initial: VectorInitial = .uniform(1e-4), per: L2Granularity = .block, learn: Bool = true) {
            self.initial = initial
            self.per = per
            self.learn = learn
        }
    }

    /// Initial-scale granularity: one scale, or one per block (biases included).
    public enum InitScaleGranularity: String, Sendable, Equatable, CaseIterable {
        case global, block
    }

    /// Scales of the initial weights, `w_1 = s ⊙ ε`.
    public struct InitScaleGroup: Sendable, Equatable {
        public var initial: VectorInitial
        public var per: InitScaleGranularity
        public var learn: Bool
        public init(initial: VectorInitial = .uniform(0.1), per: InitScaleGranularity = .block, learn: Bool = true) {
            self.initial = initial
            self.per = per
            self.learn = learn
        }
    }

    /// Whether the training inputs themselves are learned (dataset distillation).
    public struct TrainingDataGroup: Sendable, Equatable {
        public var learn: Bool
        public init(learn: Bool = false) {
            self.learn = learn
        }
    }

    /// The outer loop.
    public struct Meta: Sendable, Equatable {
        public var iterations: Int
        public var optimizer: MetaOptimizer.Kind
        public var stepSize: Double
        public var objective: Objective
        public var reseed: Bool
        /// Independent training runs per meta-iteration (run s uses `training.seed + s`), whose
        /// objective and hypergradient are averaged.
        public var seeds: Int
        public var stepGuard: Guard
        /// End the job when the objective has not improved for this many items; nil never.
        public var patience: Int?
        public init(
            iterations: Int = 50, optimizer: MetaOptimizer.Kind = .adam, stepSize: Double = 0.04,
            objective: Objective = .validationLoss, reseed: Bool = true, seeds: Int = 1,
            stepGuard: Guard = Guard(), patience: Int? = nil
        ) {
            self.iterations = iterations
            self.optimizer = optimizer
            self.stepSize = stepSize
            self.objective = objective
            self.reseed = reseed
            self.seeds = seeds
            self.stepGuard = stepGuard
            self.patience = patience
        }
    }

    /// When a meta-step is rejected (see `MetaGuard`).
    public struct Guard: Sendable, Equatable {
        public var enabled: Bool
        /// Reject an item whose objective exceeds the last accepted one's by more than this fraction
        /// (and replace a last item worse than the best by more than it).
        public var tolerance: Double
        /// Reject an item whose hypergradient norm exceeds the last accepted one's by this factor.
        public var gradientJump: Double
        /// Factor applied to the meta step size at every rejection.
        public var shrink: Double
        public init(enabled: Bool = true, tolerance: Double = 0.25, gradientJump: Double = 100, shrink: Double = 0.5) {
            self.enabled = enabled
            self.tolerance = tolerance
            self.gradientJump = gradientJump
            self.shrink = shrink
        }
    }

    /// What the meta-optimiser minimises.
    public enum Objective: String, Sendable, Equatable, CaseIterable {
        case validationLoss = "validation_loss"
        case trainingLoss = "training_loss"
    }
}
